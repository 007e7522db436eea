package org.hopestreams.stream;

import org.hopestreams.model.HostTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;

/**
 * The arithmetic of slow-level consolidation (docs/streaming.md "One model across shards") on host tensors, by
 * parameter name. Element by element in the tensors' own type (float32 in float, float64 in double), in a fixed
 * order: the same inputs give the same bits on every instance, which is what lets every task that adopts the same
 * global versions hold bit-identical slow weights.
 */
final class SlowLevelDeltas {
    private SlowLevelDeltas() {
    }

    /** {@code a - b}, for every tensor of {@code a} ({@code b} must hold the same names and shapes). */
    static Map<String, HostTensor> minus(Map<String, HostTensor> a, Map<String, HostTensor> b) {
        return elementwise(a, List.of(b), (v, round) -> round.applyAsDouble(v[0] - v[1]));
    }

    /** {@code a + b}, for every tensor of {@code a}. */
    static Map<String, HostTensor> plus(Map<String, HostTensor> a, Map<String, HostTensor> b) {
        return elementwise(a, List.of(b), (v, round) -> round.applyAsDouble(v[0] + v[1]));
    }

    /**
     * The rebase of a task onto a new global version: {@code global + (now - atPublish)}, the task's progress since
     * its last publication on top of the global weights. Where the task made no progress ({@code now == atPublish}
     * bit for bit) the element is the global one exactly, so tasks with nothing unsent agree bit for bit.
     */
    static Map<String, HostTensor> rebase(Map<String, HostTensor> global, Map<String, HostTensor> now,
                                          Map<String, HostTensor> atPublish) {
        return elementwise(global, List.of(now, atPublish), (v, round) ->
                Double.doubleToRawLongBits(v[1]) == Double.doubleToRawLongBits(v[2]) ? v[0]
                        : round.applyAsDouble(v[0] + round.applyAsDouble(v[1] - v[2])));
    }

    /** Whether every element of every tensor is zero. */
    static boolean isZero(Map<String, HostTensor> tensors) {
        for (HostTensor t : tensors.values()) {
            for (double v : t.toDoubles()) {
                if (v != 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A tensor of {@code like}'s type and shape from double values (rounded once, to float where float32). */
    static HostTensor fromDoubles(HostTensor like, double[] values) {
        return HostTensor.ofDoubles(like.type(), like.shape(), values);
    }

    private static HostTensor other(Map<String, HostTensor> m, String name, HostTensor like) {
        HostTensor t = m.get(name);
        if (t == null || t.type() != like.type() || !java.util.Arrays.equals(t.shape(), like.shape())) {
            throw new IllegalArgumentException("tensor " + name + ": expected " + like + ", got " + t);
        }
        if (t.type() == HostTensor.Type.UINT8) {
            throw new IllegalArgumentException("tensor " + name + " holds bytes, not numbers");
        }
        return t;
    }

    /**
     * One element of each operand in, one out; {@code round} rounds a result to the tensors' type (a float32 sum or
     * difference computed in double and rounded once equals the float one: double holds more than 2 × 24 + 2 bits).
     */
    private interface Op {
        double apply(double[] values, DoubleUnaryOperator round);
    }

    /** {@code op} over every element of every tensor of {@code first} and the same tensor of each of {@code others}. */
    private static Map<String, HostTensor> elementwise(Map<String, HostTensor> first, List<Map<String, HostTensor>> others,
                                                       Op op) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        first.forEach((name, t) -> {
            List<ByteBuffer> in = new ArrayList<>();
            in.add(buffer(other(Map.of(name, t), name, t)));
            for (Map<String, HostTensor> m : others) {
                in.add(buffer(other(m, name, t)));
            }
            boolean f32 = t.type() == HostTensor.Type.FLOAT32;
            DoubleUnaryOperator round = f32 ? x -> (float) x : x -> x;
            double[] v = new double[in.size()];
            ByteBuffer o = ByteBuffer.allocate(t.bytes().length).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < t.size(); i++) {
                for (int k = 0; k < v.length; k++) {
                    v[k] = f32 ? in.get(k).getFloat(i * 4) : in.get(k).getDouble(i * 8);
                }
                double r = op.apply(v, round);
                if (f32) {
                    o.putFloat(i * 4, (float) r);
                } else {
                    o.putDouble(i * 8, r);
                }
            }
            out.put(name, new HostTensor(t.shape(), t.type(), o.array()));
        });
        return out;
    }

    private static ByteBuffer buffer(HostTensor t) {
        return ByteBuffer.wrap(t.bytes()).order(ByteOrder.LITTLE_ENDIAN);
    }
}

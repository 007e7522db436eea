package org.hopestreams.stream;

import org.hopestreams.model.HostTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

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
        Map<String, HostTensor> out = new LinkedHashMap<>();
        a.forEach((name, t) -> out.put(name, combine(name, t, other(b, name, t), (x, y) -> x - y)));
        return out;
    }

    /** {@code a + b}, for every tensor of {@code a}. */
    static Map<String, HostTensor> plus(Map<String, HostTensor> a, Map<String, HostTensor> b) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        a.forEach((name, t) -> out.put(name, combine(name, t, other(b, name, t), Double::sum)));
        return out;
    }

    /**
     * The rebase of a task onto a new global version: {@code global + (now - atPublish)}, the task's progress since
     * its last publication on top of the global weights. Where the task made no progress ({@code now == atPublish}
     * bit for bit) the element is the global one exactly, so tasks with nothing unsent agree bit for bit.
     */
    static Map<String, HostTensor> rebase(Map<String, HostTensor> global, Map<String, HostTensor> now,
                                          Map<String, HostTensor> atPublish) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        global.forEach((name, g) -> {
            HostTensor n = other(now, name, g);
            HostTensor p = other(atPublish, name, g);
            ByteBuffer gb = buffer(g);
            ByteBuffer nb = buffer(n);
            ByteBuffer pb = buffer(p);
            ByteBuffer o = ByteBuffer.allocate(g.bytes().length).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < g.size(); i++) {
                if (g.type() == HostTensor.Type.FLOAT32) {
                    float nv = nb.getFloat(i * 4);
                    float pv = pb.getFloat(i * 4);
                    o.putFloat(i * 4, Float.floatToRawIntBits(nv) == Float.floatToRawIntBits(pv)
                            ? gb.getFloat(i * 4) : gb.getFloat(i * 4) + (nv - pv));
                } else {
                    double nv = nb.getDouble(i * 8);
                    double pv = pb.getDouble(i * 8);
                    o.putDouble(i * 8, Double.doubleToRawLongBits(nv) == Double.doubleToRawLongBits(pv)
                            ? gb.getDouble(i * 8) : gb.getDouble(i * 8) + (nv - pv));
                }
            }
            out.put(name, new HostTensor(g.shape(), g.type(), o.array()));
        });
        return out;
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

    private interface Op {
        double apply(double x, double y);
    }

    private static HostTensor combine(String name, HostTensor a, HostTensor b, Op op) {
        ByteBuffer ab = buffer(a);
        ByteBuffer bb = buffer(b);
        ByteBuffer o = ByteBuffer.allocate(a.bytes().length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < a.size(); i++) {
            if (a.type() == HostTensor.Type.FLOAT32) {
                float x = ab.getFloat(i * 4);
                float y = bb.getFloat(i * 4);
                o.putFloat(i * 4, (float) op.apply(x, y));   // exact: a float sum or difference rounded once
            } else {
                o.putDouble(i * 8, op.apply(ab.getDouble(i * 8), bb.getDouble(i * 8)));
            }
        }
        return new HostTensor(a.shape(), a.type(), o.array());
    }

    private static ByteBuffer buffer(HostTensor t) {
        return ByteBuffer.wrap(t.bytes()).order(ByteOrder.LITTLE_ENDIAN);
    }
}

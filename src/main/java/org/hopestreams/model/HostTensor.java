package org.hopestreams.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * A tensor held on the Java heap: shape, element type and the raw little-endian bytes.
 *
 * <p>This is the form in which state leaves the tensor engine: fast memories between records,
 * snapshots, store values. It owns no native memory, so it can be kept, compared and serialised
 * freely. Conversion to and from the engine is exact (the bytes are copied, never rounded).
 */
public final class HostTensor {
    /** Element types a host tensor may hold. */
    public enum Type {
        FLOAT32(4, DataType.FLOAT32), FLOAT64(8, DataType.FLOAT64),
        /** Opaque bytes (e.g. an exact-context model's own form); never sent to the engine. */
        UINT8(1, DataType.UINT8);

        final int bytes;
        final DataType djl;

        Type(int bytes, DataType djl) {
            this.bytes = bytes;
            this.djl = djl;
        }

        public int bytes() {
            return bytes;
        }

        public DataType dataType() {
            return djl;
        }

        public static Type of(DataType t) {
            for (Type x : values()) {
                if (x.djl == t) {
                    return x;
                }
            }
            throw new IllegalArgumentException("unsupported tensor type " + t + ", expected float32 or float64");
        }
    }

    private final long[] shape;
    private final Type type;
    private final byte[] data;

    public HostTensor(long[] shape, Type type, byte[] data) {
        long n = elements(shape);
        if (data.length != n * type.bytes) {
            throw new IllegalArgumentException("tensor of shape " + Arrays.toString(shape) + " and type " + type
                    + " needs " + n * type.bytes + " bytes, got " + data.length);
        }
        this.shape = shape.clone();
        this.type = type;
        this.data = data;
    }

    public static HostTensor zeros(Type type, long... shape) {
        return new HostTensor(shape, type, new byte[Math.toIntExact(elements(shape) * type.bytes)]);
    }

    /**
     * A host copy of {@code array}; the array and its manager are left as they were.
     *
     * <p>A CPU array is read straight into a Java array (DJL's PyTorch engine copies its data into a
     * {@code byte[]} and allocates nothing native). An array on another device cannot be read that way:
     * the engine first copies it to the CPU, and it attaches that copy to the array's own manager, which
     * for model parameters lives as long as the learner, so every commit would keep a host copy of the
     * model until the task closes. The copy is made here instead, and closed as soon as it is read.
     */
    public static HostTensor of(NDArray array) {
        if (array.getDevice().equals(Device.cpu())) {
            return read(array);
        }
        try (NDArray host = array.toDevice(Device.cpu(), true)) {
            return read(host);
        }
    }

    /** Host reads of engine arrays so far ({@link #of} and {@link #readAll}): each one a device-to-host transfer. */
    public static final java.util.concurrent.atomic.LongAdder TRANSFERS = new java.util.concurrent.atomic.LongAdder();

    /**
     * Host copies of {@code arrays} in one transfer where they share an element type (the engine concatenates them,
     * flattened, and the bytes are cut on the host): per-array reads cost a device-to-host copy and a wait each,
     * which on a GPU stalls the device, and a batch's fast states are dozens of arrays. Arrays of mixed types are read
     * one by one. The arrays and their managers are left as they were.
     */
    public static List<HostTensor> readAll(List<NDArray> arrays) {
        if (arrays.isEmpty()) {
            return List.of();
        }
        DataType type = arrays.get(0).getDataType();
        boolean same = arrays.stream().allMatch(a -> a.getDataType() == type && a.getDevice().equals(arrays.get(0).getDevice()));
        if (!same || arrays.size() == 1) {
            return arrays.stream().map(HostTensor::of).toList();
        }
        NDManager m = arrays.get(0).getManager();
        byte[] all;
        try (NDManager scope = m.newSubManager()) {
            NDList flat = new NDList();
            for (NDArray a : arrays) {
                NDArray f = a.stopGradient().reshape(-1);
                f.attach(scope);
                flat.add(f);
            }
            NDArray joined = NDArrays.concat(flat);
            joined.attach(scope);
            all = of(joined).data;
        }
        List<HostTensor> out = new java.util.ArrayList<>(arrays.size());
        Type t = Type.of(type);
        int at = 0;
        for (NDArray a : arrays) {
            long[] shape = a.getShape().getShape();
            int n = Math.toIntExact(elements(shape) * t.bytes);
            out.add(new HostTensor(shape, t, Arrays.copyOfRange(all, at, at + n)));
            at += n;
        }
        return out;
    }

    /** Row {@code row} of this tensor along its first dimension, as a tensor of the remaining shape. */
    public HostTensor row(int row) {
        long[] rest = Arrays.copyOfRange(shape, 1, shape.length);
        int n = Math.toIntExact(elements(rest) * type.bytes);
        return new HostTensor(rest, type, Arrays.copyOfRange(data, row * n, (row + 1) * n));
    }

    private static HostTensor read(NDArray cpuArray) {
        TRANSFERS.increment();
        ByteBuffer bb = cpuArray.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        byte[] bytes;
        if (bb.hasArray() && bb.arrayOffset() == 0 && bb.position() == 0 && bb.remaining() == bb.array().length) {
            bytes = bb.array();        // the engine's fresh copy (DJL wraps the byte[] it made): no second copy
        } else {
            bytes = new byte[bb.remaining()];
            bb.get(bytes);
        }
        return new HostTensor(cpuArray.getShape().getShape(), Type.of(cpuArray.getDataType()), bytes);
    }

    /** Bytes as a rank-1 {@link Type#UINT8} tensor (not copied: the caller gives them up). */
    public static HostTensor ofBytes(byte[] bytes) {
        return new HostTensor(new long[] {bytes.length}, Type.UINT8, bytes);
    }

    public static HostTensor ofDoubles(Type type, long[] shape, double[] values) {
        ByteBuffer bb = ByteBuffer.allocate(values.length * type.bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            if (type == Type.FLOAT32) {
                bb.putFloat((float) v);
            } else {
                bb.putDouble(v);
            }
        }
        return new HostTensor(shape, type, bb.array());
    }

    /**
     * A new engine array holding a copy of these values, owned by {@code manager}. The copy lives in
     * the engine's own memory: an array made from a Java buffer points into that buffer, which the
     * garbage collector may free while views of the array are still in use.
     */
    public NDArray toNDArray(NDManager manager) {
        ByteBuffer bb = manager.allocateDirect(data.length);
        bb.put(data);
        bb.rewind();
        try (NDArray borrowed = manager.create(bb, new Shape(shape), type.djl)) {
            return borrowed.duplicate();
        }
    }

    public double[] toDoubles() {
        if (type == Type.UINT8) {
            throw new IllegalStateException("a uint8 tensor holds bytes, not numbers");
        }
        ByteBuffer bb = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[Math.toIntExact(elements(shape))];
        for (int i = 0; i < out.length; i++) {
            out[i] = type == Type.FLOAT32 ? bb.getFloat() : bb.getDouble();
        }
        return out;
    }

    public long[] shape() {
        return shape.clone();
    }

    public Type type() {
        return type;
    }

    /** The raw little-endian bytes; callers must not modify them. */
    public byte[] bytes() {
        return data;
    }

    public long size() {
        return elements(shape);
    }

    public static long elements(long[] shape) {
        long n = 1;
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HostTensor t && t.type == type && Arrays.equals(t.shape, shape)
                && Arrays.equals(t.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "HostTensor" + Arrays.toString(shape) + " " + type;
    }
}

package org.hopestreams.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * One record's pass through a block's Titans memory ({@link TitansMemory#sequence}) at the
 * {@code small} preset's shape (2 heads of 64, chunks of 16, 256 tokens, float32), forward alone
 * and forward with backward; {@code batch} records side by side.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class TitansMemoryBench {
    @Param({"1", "8"})
    int batch;

    private final HopeConfig config = HopeConfig.preset("small");
    private NDManager root;
    private NDArray q;
    private NDArray k;
    private NDArray v;
    private NDArray theta;
    private NDArray alpha;
    private NDArray eta;
    private NDArray m0;
    private NDArray dM;
    private NDArray s;

    @Setup(Level.Trial)
    public void setUp() {
        root = NDManager.newBaseManager(Device.cpu());
        root.getEngine().setRandomSeed(1);
        long h = config.heads();
        long dh = config.dHead();
        Shape tokens = new Shape(batch, h, 256, dh);
        q = root.randomNormal(tokens, DataType.FLOAT32).normalize(2, -1, 1e-6);
        k = root.randomNormal(tokens, DataType.FLOAT32).normalize(2, -1, 1e-6);
        v = root.randomNormal(tokens, DataType.FLOAT32);
        theta = root.randomUniform(0f, 0.5f, new Shape(batch, h, 256), DataType.FLOAT32);
        alpha = root.randomUniform(0.9f, 1f, new Shape(batch, h, 256), DataType.FLOAT32);
        eta = root.randomUniform(0f, 1f, new Shape(batch, h, 256), DataType.FLOAT32);
        m0 = root.randomNormal(new Shape(h, dh, dh), DataType.FLOAT32).mul(0.1);
        dM = root.zeros(new Shape(batch, h, dh, dh), DataType.FLOAT32);
        s = root.zeros(new Shape(batch, h, dh, dh), DataType.FLOAT32);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        root.close();
    }

    @Benchmark
    public float forward() {
        boolean was = Autograd.setRecording(false);
        try (NDManager scope = root.newSubManager()) {
            TitansMemory.Chunk c = TitansMemory.sequence(view(q, scope, false), view(k, scope, false),
                    view(v, scope, false), theta, alpha, eta, m0, dM, s, config.chunk(), config.innerClip());
            return c.out().sum().getFloat();
        } finally {
            Autograd.setRecording(was);
        }
    }

    @Benchmark
    public float forwardBackward() {
        boolean was = Autograd.setRecording(true);
        try (NDManager scope = root.newSubManager()) {
            NDArray qv = view(q, scope, true);
            NDArray kv = view(k, scope, true);
            NDArray vv = view(v, scope, true);
            NDArray m0v = view(m0, scope, true);
            TitansMemory.Chunk c = TitansMemory.sequence(qv, kv, vv, theta, alpha, eta, m0v, dM, s, config.chunk(),
                    config.innerClip());
            NDArray loss = c.out().square().sum();
            Autograd.backward(loss);
            return m0v.getGradient().sum().getFloat();
        } finally {
            Autograd.setRecording(was);
        }
    }

    private static NDArray view(NDArray a, NDManager scope, boolean gradients) {
        NDArray out = Autograd.view(a, scope);
        if (gradients) {
            out.setRequiresGradient(true);
        }
        return out;
    }
}

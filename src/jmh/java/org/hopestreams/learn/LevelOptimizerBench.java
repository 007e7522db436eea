package org.hopestreams.learn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HopeParameters;
import org.hopestreams.model.HostTensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One AdamW step of one level of the {@code small} preset ({@link LevelOptimizer#step}), as every record's HIGH step. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class LevelOptimizerBench {
    @Param({"HIGH", "LOW"})
    String level;

    private final LearnerConfig config = LearnerConfig.defaults();
    private NDManager root;
    private Map<String, NDArray> params;
    private LevelOptimizer optimizer;
    private NDArray grad;

    @Setup
    public void setUp() {
        HopeConfig model = HopeConfig.preset("small");
        org.hopestreams.model.Level l = org.hopestreams.model.Level.valueOf(level);
        root = NDManager.newBaseManager(Device.cpu());
        params = HopeParameters.toEngine(HopeParameters.initialize(model, 1), root);
        List<String> names = HopeParameters.byLevel(model).get(l);
        Map<String, long[]> shapes = HopeParameters.shapes(model);
        long[] sizes = names.stream().mapToLong(n -> HostTensor.elements(shapes.get(n))).toArray();
        long total = java.util.Arrays.stream(sizes).sum();
        optimizer = new LevelOptimizer(l, names, sizes, zeros(model, total), zeros(model, total), zeros(model, total));
        root.getEngine().setRandomSeed(1);
        grad = root.randomNormal(new ai.djl.ndarray.types.Shape(total), params.get(names.get(0)).getDataType())
                .mul(1e-3);
    }

    private NDArray zeros(HopeConfig model, long total) {
        return HostTensor.zeros(model.type(), total).toNDArray(root);
    }

    @TearDown
    public void tearDown() {
        root.close();
    }

    @Benchmark
    public long step() {
        try (NDManager scope = root.newSubManager()) {
            optimizer.step(params, grad, config, scope);
        }
        return optimizer.t;
    }
}

package org.hopestreams.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MODEL.md: gradients of every parameter group match central finite differences (double
 * precision, {@code tiny}), on a new key's first record plus a record continuing a loaded
 * (constant) fast state.
 */
class GradientCheckTest {
    private static NDManager root;

    @BeforeAll
    static void start() {
        root = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void stop() {
        root.close();
    }

    static HopeConfig variant(String name) {
        HopeConfig c = HopeConfig.preset("tiny").withFloat64(true).withChunk(4).withInnerClip(3.0);
        return switch (name) {
            case "memory" -> c;
            case "memory-off" -> c.withMemory(false);
            case "self-modifying" -> c.withSelfModifying(true);
            case "kan" -> c.withKan(HopeConfig.KAN_ALL, HopeConfig.DEFAULT_KAN_GRID);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /**
     * Initial values with a non-zero prior M0 and non-trivial CMS outputs, as the reference does (a KAN
     * level's splines as large as its base weights, so that the spline path matters).
     */
    static Map<String, HostTensor> perturbedInit(HopeConfig c, long seed) {
        Map<String, HostTensor> p = new LinkedHashMap<>(HopeParameters.initialize(c, seed));
        SplittableRandom rnd = new SplittableRandom(seed + 1);
        p.replaceAll((k, v) -> {
            if (k.endsWith("M0") || k.endsWith("w2") || k.endsWith("base2") || k.contains("spline")) {
                double[] x = v.toDoubles();
                double std = k.endsWith("M0") ? 0.3 : 0.2;
                for (int i = 0; i < x.length; i++) {
                    x[i] = std * (rnd.nextDouble() * 2 - 1) * Math.sqrt(3);
                }
                return HostTensor.ofDoubles(v.type(), v.shape(), x);
            }
            return v;
        });
        return p;
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    private static double loss(HopeModel model, Map<String, HostTensor> values, byte[] x0, byte[] x1, FastState st0) {
        try (NDManager m = root.newSubManager()) {
            Map<String, NDArray> p = HopeParameters.toEngine(values, m);
            NDArray a = model.recordLoss(m, p, x0, FastState.fresh(model.config())).lossNats();
            NDArray b = model.recordLoss(m, p, x1, st0).lossNats();
            return a.add(b).getDouble();
        }
    }

    @ParameterizedTest(name = "gradients match finite differences per level ({0})")
    @ValueSource(strings = {"memory", "memory-off", "self-modifying", "kan"})
    void gradientsMatchFiniteDifferences(String name) {
        HopeConfig c = variant(name);
        HopeModel model = new HopeModel(c);
        Map<String, HostTensor> values = perturbedInit(c, 3);
        byte[] x0 = randomBytes(24, 10);
        byte[] x1 = randomBytes(24, 11);
        FastState st0;
        Map<String, double[]> grads = new LinkedHashMap<>();
        try (NDManager m = root.newSubManager()) {
            Map<String, NDArray> p = HopeParameters.toEngine(values, m);
            st0 = model.recordLoss(m, p, x0, FastState.fresh(c)).state();
            p.values().forEach(a -> a.setRequiresGradient(true));
            boolean was = Autograd.setRecording(true);
            try {
                NDArray f = model.recordLoss(m, p, x0, FastState.fresh(c)).lossNats()
                        .add(model.recordLoss(m, p, x1, st0).lossNats());
                Autograd.backward(f);
            } finally {
                Autograd.setRecording(was);
            }
            p.forEach((k, a) -> grads.put(k, a.getGradient().toType(DataType.FLOAT64, false).toDoubleArray()));
        }
        SplittableRandom rnd = new SplittableRandom(5);
        Map<Level, Double> worst = new EnumMap<>(Level.class);
        double h = 1e-5;
        for (Map.Entry<String, HostTensor> e : values.entrySet()) {
            String n = e.getKey();
            double[] base = e.getValue().toDoubles();
            int[] idx = n.equals("emb")
                    ? new int[] {rnd.nextInt(base.length), rnd.nextInt(base.length), HopeConfig.START * c.d() + 3}
                    : new int[] {rnd.nextInt(base.length), rnd.nextInt(base.length), rnd.nextInt(base.length)};
            for (int i : idx) {
                double[] plus = base.clone();
                plus[i] += h;
                double[] minus = base.clone();
                minus[i] -= h;
                Map<String, HostTensor> vp = new LinkedHashMap<>(values);
                vp.put(n, HostTensor.ofDoubles(c.type(), e.getValue().shape(), plus));
                Map<String, HostTensor> vm = new LinkedHashMap<>(values);
                vm.put(n, HostTensor.ofDoubles(c.type(), e.getValue().shape(), minus));
                double fd = (loss(model, vp, x0, x1, st0) - loss(model, vm, x0, x1, st0)) / (2 * h);
                double g = grads.get(n)[i];
                double rel = Math.abs(fd - g) / Math.max(1e-4, Math.abs(fd) + Math.abs(g));
                worst.merge(Level.ofParameter(n), rel, Math::max);
                assertTrue(rel < 1e-5, n + "[" + i + "]: autograd " + g + " vs finite difference " + fd);
            }
        }
        assertTrue(worst.keySet().containsAll(java.util.EnumSet.allOf(Level.class)), "every level checked: " + worst);
        System.out.println("finite differences (" + name + "), worst relative error per level: " + worst);
    }
}

package org.hopestreams.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The KAN level's splines and its parameter count against the MLP it replaces. */
class KanLayerTest {
    @Test
    void basesSumToOneInsideTheGridFadeOverTheExtensionAndVanishBeyond() {
        int grid = 5;
        double h = 2 * KanLayer.RANGE / grid;
        double edge = KanLayer.RANGE + KanLayer.ORDER * h;
        double[] xs = {-2.0, -1.3, -0.01, 0, 0.4, 1.99, -2.5, 3.1, -edge - 0.1, edge + 0.5, 10};
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray b = KanLayer.bases(m.create(xs).toType(ai.djl.ndarray.types.DataType.FLOAT64, false), grid);
            assertEquals(grid + KanLayer.ORDER, b.getShape().get(1));
            double[] sums = b.sum(new int[] {1}).toDoubleArray();
            double[] all = b.toDoubleArray();
            for (double v : all) {
                assertTrue(v >= -1e-12, "a B-spline basis is never negative: " + v);
            }
            for (int i = 0; i < xs.length; i++) {
                double x = xs[i];
                if (Math.abs(x) <= KanLayer.RANGE) {
                    assertEquals(1.0, sums[i], 1e-12, "partition of unity at " + x);
                } else if (Math.abs(x) < edge) {
                    assertTrue(sums[i] > 0 && sums[i] < 1, "fading over the extension at " + x + ": " + sums[i]);
                } else {
                    assertEquals(0.0, sums[i], 0.0, "zero beyond the extended grid at " + x);
                }
            }
        }
    }

    @Test
    void aKanLevelHasAboutTheMlpLevelsParameters() {
        for (String preset : new String[] {"tiny", "small"}) {
            HopeConfig mlp = HopeConfig.preset(preset);
            HopeConfig kan = mlp.withKan(HopeConfig.KAN_ALL, HopeConfig.DEFAULT_KAN_GRID);
            for (Level l : Level.values()) {
                long a = HopeParameters.count(mlp, l);
                long b = HopeParameters.count(kan, l);
                assertTrue(Math.abs(a - b) <= 0.02 * a, preset + " " + l + ": MLP " + a + " vs KAN " + b);
            }
            assertEquals(HopeParameters.count(mlp, Level.HIGH),
                    HopeParameters.count(mlp.withKan(HopeConfig.KAN_LOW, 5), Level.HIGH), "kan=low leaves HIGH an MLP");
        }
    }
}

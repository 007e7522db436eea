package org.hopestreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * MKL's kernels chosen by the CPU's features (README "Engine math kernels"). MKL decides once per process, so the
 * engine's part runs in fresh child JVMs ({@link Probe}), as the application starts: the test JVM's own engine may
 * have decided long before.
 */
class MathKernelsTest {
    @Test
    void theUsersChoiceAndIntelCpusAreLeftAsBuilt() {
        assertEquals("MKL as built (hope.engine.mkl=system)",
                EngineEnvironment.tuneMathKernels(Map.of("HOPE_ENGINE_MKL", "system"), "AuthenticAMD"));
        assertTrue(EngineEnvironment.tuneMathKernels(Map.of("MKL_CBWR", "AVX2"), "AuthenticAMD")
                .equals("MKL as built (MKL_CBWR set by the environment)"));
        assertEquals("MKL as built (an Intel CPU)", EngineEnvironment.tuneMathKernels(Map.of(), "GenuineIntel"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EngineEnvironment.tuneMathKernels(Map.of("HOPE_ENGINE_MKL", "fast"), "AuthenticAMD"));
        assertTrue(e.getMessage().contains("'fast' is not one of auto, system"), e.getMessage());
    }

    /**
     * On a CPU that is not Intel's, an application's engine start makes MKL take its Intel code paths (MKL's own
     * vendor check reads "Intel" after a product), and products stay correct; with {@code system} MKL's check says
     * "not Intel", which is what the setting is for.
     */
    @Test
    void onAnotherVendorsCpuMklChoosesByFeaturesAndStaysCorrect() throws Exception {
        String vendor = EngineEnvironment.cpuVendor();
        assumeTrue(!vendor.isEmpty() && !vendor.equals("GenuineIntel"), "CPU vendor " + vendor);
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "Linux only");
        String tuned = probe(Map.of());
        assertTrue(tuned.contains("kernels: MKL by CPU features (" + vendor + " CPU"), tuned);
        assertTrue(tuned.contains("vendor check after a product: 1"), tuned);
        assertTrue(tuned.contains("within tolerance: true"), tuned);
        String system = probe(Map.of("HOPE_ENGINE_MKL", "system"));
        assertTrue(system.contains("kernels: MKL as built (hope.engine.mkl=system)"), system);
        assertTrue(system.contains("vendor check after a product: 0"), system);
        assertTrue(system.contains("within tolerance: true"), system);
    }

    private static String probe(Map<String, String> env) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Probe.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    /** A fresh process: starts the engine as the application does, multiplies, reports. */
    public static final class Probe {
        public static void main(String[] args) throws Exception {
            DeviceChoice.CPU.resolve();
            System.out.println("kernels: " + EngineEnvironment.mathKernels());
            int m = 96;
            int k = 130;
            int n = 70;
            Random r = new Random(7);
            float[] a = new float[m * k];
            float[] b = new float[k * n];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) r.nextGaussian();
            }
            float[] c;
            try (NDManager mgr = NDManager.newBaseManager()) {
                NDArray x = mgr.create(a, new Shape(m, k));
                NDArray y = mgr.create(b, new Shape(k, n));
                c = x.matMul(y).toFloatArray();
            }
            System.out.println("vendor check after a product: " + EngineEnvironment.mklVendorCheck());
            double worst = 0;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double exact = 0;
                    for (int q = 0; q < k; q++) {
                        exact += (double) a[i * k + q] * b[q * n + j];
                    }
                    worst = Math.max(worst, Math.abs(c[i * n + j] - exact));
                }
            }
            System.out.println("largest error " + worst + ", within tolerance: " + (worst < 1e-3));
        }
    }
}

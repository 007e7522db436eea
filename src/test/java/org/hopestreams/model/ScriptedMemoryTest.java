package org.hopestreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The memory's chunk loop as TorchScript ({@link ScriptedMemory}) against the same loop operation by operation
 * ({@code hope.engine.torchscript=false}), in double precision: the reads, the new ΔM and S, the surprise and the
 * gradients of all nine inputs, for chunk lengths with and without a last partial chunk, with and without the
 * residual clip, and for a padded row. The loop's equations themselves are checked against the per-token
 * recurrence by TitansMemoryTest (the operation path) and, through the scripted path, by GradientCheckTest's
 * finite differences (one record at a time).
 */
class ScriptedMemoryTest {
    private static final int H = 2;
    private static final int T = 37;
    private static final int DH = 8;

    private NDManager m;
    private NDArray[] in;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager(ai.djl.Device.cpu());
        m.getEngine().setRandomSeed(7);
        in = new NDArray[] {
            m.randomNormal(new Shape(1, H, T, DH), DataType.FLOAT64).normalize(2, -1, 1e-6),
            m.randomNormal(new Shape(1, H, T, DH), DataType.FLOAT64).normalize(2, -1, 1e-6),
            m.randomNormal(new Shape(1, H, T, DH), DataType.FLOAT64).mul(3),
            m.randomUniform(0f, 0.9f, new Shape(1, H, T), DataType.FLOAT64),
            m.randomUniform(0f, 1f, new Shape(1, H, T), DataType.FLOAT64),
            m.randomUniform(0f, 1f, new Shape(1, H, T), DataType.FLOAT64),
            m.randomNormal(new Shape(H, DH, DH), DataType.FLOAT64).mul(0.5),
            m.randomNormal(new Shape(1, H, DH, DH), DataType.FLOAT64),
            m.randomNormal(new Shape(1, H, DH, DH), DataType.FLOAT64).mul(0.1),
        };
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** Outputs (reads, ΔM, S, surprise) and the gradients of a weighted sum of them w.r.t. every input, as host arrays. */
    private List<double[]> run(boolean scripted, int b, double clip, long[] lengths) {
        return ScriptedMemory.with(scripted, () -> {
            try (NDManager s = m.newSubManager()) {
                List<NDArray> leaves = new ArrayList<>();
                for (NDArray x : in) {
                    NDArray l = x.duplicate();
                    l.attach(s);
                    l.setRequiresGradient(true);
                    leaves.add(l);
                }
                boolean was = Autograd.setRecording(true);
                List<double[]> out = new ArrayList<>();
                try {
                    TitansMemory.Chunk r = TitansMemory.sequence(leaves.get(0), leaves.get(1), leaves.get(2),
                            leaves.get(3), leaves.get(4), leaves.get(5), leaves.get(6), leaves.get(7), leaves.get(8), b,
                            clip, lengths);
                    NDArray f = r.out().mul(r.out()).sum().add(r.dM().mul(1.5).sum()).add(r.s().mul(r.s()).sum());
                    Autograd.backward(f);
                    out.add(r.out().toDoubleArray());
                    out.add(r.dM().toDoubleArray());
                    out.add(r.s().toDoubleArray());
                    out.add(new double[] {r.surpriseSum().getDouble(), r.residuals()});
                } finally {
                    Autograd.setRecording(was);
                }
                for (NDArray l : leaves) {
                    out.add(l.getGradient().toDoubleArray());
                }
                return out;
            }
        });
    }

    private static double maxDiff(List<double[]> a, List<double[]> b) {
        assertEquals(a.size(), b.size());
        double e = 0;
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).length, b.get(i).length, "array " + i);
            for (int j = 0; j < a.get(i).length; j++) {
                e = Math.max(e, Math.abs(a.get(i)[j] - b.get(i)[j]));
            }
        }
        return e;
    }

    @ParameterizedTest(name = "b = {0}, clip = {1}, length = {2}")
    @CsvSource({"1, 0, 37", "4, 2.5, 37", "5, 0, 37", "16, 2.5, 37", "40, 0, 37", "5, 2.5, 23", "16, 0, 9"})
    void scriptedLoopEqualsTheLoopOperationByOperation(int b, double clip, int length) {
        long[] lengths = length == T ? null : new long[] {length};
        long runs = ScriptedMemory.RUNS.get();
        List<double[]> scripted = run(true, b, clip, lengths);
        assertEquals(runs + 1, ScriptedMemory.RUNS.get(), "the scripted loop ran");
        List<double[]> ops = run(false, b, clip, lengths);
        assertEquals(runs + 1, ScriptedMemory.RUNS.get(), "the operation path ran without the module");
        double e = maxDiff(scripted, ops);
        assertTrue(e < 1e-10, "scripted and operation-by-operation loops differ by " + e);
    }

    @Test
    void batchesOfSeveralRowsKeepTheLoopOperationByOperation() {
        long runs = ScriptedMemory.RUNS.get();
        ScriptedMemory.with(true, () -> {
            try (NDManager s = m.newSubManager()) {
                NDArray[] two = new NDArray[in.length];
                for (int i = 0; i < in.length; i++) {
                    two[i] = i == 6 ? in[i] : in[i].concat(in[i], 0);
                    two[i].attach(s);
                }
                TitansMemory.sequence(two[0], two[1], two[2], two[3], two[4], two[5], two[6], two[7], two[8], 4, 0);
                return null;
            }
        });
        assertEquals(runs, ScriptedMemory.RUNS.get(), "two rows: the operation path");
    }

    @Test
    void theArchiveHoldsTheCodeAndAModuleObject() throws Exception {
        List<String> names = new ArrayList<>();
        String code = null;
        try (ZipInputStream z = new ZipInputStream(new ByteArrayInputStream(ScriptedMemory.archive()))) {
            for (ZipEntry e = z.getNextEntry(); e != null; e = z.getNextEntry()) {
                names.add(e.getName());
                byte[] bytes = z.readAllBytes();
                if (e.getName().endsWith(".py")) {
                    code = new String(bytes, java.nio.charset.StandardCharsets.US_ASCII);
                }
            }
        }
        assertEquals(List.of("titans_memory/version", "titans_memory/constants.pkl", "titans_memory/data.pkl",
                "titans_memory/code/__torch__.py"), names);
        assertTrue(code != null && code.contains("class TitansMemory(Module):"), code);
        assertTrue(ScriptedMemory.module(ai.djl.Device.cpu()).isPresent(), "PyTorch loads it");
    }
}

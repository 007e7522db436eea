package org.hopestreams.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MODEL.md: two records with carried fast state equal one long record; START is learned. */
class ContinuityTest {

    @ParameterizedTest(name = "two records with carried state == one long record (b={0})")
    @ValueSource(ints = {1, 4})
    void carriedStateEqualsOneLongRecord(int b) {
        HopeConfig c = HopeConfig.preset("tiny").withFloat64(true).withChunk(b);
        HopeModel model = new HopeModel(c);
        Map<String, HostTensor> values = GradientCheckTest.perturbedInit(c, 7);
        byte[] x = GradientCheckTest.randomBytes(64, 8);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> p = HopeParameters.toEngine(values, m);
            HopeModel.RecordLoss whole = model.recordLoss(m, p, x, FastState.fresh(c));
            HopeModel.RecordLoss a = model.recordLoss(m, p, Arrays.copyOfRange(x, 0, 32), FastState.fresh(c));
            HopeModel.RecordLoss bb = model.recordLoss(m, p, Arrays.copyOfRange(x, 32, 64), a.state());
            double err = Math.abs(a.lossNats().getDouble() * 32 + bb.lossNats().getDouble() * 32
                    - whole.lossNats().getDouble() * 64);
            assertTrue(err < 1e-10, "loss error " + err);
            assertEquals(whole.state().lastInput(), bb.state().lastInput());
            for (String part : whole.state().tensors().keySet()) {
                double[] u = whole.state().tensors().get(part).toDoubles();
                double[] v = bb.state().tensors().get(part).toDoubles();
                for (int i = 0; i < u.length; i++) {
                    assertTrue(Math.abs(u[i] - v[i]) < 1e-12, part + "[" + i + "]: " + u[i] + " vs " + v[i]);
                }
            }
        }
    }

    @Test
    void newKeyStartsFromTheLearnedStartRowAndItsGradientsAreFinite() {
        HopeConfig c = HopeConfig.preset("tiny").withBlocks(2);
        HopeModel model = new HopeModel(c);
        Map<String, HostTensor> values = new java.util.LinkedHashMap<>(HopeParameters.initialize(c, 6));
        values.replaceAll((k, v) -> k.endsWith(".g")
                ? HostTensor.ofDoubles(v.type(), v.shape(), Arrays.stream(v.toDoubles()).map(z -> z * 100).toArray()) : v);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> p = HopeParameters.toEngine(values, m);
            p.values().forEach(a -> a.setRequiresGradient(true));
            boolean was = Autograd.setRecording(true);
            try {
                NDArray loss = model.recordLoss(m, p, GradientCheckTest.randomBytes(32, 1), FastState.fresh(c)).lossNats();
                Autograd.backward(loss);
            } finally {
                Autograd.setRecording(was);
            }
            assertEquals(HopeConfig.VOCAB + 1, p.get("emb").getShape().get(0));
            for (Map.Entry<String, NDArray> e : p.entrySet()) {
                NDArray g = e.getValue().getGradient();
                assertTrue(g.isInfinite().logicalOr(g.isNaN()).sum().getLong() == 0, "non-finite gradient in " + e.getKey());
            }
            double startGrad = p.get("emb").getGradient().get(HopeConfig.START).abs().sum().getFloat();
            assertTrue(startGrad > 0, "the START row gets a gradient from a new key's first byte");
        }
    }
}

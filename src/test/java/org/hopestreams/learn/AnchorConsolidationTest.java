package org.hopestreams.learn;

import ai.djl.Device;
import org.hopestreams.model.HostTensor;
import org.hopestreams.model.Level;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The anchor consolidation (lever 4 of issue 10, {@code hope.consolidation=anchor}): at each LOW
 * consolidation the anchors of HIGH and MID absorb a share of their drift and pull them back; the
 * anchors are state (save, load, continue equals never stopping).
 */
class AnchorConsolidationTest {
    private static final double ABSORB = 0.25;
    private static final double PULL = 0.5;

    private static LearnerConfig anchored() {
        return LearnerConfig.defaults().withContextMode("off").withWarmup(0).withWindow(3, 0).withRates(1e-2, 1e-2, 1e-2)
                .withConsolidation(LearnerConfig.CONSOLIDATION_ANCHOR, ABSORB, PULL);
    }

    /** The step consolidation alone (the default before anchors measured best). */
    private static LearnerConfig step() {
        return LearnerConfig.defaults().withContextMode("off")
                .withConsolidation(LearnerConfig.CONSOLIDATION_STEP, 0.5, 0.5);
    }

    private static double[] flat(Map<String, HostTensor> params) {
        List<Double> out = new ArrayList<>();
        params.values().forEach(t -> {
            for (double v : t.toDoubles()) {
                out.add(v);
            }
        });
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    @Test
    void aConsolidationMovesTheAnchorTowardTheWeightsAndTheWeightsBackTowardIt() {
        byte[][] recs = LearnerContractTest.records(8, 24, 7);
        try (Learner l = LearnerContractTest.tiny(anchored(), 3)) {
            double[] a0High = l.optimizerPart(Level.HIGH, 3).toDoubles();
            assertArrayEquals(flat(l.parameters(Level.HIGH)), a0High, 0.0, "the anchor starts at the weights");
            for (int i = 0; i < 5; i++) {
                l.learn("k", recs[i], i);
            }
            for (Level level : List.of(Level.HIGH, Level.MID)) {
                assertArrayEquals(level == Level.HIGH ? a0High : l.optimizerPart(level, 3).toDoubles(),
                        l.optimizerPart(level, 3).toDoubles(), 0.0, "no consolidation yet: " + level + "'s anchor stays");
            }
            double[] wHigh = flat(l.parameters(Level.HIGH));
            double[] aMid = l.optimizerPart(Level.MID, 3).toDoubles();
            double[] wMid = flat(l.parameters(Level.MID));
            double[] wLow = flat(l.parameters(Level.LOW));
            assertFalse(java.util.Arrays.equals(wHigh, a0High), "HIGH learned");
            assertTrue(l.checkpoint());
            for (Object[] c : new Object[][] {{Level.HIGH, a0High, wHigh}, {Level.MID, aMid, wMid}}) {
                Level level = (Level) c[0];
                double[] a = (double[]) c[1];
                double[] w = (double[]) c[2];
                double[] a1 = l.optimizerPart(level, 3).toDoubles();
                double[] w1 = flat(l.parameters(level));
                for (int i = 0; i < a.length; i++) {
                    double na = a[i] + ABSORB * (w[i] - a[i]);
                    assertEquals(na, a1[i], 1e-6 * (1 + Math.abs(na)), level + " anchor " + i);
                    double nw = w[i] - PULL * (w[i] - na);
                    assertEquals(nw, w1[i], 1e-6 * (1 + Math.abs(nw)), level + " weight " + i);
                }
            }
            assertNull(l.optimizerPart(Level.LOW, 3), "LOW, the slowest level, keeps no anchor");
            assertNotEquals(0, java.util.Arrays.compare(wLow, flat(l.parameters(Level.LOW))), "LOW took its step");
        }
    }

    @Test
    void saveLoadContinueEqualsNeverStoppingWithAnchors() throws Exception {
        byte[][] recs = LearnerContractTest.records(20, 24, 11);
        try (Learner a = LearnerContractTest.tiny(anchored(), 5)) {
            for (int i = 0; i < 8; i++) {
                a.learn("k" + i % 2, recs[i], i);
                if (i % 4 == 3) {
                    a.checkpoint();
                }
            }
            StateSnapshot s = LearnerSnapshots.of(a, true);
            assertTrue(s.tensors().containsKey("opt.HIGH.anchor") && s.tensors().containsKey("opt.MID.anchor"));
            StateCodec codec = new StateCodec(4096);
            InMemoryFastStateStore fast = new InMemoryFastStateStore();
            for (var e : a.fastStates().entries()) {
                fast.put(e.getKey(), LearnerSnapshots.fastState(codec.decode(codec.encode(
                        LearnerSnapshots.fastState(e.getValue()))), a.config(), e.getKey()));
            }
            try (Learner b = LearnerSnapshots.restore(codec.decode(codec.encode(s)), new InMemoryFastStateStore(),
                    Device.cpu());
                 Learner c = LearnerSnapshots.restore(
                         LearnerSnapshots.groups(a, java.util.EnumSet.allOf(StateGroup.class)).values(), fast,
                         Device.cpu())) {
                for (int i = 8; i < 20; i++) {
                    double x = a.learn("k" + i % 3, recs[i], i).bitsPerByte();
                    assertEquals(x, b.learn("k" + i % 3, recs[i], i).bitsPerByte());
                    assertEquals(x, c.learn("k" + i % 3, recs[i], i).bitsPerByte());
                    if (i % 4 == 3) {
                        assertTrue(a.checkpoint() & b.checkpoint() & c.checkpoint());
                    }
                }
                assertEquals(LearnerSnapshots.of(a, true), LearnerSnapshots.of(b, true));
                assertEquals(LearnerSnapshots.of(a, false), LearnerSnapshots.of(c, false));
            }
        }
    }

    @Test
    void theStepKeepsNoAnchorTheDefaultDoesAndBadSharesAreRefused() {
        try (Learner l = LearnerContractTest.tiny(step(), 1)) {
            assertNull(l.optimizerPart(Level.HIGH, 3));
            assertTrue(LearnerSnapshots.of(l, false).tensors().keySet().stream().noneMatch(n -> n.endsWith(".anchor")));
            assertFalse(LearnerSnapshots.of(l, false).meta().containsKey("learner.consolidation"));
        }
        // anchor consolidation is the default (measured best, docs/eval.md sixth round), with shares 0.5 and 0.5
        LearnerConfig d = LearnerConfig.defaults();
        assertTrue(d.anchored());
        assertEquals(0.5, d.anchorAbsorb());
        assertEquals(0.5, d.anchorPull());
        try (Learner l = LearnerContractTest.tiny(d.withContextMode("off"), 1)) {
            assertArrayEquals(flat(l.parameters(Level.HIGH)), l.optimizerPart(Level.HIGH, 3).toDoubles(), 0.0);
            assertEquals("anchor", LearnerSnapshots.of(l, false).meta().get("learner.consolidation"));
        }
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> LearnerConfig.defaults().withConsolidation("average", 0.5, 0.5)).getMessage().contains("average"));
        assertThrows(IllegalArgumentException.class,
                () -> LearnerConfig.defaults().withConsolidation(LearnerConfig.CONSOLIDATION_ANCHOR, 1.5, 0.5));
    }

    @Test
    void aCheckpointWithoutAnchorsStartsThemAtItsWeights() throws Exception {
        try (Learner plain = LearnerContractTest.tiny(step().withWarmup(0), 2);
             Learner l = LearnerSnapshots.restore(LearnerSnapshots.of(plain, false), anchored(),
                     new InMemoryFastStateStore(), Device.cpu())) {
            assertArrayEquals(flat(plain.parameters(Level.MID)), l.optimizerPart(Level.MID, 3).toDoubles(), 0.0);
        }
    }
}

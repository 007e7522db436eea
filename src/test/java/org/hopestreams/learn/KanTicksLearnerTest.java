package org.hopestreams.learn;

import ai.djl.Device;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HostTensor;
import org.hopestreams.model.Level;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static org.hopestreams.learn.LearnerContractTest.TINY;
import static org.hopestreams.learn.LearnerContractTest.assertResumesExactly;
import static org.hopestreams.learn.LearnerContractTest.records;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The learner's contract with KAN levels and with extra ticks on surprising records (docs/kan-ticks.md). */
class KanTicksLearnerTest {
    static final HopeConfig KAN = TINY.withChunk(4).withKan(HopeConfig.KAN_ALL, HopeConfig.DEFAULT_KAN_GRID);

    static Learner kan(LearnerConfig lc) {
        return Learner.create(KAN, lc.withContextMode("off"), 1, new InMemoryFastStateStore(), Device.cpu());
    }

    @Test
    void kanLevelsSaveLoadContinueExactly() throws Exception {
        try (Learner a = kan(LearnerConfig.defaults().withWarmup(4).withWindow(3, 0))) {
            assertTrue(a.parameters().containsKey("blocks.0.cms.2.spline1"));
            assertResumesExactly(a);
        }
    }

    @Test
    void kanLevelsStepAtTheirLevelsCadence() {
        try (Learner l = kan(LearnerConfig.defaults().withWarmup(0).withWindow(3, 0))) {
            Map<String, HostTensor> mid0 = l.parameters(Level.MID);
            Map<String, HostTensor> high0 = l.parameters(Level.HIGH);
            byte[][] recs = records(7, 32, 4);
            for (int i = 0; i < 2; i++) {
                l.learn("k", recs[i], i);
            }
            assertEquals(mid0, l.parameters(Level.MID), "MID's KAN level waits for its window");
            assertNotEquals(high0, l.parameters(Level.HIGH), "HIGH's KAN level steps every record");
            for (int i = 2; i < 7; i++) {
                l.learn("k", recs[i], i);
            }
            assertTrue(l.checkpoint());
            assertArrayEquals(new long[] {7, 2, 1}, l.levelSteps());
            assertNotEquals(mid0, l.parameters(Level.MID));
        }
    }

    @Test
    void ticksSaveLoadContinueExactly() throws Exception {
        LearnerConfig lc = LearnerConfig.defaults().withWarmup(4).withWindow(3, 0).withTicks(2, 0, 0);
        try (Learner a = LearnerContractTest.network(lc, 1)) {
            assertResumesExactly(a);
            assertTrue(a.ticksTaken() > 0, "records took ticks");
        }
    }

    @Test
    void recordsBelowTheThresholdAreUntouched() {
        LearnerConfig off = LearnerConfig.defaults().withWarmup(2).withWindow(3, 0);
        byte[][] recs = records(8, 32, 6);
        try (Learner a = LearnerContractTest.network(off, 2);
             Learner b = LearnerContractTest.network(off.withTicks(4, 20, 0), 2)) {
            for (int i = 0; i < recs.length; i++) {
                LearnOutcome oa = a.learn("k" + i % 2, recs[i], i);
                LearnOutcome ob = b.learn("k" + i % 2, recs[i], i);
                assertTrue(ob.bitsPerByte() < 20);
                assertEquals(0, ob.ticks());
                assertEquals(oa.bitsPerByte(), ob.bitsPerByte());
            }
            StateSnapshot sa = LearnerSnapshots.of(a, true);
            StateSnapshot sb = LearnerSnapshots.of(b, true);
            assertEquals(sa.tensors(), sb.tensors(), "weights, moments, accumulators, fast states bit-identical");
            assertEquals(sa.counters(), sb.counters());
        }
    }

    /** ε = 1000: the first tick's loss never falls by that much, so every record takes exactly one tick and HIGH no extra step. */
    @ParameterizedTest(name = "a surprising record ticks while its loss falls by more than {0}, every tick counted")
    @ValueSource(doubles = {0.02, 1000})
    void aSurprisingRecordTicksWhileItsLossFallsAndEveryTickIsCounted(double minGain) {
        int max = 3;
        LearnerConfig lc = LearnerConfig.defaults().withWarmup(0).withWindow(3, 0).withTicks(max, 0, minGain);
        byte[][] recs = records(6, 32, 7);
        try (Learner l = LearnerContractTest.network(lc, 3)) {
            long ticks = 0;
            long highSteps = 0;
            for (int i = 0; i < recs.length; i++) {
                LearnOutcome o = l.learn("k", recs[i], i);
                double[] t = o.tickBits();
                assertTrue(t.length >= 1 && t.length <= max, "every record is above a threshold of 0: " + t.length);
                double previous = o.bitsPerByte();   // the context level is off: the network's own loss
                highSteps++;
                for (int k = 0; k < t.length; k++) {
                    boolean fell = previous - t[k] > minGain;
                    String trace = o.bitsPerByte() + " then " + java.util.Arrays.toString(t);
                    assertTrue(fell || k == t.length - 1, "ticks go on only while the loss falls: " + trace);
                    if (k == t.length - 1 && t.length < max) {
                        assertFalse(fell, "fewer than T ticks only when the loss stopped falling: " + trace);
                    }
                    highSteps += fell ? 1 : 0;
                    previous = t[k];
                }
                ticks += t.length;
                assertTrue(t[0] < o.bitsPerByte(), "the record's own HIGH step lowered its loss");
            }
            assertEquals(ticks, l.ticksTaken());
            assertEquals(highSteps, l.levelSteps()[0], "HIGH stepped once per record and once per tick whose loss fell");
        }
    }
}

package org.hopestreams.eval;

import ai.djl.Device;
import org.hopestreams.eval.ContinualEval.CycleResult;
import org.hopestreams.eval.ContinualEval.Domain;
import org.hopestreams.eval.ContinualEval.Variant;
import org.hopestreams.learn.InMemoryFastStateStore;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HostTensor;
import org.hopestreams.model.Level;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The harness on small generated domains whose answers are known. */
class ContinualEvalTest {
    static final HopeConfig TINY = HopeConfig.preset("tiny").withChunk(4);
    static StateSnapshot start;
    static Map<String, HostTensor> startParams;

    @BeforeAll
    static void startModel() {
        try (Learner l = Learner.create(TINY, LearnerConfig.defaults().withWarmup(0), 3, new InMemoryFastStateStore(),
                Device.cpu())) {
            start = LearnerSnapshots.of(l, false);
            startParams = l.parameters();
        }
    }

    @AfterAll
    static void free() {
        start = null;
    }

    /** A domain: one random phrase over its own alphabet, repeated. */
    static Domain domain(String name, String alphabet, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder phrase = new StringBuilder();
        for (int i = 0; i < 23; i++) {
            phrase.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        phrase.append(' ');
        String text = phrase.toString().repeat(4000 / phrase.length() + 1);
        return Domain.split(name, text.getBytes(StandardCharsets.US_ASCII), 0.1);
    }

    static ContinualEval harness(ContinualEval.Settings s) {
        List<Domain> ds = List.of(domain("a", "abcdefgh", 1), domain("b", "0123456789", 2), domain("c", "QRSTUVWXYZ", 3));
        return new ContinualEval(ds, s, (memory, kan) -> start, Device.cpu());
    }

    static ContinualEval.Settings small() {
        return new ContinualEval.Settings(64, 6, 2, 2, 128, 2, 2, 1, new int[] {0, 2}, new int[] {32}, 1, 2,
                new int[] {0, 2});
    }

    static LearnerConfig lc() {
        return LearnerConfig.defaults().withWarmup(0).withContextMode("off");
    }

    /**
     * A sharded run (issue 13): with four shards and three domains the fourth shard learns no record; with one model
     * across shards it takes the others' LOW learning, and its held-out bits per byte on their domains fall below
     * the start's (without consolidation it could only keep the start's).
     */
    @Test
    void aShardWithoutRecordsLearnsTheOthersDomainsThroughConsolidation() {
        ContinualEval eval = harness(small());
        Variant hope = new Variant("hope", "nested", lc().withWindow(2, 0), 3, true, false);
        ContinualEval.ShardedResult on = eval.sharded(hope, 0, 4, true);
        assertArrayEquals(new int[] {0, 1, 2}, on.shardOfDomain());
        assertTrue(on.versions() > 0, "global versions made");
        for (int d = 0; d < 3; d++) {
            assertTrue(on.heldOut()[3][d] < on.initial()[d], "domain " + d + " on the idle shard: " + on.heldOut()[3][d]
                    + " vs the start's " + on.initial()[d]);
        }
    }

    @Test
    void frozenModelForgetsNothingAndLearnsNothing() {
        ContinualEval eval = harness(small());
        Variant frozen = new Variant("frozen", "rates 0", lc().withRates(0, 0, 0).withWindow(2, 0), 3, true, false);
        Map<String, HostTensor>[] after = new Map[1];
        CycleResult r = eval.cycle(frozen, 0, l -> after[0] = l.parameters());
        for (double[] row : r.r()) {
            assertArrayEquals(r.initial(), row, 1e-9, "a frozen model's held-out scores never move");
        }
        assertArrayEquals(new double[] {0, 0, 0}, r.forgetting(), 1e-9);
        assertEquals(0, r.backwardTransfer(), 1e-9);
        assertEquals(0, r.plasticity(), 1e-9);
        assertEquals(startParams, after[0], "no parameter changed");
        // facts: nothing reaches a fresh key, and facts cost nothing
        ContinualEval.KnowledgeResult k = eval.knowledge(frozen, 0);
        assertArrayEquals(new double[] {0, 0}, k.gainBits(), 1e-6);
        assertEquals(0, k.backgroundCost(), 1e-9);
        assertTrue(Double.isNaN(k.halfLife()), "nothing learned: no half-life");
        ContinualEval.KeyedResult y = eval.keyed(frozen, 0);
        assertArrayEquals(new double[] {0, 0}, y.freshGainBits(), 1e-6);
    }

    @Test
    void modelResetBetweenSegmentsForgetsFully() {
        ContinualEval eval = harness(small());
        LearnerConfig single = lc().withRates(1e-2, 1e-2, 1e-2).withWarmup(Integer.MAX_VALUE);
        Variant reset = new Variant("reset", "reset each segment", single, 0, true, true);
        Variant keep = new Variant("keep", "single frequency", single, 0, true, false);
        CycleResult r = eval.cycle(reset, 0);
        CycleResult k = eval.cycle(keep, 0);
        double[][] m = r.r();
        int t = m.length - 1;
        // it learns each segment's domain...
        for (int i = 0; i < m.length; i++) {
            int d = r.schedule()[i];
            assertTrue(m[i][d] < r.initial()[d] - 0.5, "segment " + i + " learned its domain: " + m[i][d] + " vs "
                    + r.initial()[d]);
        }
        // ... and every segment starts from scratch: A's score after the final segment (C) is no better than
        // a model that never saw A, so all of A's gain is lost
        double gainA = r.initial()[0] - m[3][0];
        assertTrue(r.forgetting()[0] >= gainA - 0.1, "full forgetting of A: " + r.forgetting()[0] + " vs gain " + gainA);
        assertTrue(m[t][0] > r.initial()[0] - 0.1, "A back to (or worse than) the start: " + m[t][0]);
        assertTrue(r.backwardTransfer() > 0.5, "BWT " + r.backwardTransfer());
        // a learner that keeps its weights forgets less of A than one that is reset
        assertTrue(k.forgetting()[0] < r.forgetting()[0], "keep " + k.forgetting()[0] + " < reset " + r.forgetting()[0]);
        // the recovery of a returning domain is measured on the second visit
        assertEquals(3, r.recoveryBytes().length);
        assertEquals(r.schedule().length * 6, r.prequential().length);
    }

    @Test
    void slowestPeriodStepsHighOnlyEveryPeriod() {
        ContinualEval eval = harness(small());
        Variant slowest = new Variant("slowest", "every 4", lc().withWindow(4, 0).withHighPeriod(4), 4, true, false);
        CycleResult r = eval.cycle(slowest, 1);
        long records = r.prequential().length; // 36
        assertArrayEquals(new long[] {records / 4, records / 4, records / 4}, r.levelSteps());
        Variant hope = new Variant("hope", "nested", lc().withWindow(2, 0), 4, true, false);
        assertArrayEquals(new long[] {records, records / 2, records / 4}, eval.cycle(hope, 1).levelSteps());
    }

    @Test
    void highPeriodSurvivesASnapshotWithAPendingAccumulator() throws Exception {
        LearnerConfig c = lc().withHighPeriod(3);
        try (Learner a = LearnerSnapshots.restore(start, c, new InMemoryFastStateStore(), Device.cpu())) {
            byte[] rec = "some text to learn from".getBytes(StandardCharsets.US_ASCII);
            a.learn("k", rec, 0);
            a.learn("k", rec, 1);
            assertEquals(2, a.pending(Level.HIGH));
            StateSnapshot snap = LearnerSnapshots.of(a, true);
            try (Learner b = LearnerSnapshots.restore(snap, new InMemoryFastStateStore(), Device.cpu())) {
                assertEquals(2, b.pending(Level.HIGH));
                assertEquals(3, b.learnerConfig().highPeriodRecords());
                a.learn("k", rec, 2);
                b.learn("k", rec, 2);
                assertEquals(1, a.levelSteps()[0]);
                assertEquals(a.parameters(), b.parameters(), "resume equals never stopping");
            }
        }
    }

    @Test
    void answerBitsArePartOfTheWholeTextsBits() throws Exception {
        try (Learner l = LearnerSnapshots.restore(start, lc(), new InMemoryFastStateStore(), Device.cpu())) {
            double whole = l.score("q", "the code of x is abc".getBytes(StandardCharsets.US_ASCII)) * 20;
            double prompt = l.score("q", "the code of x is ".getBytes(StandardCharsets.US_ASCII)) * 17;
            double answer = ContinualEval.answerBits(l, "q", "the code of x is ", "abc");
            assertEquals(whole - prompt, answer, 1e-3);
            assertTrue(answer > 0);
            ContinualEval.PasskeyResult p = harness(small()).passkey(l, 0);
            assertEquals(1, p.gainBits().length);
            assertTrue(Double.isFinite(p.gainBits()[0]));
        }
    }

    /**
     * {@code --stream-keys K --batch-records B}: the cycling stream is spread over K keys and learned B
     * records per batch: HIGH steps once per batch, LOW keeps its cadence in records, every record is
     * scored; the first batch's second record is scored by the start model (nothing learned before it).
     */
    @Test
    void batchedCyclingStepsOncePerBatchAndKeepsTheLowCadence() {
        // MID windows of 3 records close at a batch's end (a window closing inside a batch would split it)
        LearnerConfig c = lc().withRates(1e-2, 1e-2, 1e-2).withWindow(3, 0);
        Variant v = new Variant("hope", "batched", c, 3, true, false);
        CycleResult one = harness(small().withBatching(3, 1)).cycle(v, 0);
        CycleResult three = harness(small().withBatching(3, 3)).cycle(v, 0);
        int records = one.prequential().length;
        assertEquals(records, three.prequential().length);
        assertEquals(records, one.levelSteps()[0], "unbatched: HIGH steps on every record");
        assertEquals(records / 3, three.levelSteps()[0], "batched: HIGH steps once per batch of 3");
        assertEquals(one.levelSteps()[2], three.levelSteps()[2], "LOW steps every 3 records either way");
        assertTrue(one.levelSteps()[2] > 0);
        assertEquals(one.prequential()[0], three.prequential()[0], 1e-9, "the first record: the start model either way");
        CycleResult fresh = harness(small().withBatching(3, 1)).cycle(new Variant("frozen", "rates 0",
                lc().withRates(0, 0, 0).withWindow(3, 0), 3, true, false), 0);
        assertEquals(fresh.prequential()[1], three.prequential()[1], 1e-6,
                "in a batch the second record is scored before the first one's step");
        assertTrue(Math.abs(one.prequential()[1] - three.prequential()[1]) > 1e-6,
                "unbatched, the second record is scored after the first one's step");
        for (double[] row : three.r()) {
            for (double x : row) {
                assertTrue(Double.isFinite(x));
            }
        }
    }

    @Test
    void batchSettingsThatCannotHoldAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> small().withBatching(2, 3));
        assertTrue(e.getMessage().contains("--batch-records 3 exceeds --stream-keys 2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> small().withBatching(4, 4));
        assertTrue(e.getMessage().contains("does not divide --segment-records 6"), e.getMessage());
    }
}

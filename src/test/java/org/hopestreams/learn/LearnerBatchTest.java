package org.hopestreams.learn;

import ai.djl.Device;
import org.hopestreams.model.FastState;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HostTensor;
import org.hopestreams.model.Level;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batched learning ({@link Learner#learnBatch}): B = 1 is the learner itself, batches are what they claim. */
class LearnerBatchTest {
    private static final HopeConfig TINY = HopeConfig.preset("tiny").withChunk(4);

    private static Learner learner(HopeConfig c, LearnerConfig lc) {
        return Learner.create(c, lc, 7, new InMemoryFastStateStore(), Device.cpu());
    }

    /** Records of lengths 9..40 (several chunks, partial last chunks, rows of a batch padded differently). */
    private static byte[][] records(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[][] out = new byte[n][];
        for (int i = 0; i < n; i++) {
            out[i] = new byte[9 + r.nextInt(32)];
            for (int k = 0; k < out[i].length; k++) {
                out[i][k] = (byte) ('a' + r.nextInt(8));
            }
        }
        return out;
    }

    private static List<Learner.BatchItem> items(byte[][] recs, int from, int to, int keys) {
        List<Learner.BatchItem> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            out.add(new Learner.BatchItem("k" + i % keys, recs[i], i));
        }
        return out;
    }

    @Test
    void batchesOfOneAndBatchesOfOneKeyAreTheLearnerBitForBit() {
        LearnerConfig lc = LearnerConfig.defaults().withWarmup(3).withWindow(3, 0);   // context level on (mix)
        byte[][] recs = records(24, 1);
        try (Learner a = learner(TINY, lc); Learner b = learner(TINY, lc); Learner c = learner(TINY, lc)) {
            for (int i = 0; i < 12; i++) {
                LearnOutcome x = a.learn("k" + i % 2, recs[i], i);
                LearnOutcome y = b.learnBatch(List.of(new Learner.BatchItem("k" + i % 2, recs[i], i))).get(0);
                assertEquals(x.bitsPerByte(), y.bitsPerByte());
                assertArrayEquals(x.surprise(), y.surprise());
            }
            // one key: every record waits for the one before, so the batch is cut into records
            for (int i = 0; i < 12; i++) {
                c.learn("k" + i % 2, recs[i], i);
            }
            for (int i = 12; i < 24; i++) {
                a.learn("solo", recs[i], i);
            }
            List<LearnOutcome> os = b.learnBatch(items(recs, 12, 24, 1).stream()
                    .map(it -> new Learner.BatchItem("solo", it.bytes(), it.streamTimeMs())).toList());
            assertEquals(12, os.size());
            a.checkpoint();
            b.checkpoint();
            assertEquals(LearnerSnapshots.of(a, true), LearnerSnapshots.of(b, true));
            assertEquals(a.fastStates().get("solo").tensors(), b.fastStates().get("solo").tensors());
            assertArrayEquals(new long[] {24, 3 + 21 / 3, 3 + 1}, b.levelSteps());
        }
    }

    /**
     * A batch of distinct keys is a learner whose HIGH sums B records before stepping: each record scored at
     * the same weights, gradients summed, one step. With clipping off and float64 the two agree to rounding:
     * bits, fast states (padded rows), every weight, moments and accumulators.
     */
    @Test
    void aBatchOfDistinctKeysEqualsSummingTheirGradientsRecordByRecord() {
        HopeConfig c = TINY.withFloat64(true);
        LearnerConfig base = LearnerConfig.defaults().withWarmup(0).withWindow(8, 0).withContextMode("off")
                .withGradClip(0);
        byte[][] recs = records(16, 2);
        try (Learner seq = learner(c, base.withHighPeriod(4)); Learner bat = learner(c, base)) {
            List<Double> bitsSeq = new ArrayList<>();
            List<Double> bitsBat = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                bitsSeq.add(seq.learn("k" + i % 4, recs[i], i).bitsPerByte());
            }
            for (int i = 0; i < 16; i += 4) {
                List<LearnOutcome> os = bat.learnBatch(items(recs, i, i + 4, 4));
                assertEquals(4, os.size());
                os.forEach(o -> bitsBat.add(o.bitsPerByte()));
            }
            assertArrayEquals(new long[] {4, 2, 0}, bat.levelSteps(), "HIGH once per batch, MID per 8 records");
            assertArrayEquals(seq.levelSteps(), bat.levelSteps());
            for (int i = 0; i < 16; i++) {
                assertEquals(bitsSeq.get(i), bitsBat.get(i), 1e-9, "bits of record " + i);
            }
            for (int k = 0; k < 4; k++) {
                FastState x = seq.fastStates().get("k" + k);
                FastState y = bat.fastStates().get("k" + k);
                assertEquals(x.lastInput(), y.lastInput());
                x.tensors().forEach((n, t) -> close(t, y.tensors().get(n), 1e-9, "fast state k" + 0 + " " + n));
            }
            StateSnapshot s = LearnerSnapshots.of(seq, false);
            StateSnapshot b = LearnerSnapshots.of(bat, false);
            assertEquals(s.tensors().keySet(), b.tensors().keySet());
            s.tensors().forEach((n, t) -> close(t, b.tensors().get(n), 1e-7, n));
            assertEquals(8 * 0, bat.pending(Level.MID));
            assertEquals(16, bat.pending(Level.LOW));
        }
    }

    @Test
    void recordsOfOneKeyKeepTheirOrderTheBatchIsCutBeforeTheSecond() {
        LearnerConfig lc = LearnerConfig.defaults().withWarmup(0).withWindow(0, 0);
        byte[][] recs = records(8, 3);
        String[] keys = {"a", "b", "a", "c", "d", "b", "e", "f"};
        List<Learner.BatchItem> all = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            all.add(new Learner.BatchItem(keys[i], recs[i], i));
        }
        try (Learner one = learner(TINY, lc); Learner cut = learner(TINY, lc)) {
            List<LearnOutcome> x = one.learnBatch(all);
            List<LearnOutcome> y = new ArrayList<>();
            y.addAll(cut.learnBatch(all.subList(0, 2)));     // a b | a c d b e f: cut before the second a only
            y.addAll(cut.learnBatch(all.subList(2, 8)));
            assertEquals(8, x.size());
            for (int i = 0; i < 8; i++) {
                assertEquals(y.get(i).bitsPerByte(), x.get(i).bitsPerByte(), "record " + i);
            }
            assertEquals(2, one.levelSteps()[0], "two sub-batches, two HIGH steps");
            try (Learner seq = learner(TINY, lc)) {
                // the second a continues the first a's state, as record by record
                seq.learn("a", recs[0], 0);
                assertEquals(seq.fastStates().get("a").lastInput(), recs[0][recs[0].length - 1] & 0xff);
                assertEquals(one.fastStates().get("a").lastInput(), recs[2][recs[2].length - 1] & 0xff);
            }
            assertEquals(LearnerSnapshots.of(cut, true), LearnerSnapshots.of(one, true));
        }
    }

    @Test
    void cadenceStaysExactInRecordsAndStreamTime() {
        byte[][] recs = records(40, 4);
        try (Learner l = learner(TINY, LearnerConfig.defaults().withWarmup(0).withWindow(3, 0).withContextMode("off"))) {
            for (int i = 0; i < 40; i += 8) {
                assertEquals(8, l.learnBatch(items(recs, i, i + 8, 8)).size());
            }
            assertEquals(40 / 3, l.levelSteps()[1], "a MID step per 3 records");
            assertEquals(40 % 3, l.pending(Level.MID));
            assertEquals(40, l.pending(Level.LOW));
        }
        long[] times = {0, 50, 99, 100, 180, 40, 420, 421, 999, 1000, 1001, 1050};
        try (Learner s = learner(TINY, LearnerConfig.defaults().withWarmup(0).withWindow(0, 100).withContextMode("off")
                .withCheckpointMillis(400))) {
            List<Learner.BatchItem> b = new ArrayList<>();
            for (int i = 0; i < times.length; i++) {
                b.add(new Learner.BatchItem("k" + i, recs[i], times[i]));
            }
            s.learnBatch(b);
            // as record by record: windows [0,100) [100,200) [400,500) [900,1000) closed; [1000,1100) open with 3
            assertEquals(4, s.levelSteps()[1]);
            assertEquals(3, s.pending(Level.MID));
            assertEquals(2, s.levelSteps()[2], "LOW periods [0,400) and [400,800) closed");
        }
    }

    @Test
    void badRecordsInABatchAreRejectedInPlaceAndChangeNothing() {
        byte[][] recs = records(4, 5);
        try (Learner l = learner(TINY, LearnerConfig.defaults().withWarmup(0).withMaxRecordBytes(64))) {
            List<LearnOutcome> os = l.learnBatch(List.of(new Learner.BatchItem("a", recs[0], 0),
                    new Learner.BatchItem("b", new byte[0], 1), new Learner.BatchItem("c", recs[1], 2),
                    new Learner.BatchItem("d", new byte[65], 3), new Learner.BatchItem("e", recs[2], 4)));
            assertEquals(5, os.size());
            assertTrue(os.get(0).accepted() && os.get(2).accepted() && os.get(4).accepted());
            assertFalse(os.get(1).accepted());
            assertFalse(os.get(3).accepted());
            assertEquals(1, l.levelSteps()[0], "the good three in one batch");
            assertEquals(3, l.fastStates().size());
            assertEquals(2, l.recordsRejected());
        }
    }

    @Test
    void saveLoadContinueEqualsNeverStoppingWithBatches() throws Exception {
        LearnerConfig lc = LearnerConfig.defaults().withWarmup(4).withWindow(5, 0);
        byte[][] recs = records(40, 6);
        try (Learner a = learner(TINY, lc)) {
            for (int i = 0; i < 16; i += 8) {
                a.learnBatch(items(recs, i, i + 8, 3));
                a.checkpoint();
            }
            StateCodec codec = new StateCodec(4096);
            InMemoryFastStateStore fast = new InMemoryFastStateStore();
            for (int k = 0; k < 3; k++) {
                fast.put("k" + k, a.fastStates().get("k" + k));
            }
            try (Learner b = LearnerSnapshots.restore(codec.decode(codec.encode(LearnerSnapshots.of(a, true))), fast,
                    Device.cpu())) {
                for (int i = 16; i < 40; i += 8) {
                    List<LearnOutcome> x = a.learnBatch(items(recs, i, i + 8, 5));
                    List<LearnOutcome> y = b.learnBatch(items(recs, i, i + 8, 5));
                    for (int r = 0; r < 8; r++) {
                        assertEquals(x.get(r).bitsPerByte(), y.get(r).bitsPerByte());
                    }
                    a.checkpoint();
                    b.checkpoint();
                }
                assertEquals(LearnerSnapshots.of(a, true), LearnerSnapshots.of(b, true));
                for (int k = 0; k < 5; k++) {
                    assertEquals(a.fastStates().get("k" + k).tensors(), b.fastStates().get("k" + k).tensors());
                }
            }
        }
    }

    private static void close(HostTensor x, HostTensor y, double tol, String what) {
        double[] a = x.toDoubles();
        double[] b = y.toDoubles();
        assertEquals(a.length, b.length, what);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-3 + Math.abs(a[i])));
        }
        assertTrue(worst <= tol, what + ": largest relative difference " + worst);
    }

    /**
     * A record's or a batch's host values (losses, new fast states, surprise, the levels' gradient norms and, with the
     * exact-context level, the log-probabilities) come to the host in one transfer (issue 12: at most one host read
     * per record or batch), not one per row and state array (8 rows × 3 state arrays of tiny were 24 reads of states
     * alone), and the states are those each row's own learner gets.
     */
    @Test
    void aLearnedRecordOrBatchIsOneHostTransfer() {
        byte[][] recs = records(16, 6);
        try (Learner one = learner(TINY, LearnerConfig.defaults().withWarmup(0))) {     // exact-context level on
            for (int i = 0; i < 4; i++) {
                long before = HostTensor.TRANSFERS.sum();
                assertTrue(one.learn("k" + i % 2, recs[i], i).accepted());
                assertEquals(1, HostTensor.TRANSFERS.sum() - before, "host transfers of learned record " + i);
            }
            long before = HostTensor.TRANSFERS.sum();
            one.learnBatch(items(recs, 8, 16, 8));
            assertEquals(1, HostTensor.TRANSFERS.sum() - before, "host transfers of a batch of 8");
        }
    }

    /** A batch's new fast states are the states each row's own learner gets (read in one transfer). */
    @Test
    void aBatchsFastStatesComeToTheHostInOneTransfer() {
        LearnerConfig lc = LearnerConfig.defaults().withWarmup(0).withContextMode("off");
        byte[][] recs = records(8, 5);
        try (Learner batched = learner(TINY, lc)) {
            long before = HostTensor.TRANSFERS.sum();
            batched.learnBatch(items(recs, 0, 8, 8));
            assertEquals(1, HostTensor.TRANSFERS.sum() - before, "host transfers of one batch");
            for (int r = 0; r < 8; r++) {
                try (Learner alone = learner(TINY, lc)) {
                    alone.learn("k" + r, recs[r], r);
                    FastState want = alone.fastStates().get("k" + r);
                    FastState got = batched.fastStates().get("k" + r);
                    for (Map.Entry<String, HostTensor> e : want.tensors().entrySet()) {
                        double[] w = e.getValue().toDoubles();
                        double[] g = got.tensors().get(e.getKey()).toDoubles();
                        for (int k = 0; k < w.length; k++) {
                            assertEquals(w[k], g[k], 1e-4, "row " + r + " " + e.getKey() + "[" + k + "]");
                        }
                    }
                }
            }
        }
    }
}

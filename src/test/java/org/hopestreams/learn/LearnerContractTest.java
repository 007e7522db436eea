package org.hopestreams.learn;

import ai.djl.Device;
import org.hopestreams.model.FastState;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HostTensor;
import org.hopestreams.model.Level;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateFormatException;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The learner's contract (MODEL.md checks): cadence, round trip, read-only queries, bad input. */
class LearnerContractTest {
    static final HopeConfig TINY = HopeConfig.preset("tiny");

    static Learner tiny(LearnerConfig lc, long seed) {
        return Learner.create(TINY.withChunk(4), lc, seed, new InMemoryFastStateStore(), Device.cpu());
    }

    /**
     * The network's own learner (exact-context level off): this class checks the network's contract as
     * MODEL.md states it; ContextLevelLearnerTest checks the same contract with the level on.
     */
    static Learner network(LearnerConfig lc, long seed) {
        return tiny(lc.withContextMode("off"), seed);
    }

    static byte[][] records(int n, int len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[][] out = new byte[n][len];
        for (byte[] b : out) {
            r.nextBytes(b);
        }
        return out;
    }

    @Test
    void cadenceIsExactWithoutWarmup() {
        try (Learner l = network(LearnerConfig.defaults().withWarmup(0).withWindow(3, 0), 1)) {
            byte[][] recs = records(50, 32, 4);
            for (int i = 0; i < 50; i++) {
                assertTrue(l.learn("k" + i % 3, recs[i], i).accepted());
                if ((i + 1) % 7 == 0) {
                    assertTrue(l.checkpoint());
                }
            }
            assertArrayEquals(new long[] {50, 16, 7}, l.levelSteps());
            assertEquals(7, l.modelVersion());
            assertEquals(2, l.pending(Level.MID));
            assertEquals(1, l.pending(Level.LOW));
        }
    }

    @Test
    void warmupStepsEveryLevelThenTheClocksStart() {
        try (Learner l = network(LearnerConfig.defaults().withWarmup(8).withWindow(3, 0), 1)) {
            byte[][] recs = records(50, 32, 4);
            for (int i = 0; i < 50; i++) {
                assertEquals(i < 8, l.warmingUp());
                l.learn("k" + i % 3, recs[i], i);
                if ((i + 1) % 7 == 0) {
                    l.checkpoint();
                }
            }
            assertArrayEquals(new long[] {50, 8 + 14, 8 + 6}, l.levelSteps());
        }
    }

    @Test
    void streamTimeWindowsCloseWhenARecordOfALaterWindowArrives() {
        try (Learner l = network(LearnerConfig.defaults().withWarmup(0).withWindow(0, 100), 1)) {
            byte[][] recs = records(10, 16, 5);
            long[] times = {0, 50, 99, 100, 180, 40, 420, 421, 999, 1000};
            for (int i = 0; i < times.length; i++) {
                l.learn("k", recs[i], times[i]);
            }
            // windows [0,100) [100,200) [400,500) [900,1000) closed; [1000,1100) open with one record
            assertEquals(4, l.levelSteps()[1]);
            assertEquals(1, l.pending(Level.MID));
            LearnOutcome empty = l.learn("k", new byte[0], 5000);
            assertFalse(empty.accepted());
            assertEquals(4, l.levelSteps()[1], "a rejected record of a later window closes nothing");
            assertEquals(1, l.pending(Level.MID));
            assertTrue(l.closeWindow());
            assertFalse(l.closeWindow(), "an empty window does not step");
            assertEquals(5, l.levelSteps()[1]);
        }
    }

    @Test
    void saveLoadContinueEqualsNeverStopping() throws Exception {
        try (Learner a = network(LearnerConfig.defaults().withWarmup(4).withWindow(3, 0), 1)) {
            assertResumesExactly(a);
        }
    }

    /**
     * Learns 13 records with {@code a}, saves it through the codec in 4 KiB chunks, restores it as b,
     * then feeds a and b the same 17 records: same scores, same snapshot at the end.
     */
    static void assertResumesExactly(Learner a) throws Exception {
        byte[][] recs = records(30, 32, 5);
        for (int i = 0; i < 13; i++) {
            a.learn("k" + i % 2, recs[i], i);
            if (i % 7 == 6) {
                a.checkpoint();
            }
        }
        StateCodec codec = new StateCodec(4096);
        List<byte[]> chunks = codec.encode(LearnerSnapshots.of(a, true));
        assertTrue(chunks.size() > 1, "the tiny model spans several 4 KiB chunks");
        try (Learner b = LearnerSnapshots.restore(codec.decode(chunks), new InMemoryFastStateStore(), Device.cpu())) {
            assertEquals(4, b.config().chunk());
            List<String> bitsA = new ArrayList<>();
            List<String> bitsB = new ArrayList<>();
            for (int i = 13; i < 30; i++) {
                LearnOutcome oa = a.learn("k" + i % 2, recs[i], i);
                LearnOutcome ob = b.learn("k" + i % 2, recs[i], i);
                bitsA.add(oa.bitsPerByte() + " ticks " + Arrays.toString(oa.tickBits()));
                bitsB.add(ob.bitsPerByte() + " ticks " + Arrays.toString(ob.tickBits()));
                if (i % 7 == 6) {
                    a.checkpoint();
                    b.checkpoint();
                }
            }
            assertEquals(bitsA, bitsB);
            assertEquals(a.ticksTaken(), b.ticksTaken());
            assertEquals(LearnerSnapshots.of(a, true), LearnerSnapshots.of(b, true));
            assertTrue(a.levelSteps()[2] > 4, "LOW stepped after the restore");
        }
    }

    @Test
    void scoringAndCompletingChangeNothing() {
        try (Learner l = network(LearnerConfig.defaults().withWarmup(2).withWindow(3, 0), 2)) {
            byte[][] recs = records(8, 32, 6);
            for (int i = 0; i < 8; i++) {
                l.learn("k" + i % 2, recs[i], i);
            }
            StateSnapshot before = LearnerSnapshots.of(l, true);
            double s1 = l.score("k0", recs[0]);
            double s2 = l.score("unknown key", recs[1]);
            byte[] greedy = l.complete("k1", "abc".getBytes(StandardCharsets.UTF_8), 20, 0, 1);
            byte[] sampled = l.complete("k1", "abc".getBytes(StandardCharsets.UTF_8), 20, 1.0, 1);
            assertEquals(20, greedy.length);
            assertEquals(20, sampled.length);
            assertTrue(Double.isFinite(s1) && Double.isFinite(s2));
            assertEquals(before, LearnerSnapshots.of(l, true));
            assertEquals(s1, l.score("k0", recs[0]), "scoring is deterministic");
            assertArrayEquals(greedy, l.complete("k1", "abc".getBytes(StandardCharsets.UTF_8), 20, 0, 1));
            assertEquals(2, l.fastStates().size(), "an unknown key's query stores no state");
        }
    }

    @Test
    void aNonFiniteRecordChangesNothingAndSaysWhy() throws Exception {
        try (Learner l = network(LearnerConfig.defaults().withWarmup(0).withWindow(3, 100), 3)) {
            byte[][] recs = records(4, 32, 7);
            l.learn("k", recs[0], 0);
            StateSnapshot good = LearnerSnapshots.of(l, true);
            Map<String, HostTensor> tensors = new LinkedHashMap<>(good.tensors());
            StateSnapshot.Builder b = StateSnapshot.builder();
            good.meta().forEach(b::meta);
            good.counters().forEach(b::counter);
            tensors.forEach((k, v) -> {
                if (k.equals("param.blocks.0.cms.0.w1")) {
                    double[] x = v.toDoubles();
                    x[0] = Double.NaN;
                    v = HostTensor.ofDoubles(v.type(), v.shape(), x);
                }
                b.tensor(k, v);
            });
            StateSnapshot poisoned = b.build();
            try (Learner p = LearnerSnapshots.restore(poisoned, new InMemoryFastStateStore(), Device.cpu())) {
                LearnOutcome o = p.learn("k", recs[1], 1000);   // a later MID window: must not close the open one
                assertFalse(o.accepted());
                assertTrue(o.reason().startsWith("non-finite"), o.reason());
                StateSnapshot after = LearnerSnapshots.of(p, true);
                Map<String, Long> counters = new LinkedHashMap<>(after.counters());
                assertEquals(1L, counters.remove("rejected"));
                Map<String, Long> expected = new LinkedHashMap<>(poisoned.counters());
                expected.remove("rejected");
                assertEquals(expected, counters);
                assertEquals(poisoned.tensors(), after.tensors(), "weights, moments, accumulators, fast state");
            }
        }
    }

    @Test
    void badInputIsRejectedWithAReasonAndBytesAreBytes() {
        try (Learner l = network(LearnerConfig.defaults().withWarmup(0).withMaxRecordBytes(100), 4)) {
            StateSnapshot before = LearnerSnapshots.of(l, true);
            LearnOutcome empty = l.learn("k", new byte[0], 0);
            assertFalse(empty.accepted());
            assertTrue(empty.reason().contains("empty"), empty.reason());
            LearnOutcome big = l.learn("k", new byte[101], 0);
            assertFalse(big.accepted());
            assertTrue(big.reason().contains("101 bytes") && big.reason().contains("cap of 100 bytes"), big.reason());
            assertEquals(before.tensors(), LearnerSnapshots.of(l, true).tensors());
            byte[] binary = new byte[100];
            for (int i = 0; i < binary.length; i++) {
                binary[i] = (byte) (i * 37 + 200);   // NULs, invalid UTF-8, every high byte
            }
            LearnOutcome o = l.learn("k", binary, 0);
            assertTrue(o.accepted());
            assertTrue(Double.isFinite(o.bitsPerByte()));
            assertNotEquals(before.tensors(), LearnerSnapshots.of(l, true).tensors(), "binary bytes are learned");
            assertEquals(2, l.recordsRejected());
        }
    }

    @Test
    void aDamagedCheckpointIsRefusedAndNothingIsLoaded(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.ckpt");
        StateCodec codec = new StateCodec();
        try (Learner l = network(LearnerConfig.defaults().withWarmup(0), 5)) {
            l.learn("k", records(1, 32, 1)[0], 0);
            codec.writeFile(file, LearnerSnapshots.of(l, true));
        }
        byte[] all = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(all, all.length - 10));
        IOException truncated = assertThrows(IOException.class, () -> codec.readFile(file));
        assertTrue(truncated.getMessage().contains(file.toString()), truncated.getMessage());
        all[all.length / 2] ^= 0x5a;
        Files.write(file, all);
        assertThrows(StateFormatException.class, () -> codec.readFile(file));

        StateSnapshot good;
        try (Learner l = network(LearnerConfig.defaults().withWarmup(0), 5)) {
            l.learn("k", records(1, 32, 1)[0], 0);
            good = LearnerSnapshots.of(l, true);
        }
        StateSnapshot.Builder b = StateSnapshot.builder();
        good.meta().forEach(b::meta);
        good.counters().forEach(b::counter);
        good.tensors().forEach((k, v) -> {
            if (!k.equals("opt.LOW.v")) {
                b.tensor(k, v);
            }
        });
        InMemoryFastStateStore store = new InMemoryFastStateStore();
        StateFormatException missing = assertThrows(StateFormatException.class,
                () -> LearnerSnapshots.restore(b.build(), store, Device.cpu()));
        assertTrue(missing.getMessage().contains("opt.LOW.v"), missing.getMessage());
        assertEquals(0, store.size(), "nothing half-loaded");
    }

    @Test
    void learningIsDeterministic() {
        byte[][] recs = records(6, 32, 9);
        StateSnapshot[] s = new StateSnapshot[2];
        for (int run = 0; run < 2; run++) {
            try (Learner l = network(LearnerConfig.defaults().withWarmup(2).withWindow(2, 0), 11)) {
                for (int i = 0; i < recs.length; i++) {
                    l.learn("k", recs[i], i);
                }
                l.checkpoint();
                s[run] = LearnerSnapshots.of(l, true);
            }
        }
        assertEquals(s[0], s[1]);
    }

    /**
     * Regression: DJL's scalar ops (x.mul(2.0)) free their scalar while autograd still holds it;
     * under garbage collection the backward read freed memory and produced sporadic NaN gradients.
     */
    @ParameterizedTest(name = "learning is deterministic while the garbage collector runs (float64={0})")
    @ValueSource(booleans = {false, true})
    void learningIsDeterministicWhileTheGarbageCollectorRuns(boolean float64) throws Exception {
        byte[][] recs = records(12, 48, 12);
        StateSnapshot quiet = run(recs, float64);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread gc = new Thread(() -> {
            while (!stop.get()) {
                System.gc();
            }
        });
        gc.start();
        try {
            assertEquals(quiet, run(recs, float64));
        } finally {
            stop.set(true);
            gc.join();
        }
    }

    private static StateSnapshot run(byte[][] recs, boolean float64) {
        try (Learner l = Learner.create(TINY.withChunk(4).withFloat64(float64),
                // the network alone: the regression is in the engine's autograd; the context level only adds time
                LearnerConfig.defaults().withWarmup(6).withWindow(4, 0).withContextMode("off"), 13,
                new InMemoryFastStateStore(), Device.cpu())) {
            for (int i = 0; i < recs.length; i++) {
                assertTrue(l.learn("k" + i % 3, recs[i], i).accepted(), "record " + i);
            }
            return LearnerSnapshots.of(l, true);
        }
    }

    @Test
    void onARepetitiveStreamBitsPerByteFallFarBelowEightAndBelowAFrozenModel() {
        String[] facts = {"the capital of zorbia is quelt. ", "error 42 in module fen at line 7. ",
                "user ada logged in from host vex. ", "the code of mira is k3x9pq. "};
        byte[][] recs = new byte[160][];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < recs.length; i++) {
            StringBuilder sb = new StringBuilder();
            while (sb.length() < 64) {
                sb.append(facts[r.nextInt(facts.length)]);
            }
            recs[i] = sb.substring(0, 64).getBytes(StandardCharsets.US_ASCII);
        }
        double learned = tailBits(network(LearnerConfig.defaults().withWarmup(40), 1), recs);
        double frozen = tailBits(network(LearnerConfig.defaults().withRates(0, 0, 0), 1), recs);
        System.out.printf("repetitive stream, last 40 records: learner %.3f bits/byte, frozen %.3f%n", learned, frozen);
        assertTrue(learned < 3.0, "learner " + learned + " bits/byte");
        assertTrue(learned < frozen - 2.0, "learner " + learned + " vs frozen " + frozen);
    }

    private static double tailBits(Learner l, byte[][] recs) {
        try (l) {
            double sum = 0;
            for (int i = 0; i < recs.length; i++) {
                LearnOutcome o = l.learn("k" + i % 4, recs[i], i);
                if (i >= recs.length - 40) {
                    sum += o.bitsPerByte();
                }
                if (i % 64 == 63) {
                    l.checkpoint();
                }
            }
            return sum / 40;
        }
    }
}

package org.hopestreams.learn;

import ai.djl.Device;
import org.hopestreams.context.ContextModel;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The learner's contract (MODEL.md checks) with the exact-context level on, in each of its modes. */
class ContextLevelLearnerTest {
    /**
     * {@code mode}, {@code mode:selection} or {@code mode:selection:training} (the mixer's weight
     * selection, default match, and which sets learn, default selected).
     */
    static LearnerConfig withContext(String mode) {
        String[] m = mode.split(":");
        return LearnerConfig.defaults().withWarmup(4).withWindow(3, 0)
                .withContext(m[0], "1,2,3,4,6,12", 1 << 12, 1 << 14, 0.01)
                .withMixerSelect(m.length > 1 ? m[1] : "match").withMixerTrain(m.length > 2 ? m[2] : "selected");
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Text with repeats, so that contexts recur within and across records. */
    static byte[][] records(int n) {
        String[] words = {"alpha ", "beta ", "gamma ", "the capital of Zorbia is Quelt. ", "delta ", "event 42 ok\n"};
        byte[][] out = new byte[n][];
        for (int i = 0; i < n; i++) {
            StringBuilder b = new StringBuilder();
            for (int j = 0; j < 6; j++) {
                b.append(words[(i * 7 + j * 3) % words.length]);
            }
            out[i] = utf8(b.toString());
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"mix", "ppm-mix", "ppm-key", "ppm-global", "mix:match+class", "ppm-mix:match+class",
            "mix:match+class:selected+keyless"})
    void saveLoadContinueEqualsNeverStopping(String mode) throws Exception {
        assertResumesExactly(withContext(mode), null);
    }

    /** The same with models small enough to fill and prune (or clear) before the save and again after it. */
    @ParameterizedTest
    @ValueSource(strings = {"prune", "prune-global", "clear"})
    void aFullLevelResumesExactlyUnderEachOverflowPolicy(String overflow) throws Exception {
        LearnerConfig lc = withContext("mix:match+class").withContext("mix", "1,2,3,4,6,12", 120, 300, 0.01)
                .withContextOverflow(overflow);
        assertResumesExactly(lc, a -> assertTrue(a.contextLevel().global().restarts() > 0,
                "the global model filled before the save"));
    }

    private static void assertResumesExactly(LearnerConfig lc, java.util.function.Consumer<Learner> beforeSave)
            throws Exception {
        byte[][] recs = records(24);
        try (Learner a = LearnerContractTest.tiny(lc, 1)) {
            for (int i = 0; i < 10; i++) {
                assertTrue(a.learn("k" + i % 2, recs[i], i).accepted());
                if (i % 7 == 6) {
                    a.checkpoint();
                }
            }
            if (beforeSave != null) {
                beforeSave.accept(a);
            }
            StateCodec codec = new StateCodec(4096);
            try (Learner b = LearnerSnapshots.restore(codec.decode(codec.encode(LearnerSnapshots.of(a, true))),
                    new InMemoryFastStateStore(), Device.cpu())) {
                assertNotNull(b.contextLevel());
                List<Double> bitsA = new ArrayList<>();
                List<Double> bitsB = new ArrayList<>();
                for (int i = 10; i < 24; i++) {
                    bitsA.add(a.learn("k" + i % 3, recs[i], i).bitsPerByte());
                    bitsB.add(b.learn("k" + i % 3, recs[i], i).bitsPerByte());
                    if (i % 7 == 6) {
                        a.checkpoint();
                        b.checkpoint();
                    }
                }
                assertEquals(bitsA, bitsB);
                assertEquals(LearnerSnapshots.of(a, true), LearnerSnapshots.of(b, true));
            }
        }
    }

    /**
     * The groups a commit writes ({@link LearnerSnapshots#commitGroups}: the global model as a base and a journal of
     * deltas), kept as a store keeps them, restore a learner equal to the one that never stopped, at any commit;
     * the restored one continues the journal (its own later commits restore equal too). {@code bound:overflow}:
     * the global model's bound (a small one fills, and is pruned or cleared, between commits).
     */
    @ParameterizedTest
    @ValueSource(strings = {"16384:clear", "300:prune"})
    void aLearnerRestoredFromItsCommitsEqualsOneThatNeverStopped(String bound) throws Exception {
        String[] b = bound.split(":");
        LearnerConfig lc = withContext("mix").withContext("mix", "1,2,3,4,6,12", 120, Integer.parseInt(b[0]), 0.01)
                .withContextOverflow(b[1]);
        byte[][] recs = records(24);
        StateCodec codec = new StateCodec(4096);
        java.util.Map<StateGroup, List<byte[]>> storeA = new java.util.EnumMap<>(StateGroup.class);
        int maxDeltas = 0;
        try (Learner a = LearnerContractTest.tiny(lc, 1)) {
            // A primed global model, so that a commit's delta is small beside the base (the first commit writes it).
            java.util.Random r = new java.util.Random(3);
            byte[] text = new byte[40_000];
            for (int i = 0; i < text.length; i++) {
                text[i] = (byte) (i % 7 == 6 ? ' ' : 'a' + r.nextInt(12));
            }
            LearnerSnapshots.primeGlobal(a.contextLevel().global(), text, text.length);
            Learner resumed = null;
            java.util.Map<StateGroup, List<byte[]>> storeB = null;
            try {
                for (int i = 0; i < recs.length; i++) {
                    assertTrue(a.learn("k" + i % 3, recs[i], i).accepted());
                    if (resumed != null) {
                        resumed.learn("k" + i % 3, recs[i], i);
                        assertEquals(a.score("k0", recs[0]), resumed.score("k0", recs[0]), "record " + i);
                    }
                    if (i % 2 == 1) {
                        commit(a, storeA, codec);
                        maxDeltas = Math.max(maxDeltas, a.contextLevel().journal().deltas());
                        if (i % 6 == 5) {
                            try (Learner c = restored(storeA, a, codec)) {
                                assertEquals(LearnerSnapshots.of(a, true), LearnerSnapshots.of(c, true),
                                        "record " + i + ": the committed groups restore the live learner");
                            }
                        }
                        if (resumed != null) {
                            commit(resumed, storeB, codec);
                            assertEquals(storeA.keySet(), storeB.keySet());
                        }
                    }
                    if (i == 11) {
                        storeB = new java.util.EnumMap<>(storeA);
                        resumed = restored(storeB, a, codec);
                    }
                }
                assertEquals(LearnerSnapshots.of(a, true), LearnerSnapshots.of(resumed, true));
                try (Learner c = restored(storeB, resumed, codec)) {
                    assertEquals(LearnerSnapshots.of(a, true), LearnerSnapshots.of(c, true),
                            "the resumed learner's own commits restore it too");
                }
            } finally {
                if (resumed != null) {
                    resumed.close();
                }
            }
            if (b[0].equals("300")) {
                assertTrue(a.contextLevel().global().restarts() > 1, "the global model filled");
            } else {
                assertTrue(maxDeltas >= 2, "commits wrote deltas, not only bases: " + maxDeltas);
            }
        }
    }

    /** A commit as {@link org.hopestreams.stream.HopeProcessor} makes it: the dirty groups' chunks replace the stored ones. */
    private static void commit(Learner l, java.util.Map<StateGroup, List<byte[]>> store, StateCodec codec) {
        LearnerSnapshots.commitGroups(l, l.dirtyGroups()).forEach((g, s) -> store.put(g, codec.encode(s)));
        l.clearDirty();
    }

    /** A learner from the stored groups, with copies of {@code live}'s fast states (their own store, as a task's). */
    private static Learner restored(java.util.Map<StateGroup, List<byte[]>> store, Learner live, StateCodec codec)
            throws Exception {
        List<StateSnapshot> groups = new ArrayList<>();
        for (List<byte[]> chunks : store.values()) {
            groups.add(codec.decode(chunks));
        }
        InMemoryFastStateStore fast = new InMemoryFastStateStore();
        for (var e : live.fastStates().entries()) {
            fast.put(e.getKey(), LearnerSnapshots.fastState(codec.decode(codec.encode(
                    LearnerSnapshots.fastState(e.getValue()))), live.config(), e.getKey()));
        }
        return LearnerSnapshots.restore(groups, fast, Device.cpu());
    }

    @Test
    void theStoredGroupsRestoreTheLevelAndTheKeysContextsTravelWithTheirFastState() throws Exception {
        byte[][] recs = records(8);
        try (Learner a = LearnerContractTest.tiny(withContext("mix"), 1)) {
            for (int i = 0; i < 8; i++) {
                a.learn("k" + i % 2, recs[i], i);
            }
            assertTrue(a.dirtyGroups().contains(StateGroup.CONTEXT));
            InMemoryFastStateStore fast = new InMemoryFastStateStore();
            for (var e : a.fastStates().entries()) {
                assertNotNull(e.getValue().context(), "every learned key has its context");
                StateSnapshot s = LearnerSnapshots.fastState(e.getValue());
                fast.put(e.getKey(), LearnerSnapshots.fastState(new StateCodec().decode(new StateCodec().encode(s)),
                        a.config(), e.getKey()));
            }
            try (Learner b = LearnerSnapshots.restore(
                    LearnerSnapshots.groups(a, java.util.EnumSet.allOf(StateGroup.class)).values(), fast, Device.cpu())) {
                assertEquals(a.score("k0", recs[3]), b.score("k0", recs[3]));
                assertEquals(a.learn("k1", recs[2], 9).bitsPerByte(), b.learn("k1", recs[2], 9).bitsPerByte());
            }
        }
    }

    @Test
    void offIsTheNetworkAloneAndStoresNoContext() {
        try (Learner l = LearnerContractTest.tiny(LearnerConfig.defaults().withWarmup(2).withContextMode("off"), 1);
             Learner same = LearnerContractTest.tiny(LearnerConfig.defaults().withWarmup(2).withContextMode("off"), 1)) {
            assertNull(l.contextLevel());
            byte[][] recs = records(3);
            for (byte[] r : recs) {
                assertEquals(l.learn("k", r, 0).bitsPerByte(), same.learn("k", r, 0).bitsPerByte());
            }
            assertNull(l.fastStates().get("k").context());
            assertTrue(LearnerSnapshots.of(l, true).tensors().keySet().stream().noneMatch(n -> n.contains("context")));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mix", "ppm-mix", "mix:match+class"})
    void scoringAndCompletingChangeNothing(String mode) {
        try (Learner l = LearnerContractTest.tiny(withContext(mode), 2)) {
            byte[][] recs = records(8);
            for (int i = 0; i < 8; i++) {
                l.learn("k" + i % 2, recs[i], i);
            }
            StateSnapshot before = LearnerSnapshots.of(l, true);
            double s1 = l.score("k0", recs[0]);
            double s2 = l.score("unknown key", recs[1]);
            byte[] greedy = l.complete("k1", utf8("the capital"), 20, 0, 1);
            byte[] sampled = l.complete("k1", utf8("the capital"), 20, 1.0, 1);
            assertEquals(20, greedy.length);
            assertEquals(20, sampled.length);
            assertTrue(Double.isFinite(s1) && Double.isFinite(s2));
            assertEquals(before, LearnerSnapshots.of(l, true));
            assertEquals(s1, l.score("k0", recs[0]));
            assertArrayEquals(greedy, l.complete("k1", utf8("the capital"), 20, 0, 1));
            assertEquals(2, l.fastStates().size());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mix", "mix:match+class"})
    void aFactSeenOnceIsCompletedUnderItsKeyAndTheKeysAnswerWins(String mode) {
        try (Learner l = LearnerContractTest.tiny(withContext(mode), 3)) {
            byte[][] background = records(12);
            for (int i = 0; i < 12; i++) {
                l.learn("other", background[i], i);
            }
            for (int k = 0; k < 4; k++) {
                l.learn("user/" + k, utf8("hello. my locker code is " + (4711 + 1111 * k) + ". bye."), 20 + k);
            }
            for (int i = 0; i < 4; i++) {
                l.learn("other", background[i], 30 + i);
            }
            for (int k = 0; k < 4; k++) {
                byte[] got = l.complete("user/" + k, utf8(" my locker code is "), 4, 0, 0);
                assertEquals(Integer.toString(4711 + 1111 * k), new String(got, StandardCharsets.UTF_8),
                        "key user/" + k + " recalls its own code after one exposure");
            }
        }
    }

    @Test
    void aStoredLevelFollowsAChangedConfigurationInsteadOfFailing() throws Exception {
        byte[][] recs = records(6);
        try (Learner a = LearnerContractTest.tiny(withContext("mix"), 1)) {
            for (int i = 0; i < 6; i++) {
                a.learn("k", recs[i], i);
            }
            StateSnapshot s = LearnerSnapshots.of(a, true);
            // Another mode: the global model is kept, the mixer (other inputs) starts afresh.
            try (Learner b = LearnerSnapshots.restore(s, a.learnerConfig().withContextMode("ppm-mix"),
                    new InMemoryFastStateStore(), Device.cpu())) {
                assertEquals(a.contextLevel().global(), b.contextLevel().global());
                assertTrue(Double.isFinite(b.learn("k", recs[0], 7).bitsPerByte()));
            }
            // Another selection (match -> match+class, as an upgrade to the new default): the global model
            // and the matched-length weights are kept, the byte-class sets start at their initial weights.
            try (Learner d = LearnerSnapshots.restore(s, a.learnerConfig().withMixerSelect("match+class"),
                    new InMemoryFastStateStore(), Device.cpu())) {
                assertEquals(a.contextLevel().global(), d.contextLevel().global());
                double[] before = a.contextLevel().mixer().weights();
                double[] after = d.contextLevel().mixer().weights();
                assertArrayEquals(before, java.util.Arrays.copyOf(after, before.length), 0.0);
                assertArrayEquals(new double[after.length - before.length],
                        java.util.Arrays.copyOfRange(after, before.length, after.length), 0.0);
                assertTrue(Double.isFinite(d.learn("k", recs[2], 9).bitsPerByte()));
            }
            // Other orders: a new level, and keys' stored contexts of the old orders are not used.
            LearnerConfig other = a.learnerConfig().withContext("mix", "1,2,3", 1 << 10, 1 << 12, 0.01);
            try (Learner c = LearnerSnapshots.restore(s, other, new InMemoryFastStateStore(), Device.cpu())) {
                assertEquals(0, c.contextLevel().global().size());
                assertTrue(c.learn("k", recs[1], 8).accepted());
                assertArrayEquals(new int[] {1, 2, 3}, c.fastStates().get("k").context().model().orders());
            }
        }
    }

    @Test
    void aPrimedLevelStartsKnowingItsTextStopsAtHalfItsBoundAndResumesExactly() throws Exception {
        LearnerConfig lc = withContext("mix");
        StringBuilder t = new StringBuilder();
        for (int i = 0; t.length() < 200_000; i++) {
            t.append("log line ").append(i).append(": service ").append(i % 7 == 0 ? "payments" : "search")
                    .append(" answered in ").append(i * 37 % 1000).append(" ms\n");
        }
        byte[] text = utf8(t.toString());
        byte[] probe = utf8("log line 99999: service search answered in 63 ms\n");
        try (Learner fresh = LearnerContractTest.tiny(lc, 5)) {
            StateSnapshot start = LearnerSnapshots.of(fresh, false);
            StateSnapshot primed = LearnerSnapshots.withPrimedContext(start, lc, text);
            int half = lc.contextConfig().globalContexts() / 2;
            try (Learner a = LearnerSnapshots.restore(primed, new InMemoryFastStateStore(), Device.cpu())) {
                int size = a.contextLevel().global().size();
                assertTrue(size >= half && size < half + 64, "primed to half the bound (" + half + "): " + size);
                assertEquals(0, a.contextLevel().global().restarts());
                double primedBits = a.score("new key", probe);
                double freshBits = fresh.score("new key", probe);
                assertTrue(primedBits < freshBits - 1, "primed " + primedBits + " vs fresh " + freshBits + " bits per byte");
                // the priming is state like any other: save -> load -> continue equals never stopping
                byte[][] recs = records(8);
                for (int i = 0; i < 4; i++) {
                    a.learn("k", recs[i], i);
                }
                StateCodec codec = new StateCodec(4096);
                try (Learner b = LearnerSnapshots.restore(codec.decode(codec.encode(LearnerSnapshots.of(a, true))),
                        new InMemoryFastStateStore(), Device.cpu())) {
                    for (int i = 4; i < 8; i++) {
                        assertEquals(a.learn("k", recs[i], i).bitsPerByte(), b.learn("k", recs[i], i).bitsPerByte());
                    }
                    assertEquals(LearnerSnapshots.of(a, true), LearnerSnapshots.of(b, true));
                }
            }
            // the network-only configuration ignores a primed level, as any stored level
            try (Learner off = LearnerSnapshots.restore(primed, lc.withContextMode("off"), new InMemoryFastStateStore(),
                    Device.cpu())) {
                assertNull(off.contextLevel());
            }
            assertThrows(IllegalArgumentException.class,
                    () -> LearnerSnapshots.withPrimedContext(start, lc.withContextMode("off"), text));
        }
    }

    /**
     * {@code selected+keyless}: while a key that matched learns, the weight sets a key that knows
     * nothing would use learn too (a second step), and those are the sets a fresh key's queries mix
     * with; {@code selected} leaves them where they started. The option travels in snapshots.
     */
    @Test
    void keylessTrainingTeachesTheSetsAFreshKeyUses() throws Exception {
        byte[][] recs = records(12);
        double[] start;
        double[][] after = new double[2][];
        String[] trains = {"selected", "selected+keyless"};
        for (int t = 0; t < 2; t++) {
            LearnerConfig lc = withContext("mix:match:" + trains[t]);
            try (Learner l = LearnerContractTest.tiny(lc, 1)) {
                start = l.contextLevel().mixer().weights();
                l.learn("k", recs[0], 0);   // a fresh key: its sets (key bucket 0) learn in both
                double[] afterFirst = l.contextLevel().mixer().weights();
                for (int i = 1; i < recs.length; i++) {
                    l.learn("k", recs[i], i);
                }
                after[t] = l.contextLevel().mixer().weights();
                int changed = 0;
                int n = lc.contextConfig().inputs();
                // the sets of key bucket 0 and global bucket 1..3 (set indices 4..15 in the set order): the key knows
                // nothing, the global model something; one key alone never gets there (global counts what it counts)
                for (int i = 4 * n; i < 16 * n; i++) {
                    changed += after[t][i] != afterFirst[i] ? 1 : 0;
                }
                if (t == 0) {
                    assertEquals(0, changed, "selected: a key that matched does not train the fresh-key sets");
                } else {
                    assertTrue(changed > 0, "selected+keyless: the fresh-key sets learn from a matching key's bytes");
                }
                assertTrue(!java.util.Arrays.equals(start, after[t]));
                StateSnapshot s = LearnerSnapshots.of(l, true);
                try (Learner b = LearnerSnapshots.restore(s, new InMemoryFastStateStore(), Device.cpu())) {
                    assertEquals(trains[t], b.learnerConfig().mixerTrain());
                    assertEquals(lc.contextConfig().train(), b.contextLevel().config().train());
                }
            }
        }
        java.util.Map<String, String> old = LearnerConfig.defaults().toMap();
        old.remove("mixerTrain");
        assertEquals("selected", LearnerConfig.fromMap(old).mixerTrain(), "a snapshot from before the option");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> withContext("mix").withMixerTrain("all"))
                .getMessage().contains("all"));
    }

    @Test
    void theOverflowPolicyIsConfigurationAndSnapshotsWithoutItKeepClearing() throws Exception {
        assertEquals("prune-global", LearnerConfig.defaults().contextOverflow());
        try (Learner d = LearnerContractTest.tiny(withContext("mix").withContextOverflow("prune-global"), 1)) {
            d.learn("k", records(1)[0], 0);
            assertEquals(ContextModel.Overflow.PRUNE, d.contextLevel().global().overflow());
            assertEquals(ContextModel.Overflow.CLEAR, d.fastStates().get("k").context().model().overflow());
        }
        java.util.Map<String, String> old = LearnerConfig.defaults().toMap();
        old.remove("contextOverflow");
        assertEquals("clear", LearnerConfig.fromMap(old).contextOverflow(), "a snapshot from before the option clears");
        LearnerConfig lc = withContext("mix").withContextOverflow("prune");
        byte[][] recs = records(3);
        try (Learner a = LearnerContractTest.tiny(lc, 1)) {
            a.learn("k", recs[0], 0);
            assertEquals(ContextModel.Overflow.PRUNE, a.contextLevel().global().overflow());
            assertEquals(ContextModel.Overflow.PRUNE, a.fastStates().get("k").context().model().overflow());
            StateSnapshot s = LearnerSnapshots.of(a, true);
            try (Learner b = LearnerSnapshots.restore(s, new InMemoryFastStateStore(), Device.cpu());
                 Learner c = LearnerSnapshots.restore(s, lc.withContextOverflow("clear"), new InMemoryFastStateStore(),
                         Device.cpu())) {
                assertEquals(ContextModel.Overflow.PRUNE, b.contextLevel().global().overflow());
                b.learn("k", recs[1], 1);
                assertEquals(ContextModel.Overflow.PRUNE, b.fastStates().get("k").context().model().overflow(),
                        "a key's decoded context follows the configuration");
                assertEquals(ContextModel.Overflow.CLEAR, c.contextLevel().global().overflow());
            }
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> lc.withContextOverflow("lru")).getMessage()
                .contains("lru"));
    }

    @Test
    void aContextConfigurationThatDoesNotParseIsRefusedWithTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LearnerConfig.defaults().withContext("mix", "1,x", 10, 10, 0.01));
        assertTrue(e.getMessage().contains("1,x"), e.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LearnerConfig.defaults().withContextMode("paq"))
                .getMessage().contains("paq"));
    }
}

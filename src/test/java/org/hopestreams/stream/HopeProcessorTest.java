package org.hopestreams.stream;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.common.serialization.Serdes;
import org.hopestreams.avro.CheckpointEvent;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.model.FastState;
import org.hopestreams.model.HostTensor;
import org.hopestreams.store.ModelStore;
import org.hopestreams.store.ModelStoreBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HOPE processor alone, with {@link MockProcessorContext}, real RocksDB stores (not logged) and
 * punctuations fired by hand: the exact cadence of every level, restore from the stores, and that a
 * poison record leaves every store byte-identical.
 */
class HopeProcessorTest {
    @TempDir
    Path dir;

    private final List<StateStore> stores = new ArrayList<>();
    private HopeProcessor processor;
    private Map<String, Object> config;

    @AfterEach
    void close() {
        if (processor != null) {
            processor.close();
        }
        stores.forEach(StateStore::close);
    }

    private MockProcessorContext<String, Object> context(Map<String, Object> overrides) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, "processor-test");
        m.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        m.put(HopeStreamsConfig.MODEL_PRESET, "tiny");
        m.put(HopeStreamsConfig.WARMUP_RECORDS, "0");
        m.put(HopeStreamsConfig.WINDOW_MS, "1000");
        m.put(HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, "60000");
        m.put(HopeStreamsConfig.CHECKPOINTS_KEEP, "2");
        m.putAll(overrides);
        config = m;
        Properties p = new Properties();
        p.putAll(m);
        MockProcessorContext<String, Object> ctx = new MockProcessorContext<>(p, new TaskId(0, 0), dir.toFile());
        if (stores.isEmpty()) {
            stores.add(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(HopeProcessor.FAST_MEMORY),
                    Serdes.Bytes(), Serdes.ByteArray()).withLoggingDisabled().build());
            stores.add(new ModelStoreBuilder(HopeProcessor.MODEL).withLoggingDisabled().build());
            stores.add(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(HopeProcessor.CHECKPOINTS),
                    Serdes.Bytes(), Serdes.ByteArray()).withLoggingDisabled().build());
            for (StateStore s : stores) {
                s.init(ctx.getStateStoreContext(), s);
            }
        }
        stores.forEach(ctx::addStateStore);
        return ctx;
    }

    private HopeProcessor start(MockProcessorContext<String, Object> ctx, Map<String, Object> overrides) {
        return start(ctx, overrides, new LearnerHub());
    }

    private HopeProcessor start(MockProcessorContext<String, Object> ctx, Map<String, Object> overrides,
                                LearnerHub hub) {
        Map<String, Object> m = new LinkedHashMap<>(config);
        m.putAll(overrides);
        HopeProcessor hp = new HopeProcessor(new HopeStreamsConfig(m), hub);
        hp.init(ctx);
        return hp;
    }

    private static Record<String, LearnRecord> record(String key, String text, long time, long offset) {
        return new Record<>(key, new LearnRecord("id" + offset, key, text.getBytes(StandardCharsets.UTF_8), time, 0, 1,
                "in", 0, offset), time);
    }

    private ModelStore model() {
        return (ModelStore) stores.get(1);
    }

    @Test
    void everyLevelStepsAtItsOwnCadence() {
        MockProcessorContext<String, Object> ctx = context(Map.of());
        processor = start(ctx, Map.of());
        assertEquals(1, ctx.scheduledPunctuators().size());
        MockProcessorContext.CapturedPunctuator low = ctx.scheduledPunctuators().get(0);
        assertEquals(PunctuationType.WALL_CLOCK_TIME, low.getType());
        assertEquals(Duration.ofMillis(60000), low.getInterval());

        long version = 0;
        for (int i = 0; i < 24; i++) {
            long t = 300L * i;
            processor.process(record(i % 2 == 0 ? "a" : "b", "record number " + i, t, i));
            long[] steps = processor.learner().levelSteps();
            assertEquals(i + 1, steps[0], "HIGH steps on every record");
            assertEquals(t / 1000, steps[1], "MID steps when a record opens a new 1 s window, record " + i);
            assertEquals(version, steps[2], "LOW only on the punctuation");
            if (i % 10 == 9) {
                low.getPunctuator().punctuate(1000L * i);
                version++;
                assertEquals(version, processor.learner().levelSteps()[2]);
                low.getPunctuator().punctuate(1000L * i + 1);
                assertEquals(version, processor.learner().levelSteps()[2], "nothing pending: no step");
            }
        }
        List<Object> out = ctx.forwarded().stream().map(f -> (Object) f.record().value()).toList();
        List<CheckpointEvent> cps = out.stream().filter(o -> o instanceof CheckpointEvent).map(o -> (CheckpointEvent) o)
                .toList();
        assertEquals(List.of(1L, 2L), cps.stream().map(CheckpointEvent::getLowSteps).toList());
        assertEquals(9000L, cps.get(0).getWallTime().toEpochMilli());
        assertEquals(24, out.stream().filter(o -> o instanceof LearningEvent).count());
        assertEquals(List.of(1L, 2L), processor.storedVersions(), "checkpoints store keeps the last 2 LOW versions");
    }

    @Test
    void recordCountWindowsAndStreamTimeCheckpoints() {
        Map<String, Object> o = Map.of(HopeStreamsConfig.WINDOW_MS, "0", HopeStreamsConfig.WINDOW_RECORDS, "3",
                HopeStreamsConfig.CHECKPOINT_CLOCK, "stream", HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, "2000");
        MockProcessorContext<String, Object> ctx = context(o);
        processor = start(ctx, o);
        assertTrue(ctx.scheduledPunctuators().isEmpty(), "stream-time checkpoints need no wall-clock punctuation");
        ctx.setCurrentSystemTimeMs(1_234_567L);
        for (int i = 0; i < 20; i++) {
            long t = 450L * i;
            processor.process(record("k", "text " + i, t, i));
            long[] steps = processor.learner().levelSteps();
            assertEquals((i + 1) / 3, steps[1], "MID every 3 records");
            assertEquals(t / 2000, steps[2], "LOW when a record opens a new 2 s period, record " + i);
        }
        assertEquals(4, processor.learner().consolidations());
        List<CheckpointEvent> cps = ctx.forwarded().stream().map(f -> f.record().value())
                .filter(v -> v instanceof CheckpointEvent).map(v -> (CheckpointEvent) v).toList();
        assertEquals(List.of(2250L, 4050L, 6300L, 8100L), cps.stream().map(c -> c.getStreamTime().toEpochMilli()).toList(),
                "each at the record that opened the period");
        assertEquals(1_234_567L, cps.get(0).getWallTime().toEpochMilli());
        assertEquals(List.of(3L, 4L), processor.storedVersions());
    }

    @Test
    void aRestartedProcessorContinuesFromTheStoresAsIfNeverStopped() {
        MockProcessorContext<String, Object> ctx = context(Map.of());
        processor = start(ctx, Map.of());
        for (int i = 0; i < 7; i++) {
            processor.process(record("k" + (i % 3), "first part " + i, 400L * i, i));
        }
        model().flushCache();   // the commit
        var expected = LearnerSnapshots.of(processor.learner(), true);
        processor.close();

        processor = start(context(Map.of()), Map.of());
        assertEquals(expected, LearnerSnapshots.of(processor.learner(), true),
                "weights, moments, accumulators, counters, clocks and fast memories restored bit for bit");
        processor.process(record("k1", "after the restart", 4000, 7));
        assertEquals(8, processor.learner().levelSteps()[0]);
    }

    /**
     * The exact-context level's global model in the model store: a store written before journals (the whole model
     * and the mixer in CONTEXT, no CONTEXT_JOURNAL) restores exactly; the first commit that learned writes a base
     * and a journal, the next ones only the journal (CONTEXT's chunks stay as they are, and a commit writes a small
     * part of the base's bytes); every restart continues from the stores exactly.
     */
    @Test
    void aStoreWrittenBeforeJournalsRestoresAndLaterCommitsWriteTheJournalNotTheBase() throws Exception {
        String base = org.hopestreams.learn.StateGroup.CONTEXT.name();
        String journal = org.hopestreams.learn.StateGroup.CONTEXT_JOURNAL.name();
        MockProcessorContext<String, Object> ctx = context(Map.of());
        processor = start(ctx, Map.of());
        for (int i = 0; i < 4; i++) {
            processor.process(record("k" + (i % 2), "first part " + i, 400L * i, i));
        }
        // A global model that has seen more than a few records, so that a commit's delta is small beside it.
        java.util.Random r = new java.util.Random(3);
        byte[] text = new byte[20_000];
        for (int i = 0; i < text.length; i++) {
            text[i] = (byte) (i % 7 == 6 ? ' ' : 'a' + r.nextInt(12));
        }
        LearnerSnapshots.primeGlobal(processor.learner().contextLevel().global(), text, text.length);
        // The commit as the code before journals wrote it: every group, the mixer beside the global model.
        Map<String, org.hopestreams.store.StateSnapshot> old = new LinkedHashMap<>();
        var all = LearnerSnapshots.groups(processor.learner(), java.util.EnumSet.allOf(
                org.hopestreams.learn.StateGroup.class));
        all.forEach((g, st) -> {
            if (g == org.hopestreams.learn.StateGroup.CONTEXT) {
                var b = org.hopestreams.store.StateSnapshot.builder();
                st.tensors().forEach(b::tensor);
                all.get(org.hopestreams.learn.StateGroup.CONTEXT_JOURNAL).tensors().forEach(b::tensor);
                old.put(g.name(), b.build());
            } else if (g != org.hopestreams.learn.StateGroup.CONTEXT_JOURNAL) {
                old.put(g.name(), st);
            }
        });
        model().attach(() -> old);
        model().flushCache();
        var expected = LearnerSnapshots.of(processor.learner(), true);
        processor.close();
        assertEquals(java.util.Set.of("context.global", "context.mixer"), model().read().get(base).tensors().keySet());
        assertTrue(!model().read().containsKey(journal));

        processor = start(context(Map.of()), Map.of());
        assertEquals(expected, LearnerSnapshots.of(processor.learner(), true), "restored from a store without journal");
        processor.process(record("k0", "after the restart", 2000, 4));
        model().flushCache();
        var stored = model().read();
        assertEquals(java.util.Set.of("context.global"), stored.get(base).tensors().keySet(), "a new base");
        assertEquals(java.util.Set.of("context.mixer", "context.journal"), stored.get(journal).tensors().keySet());
        long baseBytes = stored.get(base).tensor("context.global").bytes().length;
        byte[] baseChunk = model().rawEntries().stream().filter(e -> e.key.equals(
                org.hopestreams.store.ChunkedValues.chunkKey(base.getBytes(StandardCharsets.UTF_8), 0)))
                .findFirst().orElseThrow().value;
        for (int i = 5; i < 9; i++) {
            processor.process(record("k" + (i % 3), "then " + i, 400L * i, i));
            model().flushCache();
            byte[] name = journal.getBytes(StandardCharsets.UTF_8);
            long written = model().rawEntries().stream()   // every chunk of the journal's entry: what the commit put
                    .filter(e -> java.util.Arrays.equals(name, java.util.Arrays.copyOf(e.key.get(), e.key.get().length - 4)))
                    .mapToLong(e -> e.value.length).sum();
            assertTrue(written > 0 && written * 8 < baseBytes, "commit " + i + " wrote a context journal of "
                    + written + " bytes, the base is " + baseBytes);
        }
        byte[] baseChunkAfter = model().rawEntries().stream().filter(e -> e.key.equals(
                org.hopestreams.store.ChunkedValues.chunkKey(base.getBytes(StandardCharsets.UTF_8), 0)))
                .findFirst().orElseThrow().value;
        assertArrayEquals(baseChunk, baseChunkAfter, "the base was not rewritten");
        assertTrue(processor.learner().contextLevel().journal().deltas() >= 4, "the journal holds the commits");
        expected = LearnerSnapshots.of(processor.learner(), true);
        processor.close();

        processor = start(context(Map.of()), Map.of());
        assertEquals(expected, LearnerSnapshots.of(processor.learner(), true), "restored from the base and journal");
        processor.process(record("k1", "after the second restart", 4000, 9));
        model().flushCache();
        expected = LearnerSnapshots.of(processor.learner(), false);
        try (var fromStore = LearnerSnapshots.restore(model().read().values(),
                new org.hopestreams.learn.InMemoryFastStateStore(), ai.djl.Device.cpu())) {
            assertEquals(expected, LearnerSnapshots.of(fromStore, false), "the journal continued after the restart");
        }
    }

    /**
     * Kafka Streams closes a task and initialises the same processor instance again (a revived task
     * after a TaskCorruptedException, a resumed one): the second life must write the model store at
     * every commit and continue from what the stores hold, not from the live learner of the first.
     */
    @Test
    void aProcessorInitialisedAgainAfterCloseWritesTheModelStoreAndContinuesFromTheStores() throws Exception {
        MockProcessorContext<String, Object> ctx = context(Map.of());
        processor = start(ctx, Map.of());
        for (int i = 0; i < 5; i++) {
            processor.process(record("k" + (i % 2), "first life " + i, 400L * i, i));
        }
        model().flushCache();   // the last commit of the first life
        var committed = LearnerSnapshots.of(processor.learner(), true);
        processor.close();

        processor.init(context(Map.of()));
        assertEquals(committed, LearnerSnapshots.of(processor.learner(), true),
                "the second life starts from the committed stores");
        for (int i = 5; i < 9; i++) {
            processor.process(record("k" + (i % 2), "second life " + i, 400L * i, i));
        }
        model().flushCache();
        var stored = LearnerSnapshots.restore(model().read().values(), new org.hopestreams.learn.InMemoryFastStateStore(),
                ai.djl.Device.cpu());
        try {
            assertArrayEquals(new long[] {9, 3, 0}, stored.levelSteps(), "the model store holds all 9 records");
            assertEquals(LearnerSnapshots.of(processor.learner(), false), LearnerSnapshots.of(stored, false),
                    "the model store equals the live learner after the commit");
        } finally {
            stored.close();
        }
    }

    /**
     * After a restart the query model must be the whole committed model at once: a task publishes
     * only changed groups at a commit, so past warm-up the first commit after a restart would hold
     * HIGH alone, and a partition without new traffic would publish nothing.
     */
    @Test
    void aRestartedTaskAnswersQueriesAtOnceWithTheModelItCommitted() {
        MockProcessorContext<String, Object> ctx = context(Map.of());
        LearnerHub hub = new LearnerHub();
        processor = start(ctx, Map.of(), hub);
        for (int i = 0; i < 12; i++) {
            processor.process(record("k" + (i % 3), "before the restart " + i, 400L * i, i));
        }
        low(ctx).punctuate(10_000);
        model().flushCache();   // the last commit: MID and LOW stepped, the model is published
        byte[] text = "a question for the model".getBytes(StandardCharsets.UTF_8);
        double before;
        try (var queries = queries(hub)) {
            before = queries.score(0, "k1", text).value();
        }
        processor.close();

        LearnerHub restarted = new LearnerHub();
        processor = start(context(Map.of()), Map.of(), restarted);
        try (var queries = queries(restarted)) {
            var answer = queries.score(0, "k1", text);
            assertEquals(before, answer.value(), 0.0, "the same answer as before the restart, without new traffic");
            assertEquals(processor.learner().modelVersion(), answer.modelVersion());
        }
    }

    private org.hopestreams.serve.QueryEngine queries(LearnerHub hub) {
        @SuppressWarnings("unchecked")
        KeyValueStore<Bytes, byte[]> fast = (KeyValueStore<Bytes, byte[]>) stores.get(0);
        return new org.hopestreams.serve.QueryEngine(hub, () -> fast, ai.djl.Device.cpu());
    }

    private static org.apache.kafka.streams.processor.Punctuator low(MockProcessorContext<String, Object> ctx) {
        return ctx.scheduledPunctuators().get(0).getPunctuator();
    }

    @Test
    void ratesWindowsAndCheckpointsGivenAtStartOverrideTheStoredOnes() throws Exception {
        processor = start(context(Map.of()), Map.of());
        for (int i = 0; i < 4; i++) {
            processor.process(record("k", "stored settings " + i, 400L * i, i));
        }
        model().flushCache();
        processor.close();

        Map<String, Object> changed = Map.of(HopeStreamsConfig.WINDOW_MS, "2000", HopeStreamsConfig.LR_HIGH, "0.01",
                HopeStreamsConfig.CHECKPOINT_CLOCK, "stream", HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, "3000");
        processor = start(context(Map.of()), changed);
        var lc = processor.learner().learnerConfig();
        assertEquals(List.of(2000L, 0.01, 3000L), List.of(lc.windowMillis(), lc.lrHigh(), lc.checkpointMillis()));
        assertEquals(4, processor.learner().levelSteps()[0], "the stored model and counters are kept");
        long before = model().flushStats()[2];
        model().flushCache();
        var stored = model().read().get(org.hopestreams.learn.StateGroup.META.name()).meta();
        assertEquals("2000", stored.get("learner.windowMillis"), "the new settings are stored at the next commit");
        long metaBytes = new org.hopestreams.store.StateCodec().encode(model().read()
                .get(org.hopestreams.learn.StateGroup.META.name())).stream().mapToLong(c -> c.length).sum();
        assertEquals(metaBytes, model().flushStats()[2] - before,
                "the whole model is offered to the store, but only the settings' group changed and is written");
    }

    @Test
    void aPresetThatConflictsWithTheStoredModelIsAnErrorNamingBoth() {
        processor = start(context(Map.of()), Map.of());
        processor.process(record("k", "a tiny model", 0, 0));
        model().flushCache();
        processor.close();
        processor = null;

        var e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> start(context(Map.of()), Map.of(HopeStreamsConfig.MODEL_PRESET, "small")));
        assertTrue(e.getMessage().contains("'small'") && e.getMessage().contains("'tiny'"), e.getMessage());
    }

    @Test
    void aPretrainedCheckpointLearnsLowOnTheConfiguredStreamTimePeriod() throws Exception {
        Path pretrained = dir.resolve("pretrained.ckpt");
        try (var l = org.hopestreams.learn.Learner.create(org.hopestreams.model.HopeConfig.preset("tiny"),
                org.hopestreams.learn.LearnerConfig.defaults().withWarmup(0), 7,
                new org.hopestreams.learn.InMemoryFastStateStore(), ai.djl.Device.cpu())) {
            LearnerSnapshots.save(l, pretrained);   // a pretrain checkpoint: checkpoint period 0
        }
        Map<String, Object> o = Map.of(HopeStreamsConfig.MODEL_INIT, pretrained.toString(),
                HopeStreamsConfig.CHECKPOINT_CLOCK, "stream", HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, "2000");
        MockProcessorContext<String, Object> ctx = context(o);
        ctx.setCurrentSystemTimeMs(1_000L);
        processor = start(ctx, o);
        for (int i = 0; i < 12; i++) {
            processor.process(record("k", "after pretraining " + i, 500L * i, i));
        }
        assertEquals(2, processor.learner().levelSteps()[2], "LOW steps every 2 s of stream time (at 2 s and 4 s)");
    }

    @Test
    void aPoisonRecordLeavesEveryStoreByteIdenticalAndLearningGoesOn() {
        MockProcessorContext<String, Object> ctx = context(Map.of());
        processor = start(ctx, Map.of());
        for (int i = 0; i < 5; i++) {
            processor.process(record("good", "healthy text " + i, 300L * i, i));
        }
        // A key whose stored memory holds a NaN: its next record's loss is not finite.
        FastState fresh = FastState.fresh(processor.learner().config());
        Map<String, HostTensor> t = new LinkedHashMap<>(fresh.tensors());
        HostTensor dm = t.get("blocks.0.dM");
        double[] v = dm.toDoubles();
        v[0] = Double.NaN;
        t.put("blocks.0.dM", HostTensor.ofDoubles(dm.type(), dm.shape(), v));
        processor.learner().fastStates().put("poison", new FastState(t, 'x'));
        model().flushCache();
        Map<String, List<String>> before = dump();
        ctx.resetForwards();

        processor.process(record("poison", "this record cannot be learned", 5000, 5));   // would also close a window
        model().flushCache();
        assertEquals(before, dump(), "fast-memory, model and checkpoints stores unchanged, byte for byte");
        assertEquals(1, ctx.forwarded().size());
        Record<?, ?> dead = ctx.forwarded().get(0).record();
        DeadLetter dl = assertInstanceOf(DeadLetter.class, dead.value());
        assertArrayEquals("this record cannot be learned".getBytes(StandardCharsets.UTF_8), dl.value());
        assertEquals("non-finite", HopeTopologyTest.header(dead.headers(), DeadLetter.REASON));
        assertEquals("learn", HopeTopologyTest.header(dead.headers(), DeadLetter.STAGE));
        assertEquals("5", HopeTopologyTest.header(dead.headers(), DeadLetter.OFFSET));

        processor.process(record("good", "healthy again", 5100, 6));
        assertEquals(6, processor.learner().levelSteps()[0], "the next record is learned");
        assertEquals(2, processor.learner().levelSteps()[1], "and its window closes the open one");
    }

    /**
     * A fast-memory entry this build cannot read (another format version), resets not allowed: each
     * of the key's records is a dead letter naming the key and the problem, the entry stays as it was,
     * other keys keep learning.
     */
    @Test
    void aKeyWhoseMemoryCannotBeReadIsDeadLetteredAndItsEntryKept() {
        MockProcessorContext<String, Object> ctx = context(Map.of());
        List<Boolean> unreadable = new ArrayList<>();
        processor = start(ctx, Map.of(), unreadableListener(unreadable));
        processor.process(record("good", "healthy text", 0, 0));
        processor.process(record("old", "written by another version", 100, 1));
        Bytes first = org.hopestreams.store.ChunkedValues.chunkKey("old".getBytes(StandardCharsets.UTF_8), 0);
        byte[] chunk = fastMemory().get(first).clone();
        java.nio.ByteBuffer.wrap(chunk).putInt(4, 99);   // the chunk header's format version
        fastMemory().put(first, chunk);
        model().flushCache();
        Map<String, List<String>> before = dump();
        ctx.resetForwards();

        processor.process(record("old", "cannot be learned yet", 200, 2));
        processor.process(record("old", "nor this one", 300, 3));
        model().flushCache();
        assertEquals(before, dump(), "every store unchanged, the unreadable entry included");
        assertEquals(2, ctx.forwarded().size());
        Record<?, ?> dead = ctx.forwarded().get(0).record();
        assertInstanceOf(DeadLetter.class, dead.value());
        assertEquals("unreadable-state", HopeTopologyTest.header(dead.headers(), DeadLetter.REASON));
        assertEquals("learn", HopeTopologyTest.header(dead.headers(), DeadLetter.STAGE));
        String message = HopeTopologyTest.header(dead.headers(), DeadLetter.MESSAGE);
        assertTrue(message.contains("'old'") && message.contains("version 99"), message);

        assertEquals(List.of(false, false), unreadable, "counted once per record, as dead-lettered");

        processor.process(record("good", "healthy again", 400, 4));
        assertEquals(3, processor.learner().levelSteps()[0], "other keys keep learning");
    }

    /** The same with resets allowed: the key starts again from the initial memory and the record is learned. */
    @Test
    void aKeyWhoseMemoryCannotBeReadStartsAfreshWhenResetsAreAllowed() {
        Map<String, Object> o = Map.of(HopeStreamsConfig.FAST_STATE_RESET_UNREADABLE, "true");
        MockProcessorContext<String, Object> ctx = context(o);
        List<Boolean> unreadable = new ArrayList<>();
        LearnerHub hub = unreadableListener(unreadable);
        var metrics = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        hub.addListener(new org.hopestreams.serve.Telemetry(metrics));
        processor = start(ctx, o, hub);
        processor.process(record("good", "healthy text", 0, 0));
        fastMemory().put(org.hopestreams.store.ChunkedValues.chunkKey("broken".getBytes(StandardCharsets.UTF_8), 0),
                "not a state at all".getBytes(StandardCharsets.UTF_8));
        ctx.resetForwards();

        processor.process(record("broken", "learned from a fresh memory", 100, 1));
        assertEquals(1, ctx.forwarded().size());
        LearningEvent e = assertInstanceOf(LearningEvent.class, ctx.forwarded().get(0).record().value());
        assertEquals(1L, e.getSourceOffset());
        assertEquals(2, processor.learner().levelSteps()[0]);
        FastState stored = processor.learner().fastStates().get("broken");
        assertEquals(FastState.fresh(processor.learner().config()).tensors().keySet(), stored.tensors().keySet(),
                "the entry holds a readable memory again");
        processor.process(record("broken", "and learned on from it", 200, 2));
        assertEquals(3, processor.learner().levelSteps()[0]);
        assertEquals(List.of(true), unreadable, "one reset, counted");
        assertEquals(1.0, metrics.get("hope.fast.state.unreadable").tag("action", "reset").counter().count());
    }

    /**
     * With {@code hope.keys.ttl.ms}, a wall-clock punctuation deletes the fast memories of keys that had
     * no record for longer than the TTL of stream time; a key that comes back starts afresh.
     */
    @Test
    void theMemoriesOfKeysIdleLongerThanTheTtlAreDeletedByThePunctuation() {
        Map<String, Object> o = Map.of("hope.keys.ttl.ms", "1000");
        MockProcessorContext<String, Object> ctx = context(o);
        List<Long> expired = new ArrayList<>();
        LearnerHub hub = new LearnerHub();
        hub.addListener(new LearnerHub.Listener() {
            @Override
            public void keysExpired(int partition, long keys) {
                expired.add(keys);
            }
        });
        var metrics = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        hub.addListener(new org.hopestreams.serve.Telemetry(metrics));
        processor = start(ctx, o, hub);
        MockProcessorContext.CapturedPunctuator ttl = ctx.scheduledPunctuators().stream()
                .filter(p -> p.getInterval().equals(Duration.ofMillis(1000))).findFirst().orElseThrow();
        assertEquals(PunctuationType.WALL_CLOCK_TIME, ttl.getType());
        processor.process(record("old", "seen at the start", 0, 0));
        processor.process(record("recent", "seen later", 900, 1));
        processor.process(record("now", "the latest record", 1500, 2));
        ttl.getPunctuator().punctuate(10_000L);
        assertEquals(List.of(1L), expired, "only 'old' was idle for more than 1 s of stream time");
        assertEquals(null, processor.learner().fastStates().get("old"));
        assertTrue(keysOf(fastMemory()).stream().noneMatch(k -> k.contains("old")), "every entry of 'old' deleted");
        assertTrue(processor.learner().fastStates().get("recent") != null);
        assertEquals(2, processor.learner().fastStates().size());

        processor.process(record("now", "stream time moves on", 2500, 3));
        ttl.getPunctuator().punctuate(11_000L);
        assertEquals(List.of(1L, 1L), expired, "'recent' idle since 900");
        assertEquals(2.0, metrics.get("hope.keys.expired").counter().count(), "counted in the metrics");
        processor.process(record("old", "back again, from a fresh memory", 2600, 4));
        assertEquals(5, processor.learner().levelSteps()[0]);
        assertEquals(2, processor.learner().fastStates().size());
    }

    private static List<String> keysOf(KeyValueStore<Bytes, byte[]> kv) {
        List<String> out = new ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> it = kv.all()) {
            it.forEachRemaining(e -> out.add(new String(e.key.get(), StandardCharsets.ISO_8859_1)));
        }
        return out;
    }

    /** A hub whose listener notes every unreadable fast memory: whether it was reset. */
    private static LearnerHub unreadableListener(List<Boolean> resets) {
        LearnerHub hub = new LearnerHub();
        hub.addListener(new LearnerHub.Listener() {
            @Override
            public void unreadableState(int partition, boolean reset) {
                resets.add(reset);
            }
        });
        return hub;
    }

    @SuppressWarnings("unchecked")
    private KeyValueStore<Bytes, byte[]> fastMemory() {
        return (KeyValueStore<Bytes, byte[]>) stores.get(0);
    }

    /** Every entry of the three stores, hex, in key order. */
    private Map<String, List<String>> dump() {
        Map<String, List<String>> out = new LinkedHashMap<>();
        HexFormat hex = HexFormat.of();
        for (StateStore s : stores) {
            @SuppressWarnings("unchecked")
            KeyValueStore<Bytes, byte[]> kv = s instanceof ModelStore ? null : (KeyValueStore<Bytes, byte[]>) s;
            List<String> entries = new ArrayList<>();
            if (kv == null) {
                model().rawEntries().forEach(e -> entries.add(hex.formatHex(e.key.get()) + "="
                        + hex.formatHex(e.value)));
            } else {
                try (KeyValueIterator<Bytes, byte[]> it = kv.all()) {
                    while (it.hasNext()) {
                        KeyValue<Bytes, byte[]> e = it.next();
                        entries.add(hex.formatHex(e.key.get()) + "=" + hex.formatHex(e.value));
                    }
                }
            }
            out.put(s.name(), entries);
        }
        return out;
    }
}

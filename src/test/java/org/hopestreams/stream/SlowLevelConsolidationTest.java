package org.hopestreams.stream;

import ai.djl.Device;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.hopestreams.avro.ConsolidationEvent;
import org.hopestreams.avro.ConsolidationKind;
import org.hopestreams.avro.DeltaRef;
import org.hopestreams.learn.InMemoryFastStateStore;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HostTensor;
import org.hopestreams.model.Level;
import org.hopestreams.store.ChunkedValues;
import org.hopestreams.store.StateCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pieces of one model across shards, alone: the merge rules, the delta arithmetic and the rebase, chunking and
 * reassembly of ConsolidationEvents through their serde, a task's side ({@link SlowLevelSync}) with real tiny
 * learners and RocksDB stores, and the configuration's checks.
 */
class SlowLevelConsolidationTest {
    private static final HostTensor.Type F32 = HostTensor.Type.FLOAT32;

    @TempDir
    Path dir;

    private final List<StateStore> stores = new ArrayList<>();

    @AfterEach
    void close() {
        stores.forEach(StateStore::close);
    }

    @Test
    void mergeRulesWeighByRecordsAverageOrSum() {
        List<MergeRule.Contribution> parts = List.of(
                new MergeRule.Contribution(0, 3, Map.of("w", vector(1, 2))),
                new MergeRule.Contribution(4, 1, Map.of("w", vector(5, -2))));
        assertArrayEquals(new double[] {2, 1}, MergeRule.WEIGHTED_MEAN.merge(parts).get("w").toDoubles(), 1e-6);
        assertArrayEquals(new double[] {3, 0}, MergeRule.MEAN.merge(parts).get("w").toDoubles(), 1e-6);
        assertArrayEquals(new double[] {6, 0}, MergeRule.SUM.merge(parts).get("w").toDoubles(), 1e-6);
        assertEquals(MergeRule.WEIGHTED_MEAN, MergeRule.parse("weighted-mean"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MergeRule.parse("median"));
        assertTrue(e.getMessage().contains("median"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MergeRule.SUM.merge(List.of()));
        assertThrows(IllegalArgumentException.class, () -> MergeRule.SUM.merge(List.of(parts.get(0),
                new MergeRule.Contribution(1, 1, Map.of("w", vector(1, 2, 3))))));
    }

    @Test
    void theRebaseKeepsUnsentProgressOnTopOfTheGlobalWeightsAndIsExactWithoutIt() {
        Map<String, HostTensor> global = Map.of("w", vector(1.5f, -0.0f, 3));
        Map<String, HostTensor> atPublish = Map.of("w", vector(0.25f, 7, 1));
        Map<String, HostTensor> now = Map.of("w", vector(0.75f, 7, 1));
        assertArrayEquals(new double[] {2.0, -0.0, 3.0}, SlowLevelDeltas.rebase(global, now, atPublish).get("w")
                .toDoubles());
        // nothing unsent: the global weights bit for bit (even a negative zero)
        assertArrayEquals(global.get("w").bytes(), SlowLevelDeltas.rebase(global, atPublish, atPublish).get("w").bytes());
        assertArrayEquals(new double[] {0.5, 0, 0}, SlowLevelDeltas.minus(now, atPublish).get("w").toDoubles());
        assertArrayEquals(new double[] {1.75, 7, 4}, SlowLevelDeltas.plus(global, atPublish).get("w").toDoubles());
        assertTrue(SlowLevelDeltas.isZero(SlowLevelDeltas.minus(now, now)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SlowLevelDeltas.minus(now, Map.of("w", vector(1, 2))));
        assertTrue(e.getMessage().contains("tensor w"), e.getMessage());
    }

    @Test
    void eventsAreChunkedBelowTheMessageSizeAndReassembledExactly() throws Exception {
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        float[] big = new float[5000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) Math.sin(i);
        }
        tensors.put("a", vector(big));
        tensors.put("b", vector(1, 2, 3));
        List<ConsolidationEvent> events = ConsolidationEvents.chunked(header(ConsolidationKind.DELTA, 3, 7), tensors,
                2048);
        assertTrue(events.size() >= 10, events.size() + " chunks");
        List<byte[]> payloads = new ArrayList<>();
        for (ConsolidationEvent e : events) {
            byte[] wire = ConsolidationEvents.SERDE.serializer().serialize("t", e);
            assertTrue(wire.length <= 2048 + 200, "record of " + wire.length + " bytes");
            ConsolidationEvent back = ConsolidationEvents.SERDE.deserializer().deserialize("t", wire);
            assertEquals(e, back);
            assertEquals(events.size(), back.getChunks());
            payloads.add(ConsolidationEvents.payload(back));
        }
        Map<String, HostTensor> again = ConsolidationEvents.tensors(payloads);
        assertEquals(tensors, again);
        assertThrows(org.apache.kafka.common.errors.SerializationException.class,
                () -> ConsolidationEvents.SERDE.deserializer().deserialize("t", "not avro".getBytes(StandardCharsets.UTF_8)));
        assertEquals(StateCodec.MAX_CHUNK_BYTES, ConsolidationEvents.chunkBytes(8 << 20));
        assertEquals((512 << 10) - ConsolidationEvents.RECORD_OVERHEAD, ConsolidationEvents.chunkBytes(512 << 10));
    }

    /**
     * Two tasks of one seed: A learns and publishes, a global version made of A's delta (in many chunks) reaches both;
     * both end bit-identical to G. Then A learns more and publishes nothing yet; the next version (B's delta alone)
     * rebases A's unsent progress on top: A = G' + (A - P) exactly, B = G'. The state survives a reload.
     */
    @Test
    void tasksAdoptGlobalVersionsAndRebaseTheirUnsentProgress() throws Exception {
        HopeConfig tiny = HopeConfig.preset("tiny");
        LearnerConfig lc = LearnerConfig.defaults().withWarmup(0).withRates(3e-3, 3e-3, 0.01);
        try (Learner a = Learner.create(tiny, lc, 42, new InMemoryFastStateStore(), Device.cpu());
             Learner b = Learner.create(tiny, lc, 42, new InMemoryFastStateStore(), Device.cpu())) {
            ChunkedValues storeA = store("a");
            ChunkedValues storeB = store("b");
            SlowLevelSync syncA = SlowLevelSync.load(storeA, a, 0, "low", 4096);
            SlowLevelSync syncB = SlowLevelSync.load(storeB, b, 1, "low", 4096);
            Map<String, HostTensor> g0 = a.parameters(Level.LOW);

            learn(a, "the capital of Zorbia is Quelt", 4);
            assertTrue(a.checkpoint());
            List<ConsolidationEvent> deltaA = syncA.publish(a, 1000);
            assertTrue(deltaA.size() > 1, "a delta of " + deltaA.size() + " chunks");
            Map<String, HostTensor> dA = ConsolidationEvents.tensors(deltaA.stream().map(ConsolidationEvents::payload)
                    .toList());
            assertEquals(SlowLevelDeltas.minus(a.parameters(Level.LOW), g0), dA, "the delta is slow - P");
            assertEquals(4, deltaA.get(0).getRecords());

            Map<String, HostTensor> inc1 = MergeRule.WEIGHTED_MEAN.merge(List.of(new MergeRule.Contribution(0, 4, dA)));
            List<ConsolidationEvent> v1 = global(1, inc1, List.of(ref(0, 1, 4)));
            for (ConsolidationEvent e : v1) {
                boolean last = e.getChunk() == e.getChunks() - 1;
                assertEquals(last, syncA.receive(e, a));
                assertEquals(last, syncB.receive(e, b));
            }
            Map<String, HostTensor> g1 = SlowLevelDeltas.plus(g0, inc1);
            assertBitIdentical(g1, a.parameters(Level.LOW), "A at version 1");
            assertBitIdentical(g1, b.parameters(Level.LOW), "B at version 1");
            assertEquals(0, syncA.unmerged());
            for (ConsolidationEvent e : v1) {
                assertFalse(syncB.receive(e, b), "a version adopted once");
            }

            learn(a, "its river is the Amberline", 3);
            assertTrue(a.checkpoint());
            Map<String, HostTensor> unsent = SlowLevelDeltas.minus(a.parameters(Level.LOW), g1);
            Map<String, HostTensor> beforeA = a.parameters(Level.LOW);
            learn(b, "ledger line 12: paid", 2);
            assertTrue(b.checkpoint());
            List<ConsolidationEvent> deltaB = syncB.publish(b, 2000);
            assertEquals(1, deltaB.get(0).getBaseVersion(), "B's delta is based on version 1");
            Map<String, HostTensor> dB = ConsolidationEvents.tensors(deltaB.stream().map(ConsolidationEvents::payload)
                    .toList());
            Map<String, HostTensor> inc2 = MergeRule.WEIGHTED_MEAN.merge(List.of(new MergeRule.Contribution(1, 2, dB)));
            for (ConsolidationEvent e : global(2, inc2, List.of(ref(1, 1, 2)))) {
                syncA.receive(e, a);
                syncB.receive(e, b);
            }
            Map<String, HostTensor> g2 = SlowLevelDeltas.plus(g1, inc2);
            assertBitIdentical(g2, b.parameters(Level.LOW), "B at version 2");
            assertBitIdentical(SlowLevelDeltas.rebase(g2, beforeA, g1), a.parameters(Level.LOW), "A = G2 + (A - P)");
            assertFalse(SlowLevelDeltas.isZero(unsent), "A had unsent progress");
            assertEquals(2, syncA.baseVersion());

            // A, reloaded from its store, publishes next exactly its unsent progress (as rebased), based on version 2
            List<ConsolidationEvent> nextA = SlowLevelSync.load(storeA, a, 0, "low", 4096).publish(a, 3000);
            assertEquals(2, nextA.get(0).getBaseVersion());
            assertEquals(2, nextA.get(0).getSequence(), "A's second publication");
            assertEquals(3, nextA.get(0).getRecords());
            assertBitIdentical(SlowLevelDeltas.minus(a.parameters(Level.LOW), g2), ConsolidationEvents.tensors(
                    nextA.stream().map(ConsolidationEvents::payload).toList()), "A's next delta");
        }
    }

    @Test
    void lowPlusMidPublishesTheMidLevelTooAndRefusesVersionsOfOtherLevels() throws Exception {
        LearnerConfig lc = LearnerConfig.defaults().withWarmup(0);
        try (Learner a = Learner.create(HopeConfig.preset("tiny"), lc, 42, new InMemoryFastStateStore(), Device.cpu())) {
            SlowLevelSync sync = SlowLevelSync.load(store("mid"), a, 0, "low+mid", 4096);
            learn(a, "the capital of Zorbia is Quelt", 3);
            assertTrue(a.closeWindow());
            assertTrue(a.checkpoint());
            List<ConsolidationEvent> delta = sync.publish(a, 0);
            assertEquals("low+mid", delta.get(0).getLevels());
            Map<String, HostTensor> t = ConsolidationEvents.tensors(delta.stream().map(ConsolidationEvents::payload)
                    .toList());
            Map<String, HostTensor> slow = new LinkedHashMap<>(a.parameters(Level.LOW));
            slow.putAll(a.parameters(Level.MID));
            assertEquals(slow.keySet(), t.keySet(), "LOW and MID, not HIGH");
            Map<String, HostTensor> before = a.parameters();
            for (ConsolidationEvent e : global(1, a.parameters(Level.LOW), List.of())) {
                assertFalse(sync.receive(e, a), "a version of LOW alone is not adopted by low+mid");
            }
            assertEquals(before, a.parameters(), "nothing changed");
            assertEquals(0, sync.baseVersion());
        }
    }

    @Test
    void consolidationSettingsAreCheckedWithTheValueNamed() {
        Map<String, Object> m = new HashMap<>();
        m.put(HopeStreamsConfig.SHARDS_ENABLED, "true");
        m.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        ConfigException e = assertThrows(ConfigException.class, () -> new HopeStreamsConfig(m));
        assertTrue(e.getMessage().contains("exactly_once_v2") && e.getMessage().contains("at_least_once"), e.getMessage());
        m.remove(StreamsConfig.PROCESSING_GUARANTEE_CONFIG);
        m.put(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC, "hope.events");
        e = assertThrows(ConfigException.class, () -> new HopeStreamsConfig(m));
        assertTrue(e.getMessage().contains(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC) && e.getMessage().contains("hope.events"),
                e.getMessage());
        m.put(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC, "hope.consolidation");
        e = assertThrows(ConfigException.class, () -> new HopeStreamsConfig(m));
        assertTrue(e.getMessage().contains("both"), e.getMessage());
        m.remove(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC);
        for (String[] bad : new String[][] {{HopeStreamsConfig.SHARDS_LEVELS, "high"},
                {HopeStreamsConfig.SHARDS_MERGE, "median"}, {HopeStreamsConfig.SHARDS_ROUND_TIMEOUT_MS, "5"}}) {
            Map<String, Object> c = new HashMap<>(m);
            c.put(bad[0], bad[1]);
            e = assertThrows(ConfigException.class, () -> new HopeStreamsConfig(c));
            assertTrue(e.getMessage().contains(bad[0]) && e.getMessage().contains(bad[1]), e.getMessage());
        }
        assertTrue(new HopeStreamsConfig(m).consolidationEnabled());
        assertFalse(new HopeStreamsConfig(Map.of()).consolidationEnabled(), "off by default");
        IllegalArgumentException noLearners = assertThrows(IllegalArgumentException.class, () -> HopeTopology.build(
                new HopeStreamsConfig(m), null, new LearnerHub(), b -> null));
        assertTrue(noLearners.getMessage().contains("number of learner tasks"), noLearners.getMessage());
    }

    private static void learn(Learner l, String text, int n) {
        for (int i = 0; i < n; i++) {
            assertTrue(l.learn("k" + i, (text + " #" + i).getBytes(StandardCharsets.UTF_8), 0).accepted());
        }
    }

    private static List<ConsolidationEvent> global(long version, Map<String, HostTensor> increment, List<DeltaRef> refs) {
        return ConsolidationEvents.chunked(header(ConsolidationKind.GLOBAL, -1, version).setBaseVersion(version - 1)
                .setMerged(refs).setRule("weighted-mean"), increment, 4096);
    }

    private static ConsolidationEvent.Builder header(ConsolidationKind kind, int partition, long sequence) {
        return ConsolidationEvent.newBuilder().setKind(kind).setPartition(partition).setSequence(sequence)
                .setBaseVersion(0).setRecords(1).setLevels("low").setRule("").setMerged(List.of())
                .setWallTime(Instant.ofEpochMilli(0)).setChunk(0).setChunks(1).setPayload(ByteBuffer.allocate(0));
    }

    private static DeltaRef ref(int partition, long sequence, long records) {
        return DeltaRef.newBuilder().setPartition(partition).setSequence(sequence).setRecords(records).setBaseVersion(0)
                .build();
    }

    private ChunkedValues store(String name) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "sync-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        MockProcessorContext<String, Object> ctx = new MockProcessorContext<>(p, new TaskId(0, 0),
                dir.resolve(name).toFile());
        KeyValueStore<Bytes, byte[]> s = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name),
                Serdes.Bytes(), Serdes.ByteArray()).withLoggingDisabled().build();
        s.init(ctx.getStateStoreContext(), s);
        stores.add(s);
        return new ChunkedValues(s, new StateCodec());
    }

    private static void assertBitIdentical(Map<String, HostTensor> expected, Map<String, HostTensor> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        expected.forEach((k, v) -> assertArrayEquals(v.bytes(), actual.get(k).bytes(), what + ": " + k));
    }

    private static HostTensor vector(float... v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return HostTensor.ofDoubles(F32, new long[] {v.length}, d);
    }
}

package org.hopestreams.stream;

import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.hopestreams.avro.CheckpointEvent;
import org.hopestreams.avro.LearningEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole topology in a {@link TopologyTestDriver} (real RocksDB stores, a real Apicurio registry
 * for the Avro output): ingest, dead letters, repartition, the learner's cadence and its events.
 */
class HopeTopologyTest {
    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Registry REGISTRY = new StreamTestSupport.Registry();

    @TempDir
    Path stateDir;

    /** {@link StreamTestSupport#appConfig} for a TopologyTestDriver with text input: 3 s checkpoints, 64-byte records. */
    static Map<String, Object> tinyStreamConfig(String registryUrl, String appId, Path stateDir) {
        Map<String, Object> m = StreamTestSupport.appConfig("unused:9092", registryUrl, appId, stateDir);
        m.put(HopeStreamsConfig.INPUT_FORMAT, "text");
        m.put(HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, "3000");
        m.put(HopeStreamsConfig.RECORD_MAX_BYTES, "64");
        m.put(HopeStreamsConfig.TEXT_MAX_BYTES, "512");
        m.put(HopeStreamsConfig.CHECKPOINTS_KEEP, "2");
        return m;
    }

    @Test
    void textEventsAreLearnedAtTheNestedCadenceAndBadOnesAreDeadLetters() {
        Map<String, Object> m = tinyStreamConfig(REGISTRY.apiUrl(), "ttd", stateDir);
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        Serde<Object> avro = HopeTopology.avroSerde(config);
        Properties props = config.streamsProperties();
        try (TopologyTestDriver driver = new TopologyTestDriver(HopeTopology.build(config, avro), props)) {
            TestInputTopic<String, byte[]> in = driver.createInputTopic(config.inputTopic(),
                    Serdes.String().serializer(), Serdes.ByteArray().serializer());
            TestOutputTopic<String, Object> learning = driver.createOutputTopic(config.learningTopic(),
                    Serdes.String().deserializer(), avro.deserializer());
            TestOutputTopic<String, Object> checkpoints = driver.createOutputTopic(config.checkpointsTopic(),
                    Serdes.String().deserializer(), avro.deserializer());
            TestOutputTopic<byte[], byte[]> dlq = driver.createOutputTopic(config.dlqTopic(),
                    Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer());

            // 12 events at 400 ms steps: windows of 1 s close at t=1200, 2000, 2800, 4000, 4400;
            // checkpoints of 3 s at t=3200 (the record that opens [3000, 6000)).
            for (int i = 0; i < 12; i++) {
                in.pipeInput(i % 2 == 0 ? "alpha" : "beta", ("event " + i + " says hello").getBytes(StandardCharsets.UTF_8),
                        Instant.ofEpochMilli(400L * i));
            }
            in.pipeInput("alpha", new byte[0], Instant.ofEpochMilli(5000));
            in.pipeInput("alpha", new byte[] {(byte) 0xC3, 0x28}, Instant.ofEpochMilli(5000));
            in.pipeInput("beta", "x".repeat(600).getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(5000));
            in.pipeInput("beta", "y".repeat(130).getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(5000));

            List<LearningEvent> events = learning.readValuesToList().stream().map(v -> (LearningEvent) v).toList();
            assertEquals(12 + 3, events.size(), "12 events and one of 130 bytes split into 64+64+2");
            for (int i = 0; i < 12; i++) {
                LearningEvent e = events.get(i);
                assertEquals(i % 2 == 0 ? "alpha" : "beta", e.getKey());
                assertEquals(i, e.getSourceOffset());
                assertEquals(i + 1, e.getHighSteps(), "HIGH steps on every record");
                long windowsClosed = Math.floorDiv(400L * i, 1000);   // window index of the record
                assertEquals(windowsClosed, e.getMidSteps(), "MID steps once per closed window, record " + i);
                assertEquals(400L * i >= 3000 ? 1 : 0, e.getLowSteps(), "LOW consolidates once per 3 s");
                assertTrue(Double.isFinite(e.getBitsPerByte()) && e.getBitsPerByte() > 0);
            }
            List<LearningEvent> split = events.subList(12, 15);
            assertEquals(List.of(64, 64, 2), split.stream().map(LearningEvent::getBytes).toList());
            assertEquals(List.of(0, 1, 2), split.stream().map(LearningEvent::getPart).toList());
            assertTrue(split.stream().allMatch(e -> e.getParts() == 3 && e.getSourceOffset() == 15));

            List<CheckpointEvent> cps = checkpoints.readValuesToList().stream().map(v -> (CheckpointEvent) v).toList();
            assertEquals(1, cps.size());
            assertEquals(1, cps.get(0).getLowSteps());
            assertEquals(3200, cps.get(0).getStreamTime().toEpochMilli(),
                    "the record that opened the period triggered it, before it was learned");
            assertTrue(cps.get(0).getStateBytes() > 0);

            List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
            assertEquals(3, dead.size());
            assertEquals(List.of("empty", "invalid-utf8", "oversize"), dead.stream()
                    .map(r -> header(r.headers(), DeadLetter.REASON)).toList());
            assertArrayEquals(new byte[] {(byte) 0xC3, 0x28}, dead.get(1).value(), "original bytes kept");
            assertEquals("13", header(dead.get(1).headers(), DeadLetter.OFFSET));
            assertEquals("ingest", header(dead.get(1).headers(), DeadLetter.STAGE));
            assertArrayEquals("alpha".getBytes(StandardCharsets.UTF_8), dead.get(1).key());
        }
    }

    /** An idle key's memory leaves the changelog too: a tombstone for each of its entries, none for the others. */
    @Test
    void theTtlPunctuationWritesTombstonesForIdleKeysToTheChangelog() {
        Map<String, Object> m = tinyStreamConfig(REGISTRY.apiUrl(), "ttd-ttl", stateDir);
        m.put(HopeStreamsConfig.KEYS_TTL_MS, "1000");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        Serde<Object> avro = HopeTopology.avroSerde(config);
        try (TopologyTestDriver driver = new TopologyTestDriver(HopeTopology.build(config, avro),
                config.streamsProperties())) {
            TestInputTopic<String, byte[]> in = driver.createInputTopic(config.inputTopic(),
                    Serdes.String().serializer(), Serdes.ByteArray().serializer());
            TestOutputTopic<byte[], byte[]> changelog = driver.createOutputTopic("ttd-ttl-fast-memory-changelog",
                    Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer());
            in.pipeInput("idle", "said once".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(0));
            in.pipeInput("busy", "said later".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(1500));
            changelog.readRecordsToList();

            driver.advanceWallClockTime(java.time.Duration.ofMillis(1000));
            in.pipeInput("busy", "and again".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(1600));
            List<TestRecord<byte[], byte[]>> after = changelog.readRecordsToList();
            List<String> tombstones = after.stream().filter(r -> r.value() == null)
                    .map(r -> new String(r.key(), StandardCharsets.ISO_8859_1)).toList();
            assertEquals(2, tombstones.size(), "the state's one chunk and its last-seen entry: " + tombstones);
            assertTrue(tombstones.stream().allMatch(k -> k.contains("idle")), tombstones.toString());
        }
    }

    @Test
    void aKeyOverTheCapIsADeadLetterAndOneOver64KibUnderARaisedCapIsLearned() {
        Map<String, Object> m = tinyStreamConfig(REGISTRY.apiUrl(), "ttd-keys", stateDir);
        m.put(HopeStreamsConfig.KEY_MAX_BYTES, "100000");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        Serde<Object> avro = HopeTopology.avroSerde(config);
        try (TopologyTestDriver driver = new TopologyTestDriver(HopeTopology.build(config, avro),
                config.streamsProperties())) {
            Topics t = Topics.of(driver, config, avro);
            TestInputTopic<String, byte[]> in = t.in();
            TestOutputTopic<String, Object> learning = t.learning();
            TestOutputTopic<byte[], byte[]> dlq = t.dlq();
            String long70k = "k".repeat(70_000);   // past the 65,535 bytes of writeUTF in the repartition topic
            in.pipeInput(long70k, "a key of 70,000 bytes".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(100));
            in.pipeInput("k".repeat(100_001), "one byte over the cap".getBytes(StandardCharsets.UTF_8),
                    Instant.ofEpochMilli(200));
            in.pipeInput("short", "a good record after them".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(300));

            List<LearningEvent> events = learning.readValuesToList().stream().map(v -> (LearningEvent) v).toList();
            assertEquals(List.of(long70k, "short"), events.stream().map(LearningEvent::getKey).toList());
            List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
            assertEquals(1, dead.size());
            assertEquals("key-too-long", header(dead.get(0).headers(), DeadLetter.REASON));
            String why = header(dead.get(0).headers(), DeadLetter.MESSAGE);
            assertTrue(why.contains("100001 bytes") && why.contains("100000 bytes"), why);
        }
    }

    @Test
    void aRecordWithoutTimestampIsLearnedAtThePartitionsStreamTimeInsteadOfStoppingTheApplication() {
        HopeStreamsConfig config = new HopeStreamsConfig(tinyStreamConfig(REGISTRY.apiUrl(), "ttd-no-time", stateDir));
        Serde<Object> avro = HopeTopology.avroSerde(config);
        long replacedBefore = MissingTimestamps.replaced();
        try (TopologyTestDriver driver = new TopologyTestDriver(HopeTopology.build(config, avro),
                config.streamsProperties(), Instant.ofEpochMilli(1_000_000L))) {
            Topics t = Topics.of(driver, config, avro);
            TestInputTopic<String, byte[]> in = t.in();
            in.pipeInput("doc", "first".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(400));
            // -1: a record with no timestamp (an old client); Kafka Streams' default extractor stops the thread here
            in.pipeInput("doc", "no timestamp".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(-1));
            in.pipeInput("doc", "after".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(800));
            List<LearningEvent> events = t.learning().readValuesToList().stream().map(v -> (LearningEvent) v).toList();
            assertEquals(3, events.size(), "all three learned");
            assertEquals(400L, events.get(1).getEventTime().toEpochMilli(), "the record without a timestamp takes the partition's stream time");
            assertTrue(t.dlq().isEmpty());
        }
        assertEquals(replacedBefore + 1, MissingTimestamps.replaced());
    }

    @Test
    void anEventTimeFarAheadIsADeadLetterAndWindowsKeepClosing() {
        Map<String, Object> m = tinyStreamConfig(REGISTRY.apiUrl(), "ttd-future", stateDir);
        m.put(HopeStreamsConfig.EVENT_TIME_MAX_AHEAD_MS, "60000");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        Serde<Object> avro = HopeTopology.avroSerde(config);
        long wall = 1_000_000L;
        try (TopologyTestDriver driver = new TopologyTestDriver(HopeTopology.build(config, avro),
                config.streamsProperties(), Instant.ofEpochMilli(wall))) {
            Topics t = Topics.of(driver, config, avro);
            TestInputTopic<String, byte[]> in = t.in();
            TestOutputTopic<String, Object> learning = t.learning();
            TestOutputTopic<byte[], byte[]> dlq = t.dlq();
            long year3000 = Instant.parse("3000-01-01T00:00:00Z").toEpochMilli();
            in.pipeInput("doc", "before".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(400));
            in.pipeInput("doc", "from the far future".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(year3000));
            in.pipeInput("doc", "just inside".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(wall + 60_000));
            for (int i = 0; i < 4; i++) {
                in.pipeInput("doc", ("after " + i).getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(wall + 61_000 + 1000L * i));
            }

            List<LearningEvent> events = learning.readValuesToList().stream().map(v -> (LearningEvent) v).toList();
            assertEquals(6, events.size(), "every record but the far-future one is learned");
            assertEquals(List.of(1L, 2L, 3L, 4L), events.subList(2, 6).stream().map(LearningEvent::getMidSteps).toList()
                    .stream().map(s -> s - events.get(1).getMidSteps()).toList(), "one MID step per window after it");
            List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
            assertEquals(1, dead.size());
            assertEquals("future-time", header(dead.get(0).headers(), DeadLetter.REASON));
            String why = header(dead.get(0).headers(), DeadLetter.MESSAGE);
            assertTrue(why.contains("3000-01-01T00:00:00Z") && why.contains("60000 ms")
                    && why.contains("hope.event.time.max.ahead.ms"), why);
        }
    }

    @Test
    void aRecordThatFailsInAProcessorIsADeadLetterAndTooBigOnesAreCutToFit() {
        Map<String, Object> m = tinyStreamConfig(REGISTRY.apiUrl(), "ttd-fail", stateDir);
        m.put(HopeStreamsConfig.TEXT_MAX_BYTES, "4096");
        m.put("producer.max.request.size", "3000");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        Serde<Object> avro = HopeTopology.avroSerde(config);
        LearnerHub hub = new LearnerHub();
        hub.addListener(new LearnerHub.Listener() {
            @Override
            public void learned(int partition, String key, org.hopestreams.learn.LearnOutcome outcome, long nanos) {
                if (key.equals("boom")) {
                    throw new IllegalStateException("a listener failed on " + key);
                }
            }
        });
        try (TopologyTestDriver driver = new TopologyTestDriver(HopeTopology.build(config, avro, hub),
                config.streamsProperties())) {
            Topics t = Topics.of(driver, config, avro);
            TestInputTopic<String, byte[]> in = t.in();
            TestOutputTopic<String, Object> learning = t.learning();
            TestOutputTopic<byte[], byte[]> dlq = t.dlq();
            in.pipeInput("boom", "this one fails in the learner".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(100));
            byte[] big = new byte[5000];
            java.util.Arrays.fill(big, (byte) 'z');
            in.pipeInput("doc", big, Instant.ofEpochMilli(200));
            in.pipeInput("doc", "a good record after them".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(300));

            List<LearningEvent> events = learning.readValuesToList().stream().map(v -> (LearningEvent) v).toList();
            assertEquals(List.of("doc"), events.stream().map(LearningEvent::getKey).toList());
            List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
            assertEquals(List.of("processing-error", "oversize"), dead.stream()
                    .map(r -> header(r.headers(), DeadLetter.REASON)).toList());
            assertTrue(header(dead.get(0).headers(), DeadLetter.MESSAGE).contains("a listener failed on boom"));
            TestRecord<byte[], byte[]> cut = dead.get(1);
            assertEquals("5000", header(cut.headers(), DeadLetter.VALUE_SIZE));
            assertEquals("true", header(cut.headers(), DeadLetter.TRUNCATED));
            assertTrue(cut.value().length > 1000 && cut.value().length < 2000, "cut to fit: " + cut.value().length);
        }
    }

    static String header(Headers h, String name) {
        return new String(h.lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    /** The driver's input, learning and dead-letter topics, as every test here reads them. */
    private record Topics(TestInputTopic<String, byte[]> in, TestOutputTopic<String, Object> learning,
                          TestOutputTopic<byte[], byte[]> dlq) {
        static Topics of(TopologyTestDriver driver, HopeStreamsConfig config, Serde<Object> avro) {
            return new Topics(driver.createInputTopic(config.inputTopic(), Serdes.String().serializer(),
                    Serdes.ByteArray().serializer()),
                    driver.createOutputTopic(config.learningTopic(), Serdes.String().deserializer(), avro.deserializer()),
                    driver.createOutputTopic(config.dlqTopic(), Serdes.ByteArray().deserializer(),
                            Serdes.ByteArray().deserializer()));
        }
    }
}

package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.hopestreams.avro.CheckpointEvent;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The application on a real in-JVM KRaft broker and a real Apicurio registry: a standard producer
 * with the Avro serde writes TextEvents; LearningEvents, CheckpointEvents and dead letters are read
 * back with read_committed.
 */
class StreamingIntegrationTest {
    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path stateDir;

    /**
     * A record the broker refuses fails the producing call by name (TextEventProducer.sendAll, which the tests'
     * producers, bench and the demo's counts use): here a topic that takes no record over 200 bytes.
     */
    @Test
    void aRecordTheBrokerRefusesFailsTheSendNeverSilently() throws Exception {
        String topic = "refusing.events";
        SERVERS.kafka().admin().createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1)
                .configs(Map.of("max.message.bytes", "200")))).all().get(30, java.util.concurrent.TimeUnit.SECONDS);
        List<TextEvent> events = List.of(StreamTestSupport.event("small", "k", "fits", 1L),
                StreamTestSupport.event("big", "k", "x".repeat(400), 2L));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> StreamTestSupport.produce(
                SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), topic, events));
        assertTrue(e.getMessage().startsWith("1 of 2 records to " + topic + " were not written: "), e.getMessage());
        assertTrue(e.getMessage().contains("RecordTooLarge"), e.getMessage());
    }

    @Test
    void avroEventsAreLearnedExactlyOnceAndBadInputIsDeadLettered() throws Exception {
        Map<String, Object> m = StreamTestSupport.appConfig(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), "it-basic",
                stateDir);
        StreamTestSupport.topics(m, "it");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        StreamApp.createTopics(config, 1, (short) 1);

        List<TextEvent> events = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            events.add(StreamTestSupport.event("e" + i, "doc-" + (i % 3), "line " + i + ": the capital of Zorbia is Quelt.",
                    1_000_000L + 400L * i));
        }
        StreamTestSupport.produce(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), "it.events", events);
        StreamTestSupport.produceRaw(SERVERS.kafka().bootstrapServers(), "it.events", "k".getBytes(StandardCharsets.UTF_8),
                "not avro at all".getBytes(StandardCharsets.UTF_8));
        StreamTestSupport.produceRaw(SERVERS.kafka().bootstrapServers(), "it.events", null,
                new byte[] {0, 0, 0, 0x7f, 0x7f, 1, 2, 3});

        try (StreamApp app = StreamApp.start(config)) {
            List<ConsumerRecord<String, Object>> learned = StreamTestSupport.readAvro(SERVERS.kafka().bootstrapServers(),
                    SERVERS.registry().apiUrl(), "it.learning", 30, Duration.ofSeconds(120));
            assertEquals(30, learned.size(), "one LearningEvent per event");
            for (int i = 0; i < 30; i++) {
                LearningEvent e = (LearningEvent) learned.get(i).value();
                assertEquals("e" + i, e.getId());
                assertEquals("doc-" + (i % 3), e.getKey());
                assertEquals("doc-" + (i % 3), learned.get(i).key());
                assertEquals(i, e.getSourceOffset());
                assertEquals("it.events", e.getSourceTopic());
                assertEquals(i + 1, e.getHighSteps());
                assertTrue(Double.isFinite(e.getBitsPerByte()));
            }
            LearningEvent last = (LearningEvent) learned.get(29).value();
            long lastTime = 400L * 29;
            assertEquals((1_000_000L + lastTime) / 1000 - 1_000_000L / 1000, last.getMidSteps(), "one MID step per window");
            List<ConsumerRecord<String, Object>> cps = StreamTestSupport.readAvro(SERVERS.kafka().bootstrapServers(),
                    SERVERS.registry().apiUrl(), "it.checkpoints", (int) last.getLowSteps(), Duration.ofSeconds(30));
            assertEquals(last.getLowSteps(), cps.size(), "one CheckpointEvent per LOW step");
            // The model changelog keeps about one version: compacted, small segments (ModelStoreBuilder).
            try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
                    Map.of("bootstrap.servers", SERVERS.kafka().bootstrapServers()))) {
                var topic = new org.apache.kafka.common.config.ConfigResource(
                        org.apache.kafka.common.config.ConfigResource.Type.TOPIC, "it-basic-model-changelog");
                var cfg = admin.describeConfigs(List.of(topic)).all().get().get(topic);
                assertEquals("compact", cfg.get("cleanup.policy").value());
                assertEquals(org.hopestreams.store.ModelStoreBuilder.CHANGELOG_SEGMENT_BYTES, cfg.get("segment.bytes").value());
                assertEquals(org.hopestreams.store.ModelStoreBuilder.CHANGELOG_SEGMENT_MS, cfg.get("segment.ms").value());
            }
            assertTrue(last.getLowSteps() >= 2);
            assertEquals(1, ((CheckpointEvent) cps.get(0).value()).getLowSteps());

            List<ConsumerRecord<byte[], byte[]>> dead = StreamTestSupport.readBytes(SERVERS.kafka().bootstrapServers(), "it.dlq", 2,
                    Duration.ofSeconds(30));
            assertEquals(2, dead.size());
            assertEquals("corrupt", header(dead.get(0), DeadLetter.REASON));
            assertEquals("not avro at all", new String(dead.get(0).value(), StandardCharsets.UTF_8));
            assertEquals("30", header(dead.get(0), DeadLetter.OFFSET));
            assertEquals("unknown-schema", header(dead.get(1), DeadLetter.REASON), header(dead.get(1), DeadLetter.MESSAGE));
            assertTrue(app.failure() == null);
        }
    }

    static String header(ConsumerRecord<?, ?> r, String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}

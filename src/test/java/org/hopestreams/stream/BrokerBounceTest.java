package org.hopestreams.stream;

import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
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

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 9, broker bounce: the only broker stops (controlled shutdown) and starts again on the same port and log
 * directory while the application, a child JVM ({@code hope run}) under exactly-once, is in the middle of the input
 * (with a transaction open: it commits every 100 ms). The application must ride it out by itself: it stays up,
 * is RUNNING afterwards, and its committed output and stores equal those of an uninterrupted run of the same
 * input ({@link RunComparison}: one LearningEvent per input offset, counters and scores exact, stores bit for
 * bit). The uninterrupted run reads the same input from a second in-JVM broker that is not bounced, beside the
 * bounced application.
 *
 * <p>The broker re-registers with the controller once its old registration expires
 * ({@code broker.session.timeout.ms}, lowered here to 3 s), so the outage lasts a few seconds: longer than a
 * commit interval and a Streams {@code transaction.timeout.ms}-scale pause, shorter than the clients' timeouts
 * (delivery 120 s, {@code task.timeout.ms} 300 s). Logs: {@code target/broker-bounce/}.
 */
class BrokerBounceTest {
    private static final int N = 200;
    private static final String INPUT = "bounce.events";
    private static final Path LOGS = Path.of("target", "broker-bounce");
    private static final Duration DEADLINE = Duration.ofSeconds(120);

    private static final Map<String, String> BROKER = Map.of(
            "broker.session.timeout.ms", "3000", "broker.heartbeat.interval.ms", "500");

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers(BROKER);

    @TempDir
    Path work;

    private final List<ChildApp> children = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        children.forEach(ChildApp::kill);
    }

    /**
     * The uninterrupted reference run's broker: a second real in-JVM broker (same settings) that the bounce does not
     * touch, so that the reference runs beside the bounced application instead of before it.
     */
    private static org.hopestreams.embedded.EmbeddedKafka refKafka;

    @org.junit.jupiter.api.AfterAll
    static void stopReferenceBroker() throws Exception {
        if (refKafka != null) {
            refKafka.close();
        }
    }

    @Test
    void aBrokerBounceMidStreamLosesAndDuplicatesNothing() throws Exception {
        long t0 = System.nanoTime();
        refKafka = org.hopestreams.embedded.EmbeddedKafka.start(BROKER);
        List<org.hopestreams.avro.TextEvent> events =
                StreamTestSupport.shortEvents(N, List.of("doc-a", "doc-b", "doc-c", "doc-d"), 1_000_000L, 250L);
        // the same input on both brokers (one registry: the same schema id, the same bytes), offsets 0..N-1
        refKafka.admin().createTopics(Stream.of(INPUT, "ref.learning", "ref.checkpoints", "ref.dlq")
                .map(t -> new NewTopic(t, 1, (short) 1).configs(Map.of("retention.ms", "-1"))).toList())
                .all().get(30, TimeUnit.SECONDS);
        StreamTestSupport.produce(refKafka.bootstrapServers(), SERVERS.registry().apiUrl(), INPUT, events);
        SERVERS.kafka().admin().createTopics(Stream.of(INPUT, "bounced.learning", "bounced.checkpoints", "bounced.dlq")
                .map(t -> new NewTopic(t, 1, (short) 1).configs(Map.of("retention.ms", "-1"))).toList())
                .all().get(30, TimeUnit.SECONDS);
        StreamTestSupport.produce(bootstrap(), SERVERS.registry().apiUrl(), INPUT, events);

        // The reference on its own broker, stopped (SIGTERM) as soon as its output is complete; waited for before the
        // comparison.
        ChildApp ref = start("ref", refKafka.bootstrapServers());
        java.util.concurrent.CompletableFuture<String> refRun = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                ChildApp.awaitCommitted(refKafka.bootstrapServers(), "ref.learning", N, DEADLINE, ref);
                return ref.summary(ref.terminate(), N);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });

        ChildApp app = start("bounced", bootstrap());
        ChildApp.awaitCommitted(bootstrap(), "bounced.learning", N / 4, DEADLINE, app);
        long t1 = System.nanoTime();
        SERVERS.kafka().stopBroker();
        long down = System.nanoTime();
        SERVERS.kafka().startBroker();
        long up = System.nanoTime();
        long atBounce = RunComparison.countCommitted(bootstrap(), "bounced.learning");
        assertTrue(atBounce < N, "the bounce fell mid-stream: " + atBounce + " of " + N + " were committed");
        assertTrue(app.process.isAlive(), "the application survived the outage\n" + app.tail());

        ChildApp.awaitCommitted(bootstrap(), "bounced.learning", N, DEADLINE, app);
        String health = app.health();
        assertTrue(health.startsWith("200 ") && health.contains("RUNNING"), "RUNNING after the bounce: " + health);
        String log = app.log();
        assertFalse(log.contains("stream thread failed"), "failure() stayed null\n" + app.tail());
        String appSummary = app.summary(app.terminate(), N);

        String refSummary = RunComparison.join(refRun);
        RunComparison.assertSameAsUninterrupted(refKafka.bootstrapServers(), bootstrap(), SERVERS.registry().apiUrl(),
                "ref", "bounced",
                LongStream.range(0, N).mapToObj(o -> new RunComparison.InputOffset(0, o))
                        .collect(Collectors.toCollection(TreeSet::new)));

        String summary = String.format("broker bounce: %d records; broker stopped %.1f s into the test, down %.1f s (stop %.1f s, start %.1f s), %d committed at the bounce, "
                        + "tasks restored from the stores %d times; total %.0f s%n  %s%n  %s%n", N,
                (t1 - t0) / 1e9, (up - t1) / 1e9, (down - t1) / 1e9, (up - down) / 1e9, atBounce,
                log.lines().filter(l -> l.contains("restored from the stores")).count(), (System.nanoTime() - t0) / 1e9,
                refSummary, appSummary);
        Files.writeString(LOGS.resolve("summary.txt"), summary);
    }

    private ChildApp start(String appId, String bootstrap) throws Exception {
        Map<String, Object> config = ChildApp.config(SERVERS, appId, INPUT, work.resolve(appId + "-state"));
        config.put(org.apache.kafka.streams.StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        ChildApp c = ChildApp.start(appId, config, List.of(), LOGS);
        children.add(c);
        return c;
    }

    private static String bootstrap() {
        return SERVERS.kafka().bootstrapServers();
    }
}

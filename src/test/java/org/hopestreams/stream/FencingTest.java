package org.hopestreams.stream;

import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 9, fencing a zombie: two instances of one application (child JVMs, {@code hope run}, same application id)
 * share an input topic of two partitions. Instance A is frozen with SIGSTOP in the middle of the input, with a
 * transaction open, for longer than its session timeout; the group gives its tasks to B, which restores their
 * stores and goes on. Then A is woken with SIGCONT and carries on where it froze, as a zombie: whatever it still
 * sends or commits for the tasks it lost must be fenced (its transaction was aborted when it timed out, its
 * generation is stale). The committed output and stores must equal those of one uninterrupted instance
 * ({@link RunComparison}).
 *
 * <p>Keys are chosen so that the default partitioner puts two of them in each partition (asserted); the
 * repartition topic then sends each key to the task of the partition it came from, so every learner sees its
 * input partition's records in offset order, as the reference does. Logs: {@code target/fencing/}.
 */
class FencingTest {
    private static final int N = 200;
    private static final String INPUT = "fence.events";
    private static final Path LOGS = Path.of("target", "fencing");
    private static final Duration DEADLINE = Duration.ofSeconds(120);
    private static final String APP = "fenced";

    // The paused instance's open transaction is aborted once transaction.timeout.ms has passed, at the broker's
    // next check (every 10 s by default; every second here, so that B does not wait for its input offsets long).
    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers(Map.of(
            "transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000"));

    @TempDir
    Path work;

    private final List<ChildApp> children = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        children.forEach(ChildApp::kill);
    }

    @Test
    void aPausedInstanceIsFencedAndItsTasksEndWithTheUninterruptedModel() throws Exception {
        long t0 = System.nanoTime();
        SERVERS.kafka().admin().createTopics(List.of(new NewTopic(INPUT, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
        SERVERS.kafka().admin().createTopics(Stream.of("ref", APP)
                .flatMap(app -> Stream.of(app + ".learning", app + ".checkpoints", app + ".dlq"))
                .map(t -> new NewTopic(t, 1, (short) 1).configs(Map.of("retention.ms", "-1"))).toList())
                .all().get(30, TimeUnit.SECONDS);
        StreamTestSupport.produce(bootstrap(), registry(), INPUT,
                StreamTestSupport.shortEvents(N, List.of("doc-a", "doc-b", "doc-c", "doc-i"), 1_000_000L, 250L));
        TreeSet<RunComparison.InputOffset> input = inputOffsets();
        assertEquals(Set.of(0, 1), input.stream().map(RunComparison.InputOffset::partition).collect(Collectors.toSet()),
                "both partitions hold input");

        // The uninterrupted reference: an application of its own (topics ref.*, its own state directory), so it runs
        // beside the fenced pair; stopped (SIGTERM) as soon as its output is complete, and waited for before the
        // comparison.
        ChildApp ref = start("ref", "ref");
        java.util.concurrent.CompletableFuture<String> refRun = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                ChildApp.awaitCommitted(bootstrap(), "ref.learning", N, DEADLINE, ref);
                return ref.summary(ref.terminate(), N);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });

        ChildApp a = start("fenced-a", APP);
        ChildApp b = start("fenced-b", APP);
        ChildApp.awaitCommitted(bootstrap(), APP + ".learning", N / 5, DEADLINE, a, b);
        Set<TopicPartition> ofA = awaitAssignment(a, m -> !m.isEmpty(), "A owns partitions");
        awaitAssignment(b, m -> !m.isEmpty(), "B owns partitions");

        a.suspend();
        long paused = System.nanoTime();
        long atPause = RunComparison.countCommitted(bootstrap(), APP + ".learning");
        Set<Integer> inputOfA = ofA.stream().filter(tp -> tp.topic().equals(INPUT)).map(TopicPartition::partition)
                .collect(Collectors.toSet());
        long ofAAtPause = committedFrom(inputOfA);
        // B takes A's tasks once A's session has expired, and learns A's records while A is frozen.
        awaitAssignment(b, m -> m.size() == 4, "B owns every partition");
        long takenOver = System.nanoTime();
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (committedFrom(inputOfA.isEmpty() ? Set.of(0, 1) : inputOfA) <= ofAAtPause) {
            assertTrue(b.process.isAlive(), "B died\n" + b.tail());
            if (System.nanoTime() > deadline) {
                fail("B committed nothing of A's input partitions " + inputOfA + "\n" + b.tail());
            }
            Thread.sleep(250);
        }
        long bCommitted = System.nanoTime();
        a.resume();

        ChildApp.awaitCommitted(bootstrap(), APP + ".learning", N, DEADLINE, a, b);
        for (ChildApp c : List.of(a, b)) {
            awaitRunning(c);
        }
        long aborted = allWritten(APP + ".learning") - N;
        String summaryA = a.summary(a.terminate(), N);
        String summaryB = b.summary(b.terminate(), N);

        String refSummary = RunComparison.join(refRun);
        RunComparison.assertSameAsUninterrupted(bootstrap(), registry(), "ref", APP, input);
        // Woken in the middle of its work, A goes on processing and then commits: its producer is fenced (the
        // coordinator aborted A's transaction with a new epoch when it timed out), which Kafka Streams reports as
        // TaskMigratedException before it drops the tasks and rejoins; or, depending on where A was when it froze,
        // its commit is refused as InvalidTxnStateException, which reaches the application's handler: that replaces
        // the stream thread (it used to shut A down: seen in CI, A then refused every connection).
        assertTrue(a.log().contains("TaskMigratedException")
                        || a.log().contains("transaction was aborted by the broker while this instance was not answering"),
                "A, woken, was fenced\n" + a.tail());

        String summary = String.format("fencing: %d records over 2 partitions; A (owning %s) paused with %d committed "
                        + "(%d of its input partitions), B owned everything %.1f s later and committed A's records "
                        + "%.1f s after the pause; A woken then; %d aborted LearningEvents in the log; total %.0f s%n"
                + "  %s%n  %s%n  %s%n", N, ofA, atPause, ofAAtPause, (takenOver - paused) / 1e9,
                (bCommitted - paused) / 1e9, aborted, (System.nanoTime() - t0) / 1e9, refSummary, summaryA, summaryB);
        Files.writeString(LOGS.resolve("summary.txt"), summary);
    }

    private ChildApp start(String name, String appId) throws Exception {
        Map<String, Object> m = ChildApp.config(SERVERS, appId, INPUT, work.resolve(name + "-state"));
        m.put("client.id", name);
        // EOS' transaction timeout (Streams' default 10 s) bounds how long B waits for A's open transaction.
        m.put("producer.transaction.timeout.ms", "5000");
        m.put("max.poll.interval.ms", "20000");
        ChildApp c = ChildApp.start(name, m, List.of(), LOGS);
        children.add(c);
        return c;
    }

    private static void awaitRunning(ChildApp c) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        String health;
        while (!(health = healthOrWhyNot(c)).startsWith("200 ")) {
            assertTrue(System.nanoTime() < deadline && c.process.isAlive(), c.name + " is not RUNNING: " + health
                    + (c.process.isAlive() ? "" : " (the process has ended)") + "\n" + c.tail());
            Thread.sleep(250);
        }
    }

    /** The child's readiness answer, or why there was none (a process that stopped refuses the connection). */
    private static String healthOrWhyNot(ChildApp c) throws InterruptedException {
        try {
            return c.health();
        } catch (java.io.IOException e) {
            return "no answer (" + e + ")";
        }
    }

    /** Records in the (one-partition) topic, aborted ones included: read_uncommitted up to the log end. */
    private static long allWritten(String topic) {
        TopicPartition tp = new TopicPartition(topic, 0);
        try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]>(Map.of(
                "bootstrap.servers", bootstrap(), "isolation.level", "read_uncommitted", "enable.auto.commit", "false"),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            long n = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                n += consumer.poll(Duration.ofMillis(200)).count();
            }
            return n;
        }
    }

    /** The input partitions and offsets, read back from the input topic. */
    private static TreeSet<RunComparison.InputOffset> inputOffsets() {
        return StreamTestSupport.readAllCommitted(bootstrap(), INPUT, Duration.ofSeconds(30)).stream()
                .map(r -> new RunComparison.InputOffset(r.partition(), r.offset()))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** Committed LearningEvents of records from these input partitions. */
    private static long committedFrom(Set<Integer> partitions) {
        return RunComparison.learningEvents(bootstrap(), registry(), APP + ".learning").keySet().stream()
                .filter(at -> partitions.contains(at.partition())).count();
    }

    /** The input and repartition partitions the group assigns to {@code c}'s consumer, once {@code until} holds. */
    private static Set<TopicPartition> awaitAssignment(ChildApp c, java.util.function.Predicate<Set<TopicPartition>> until,
                                                       String what) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        Set<TopicPartition> got = Set.of();
        while (System.nanoTime() < deadline) {
            got = allPartitions(c);
            if (until.test(got)) {
                return got;
            }
            Thread.sleep(250);
        }
        fail(what + ": not within " + DEADLINE + ", last " + got + "\n" + c.tail());
        return got;
    }

    private static Set<TopicPartition> allPartitions(ChildApp c) throws Exception {
        ConsumerGroupDescription g = SERVERS.kafka().admin().describeConsumerGroups(List.of(APP)).describedGroups()
                .get(APP).get(10, TimeUnit.SECONDS);
        return g.members().stream().filter(m -> m.clientId().startsWith(c.name + "-"))
                .map(MemberDescription::assignment).flatMap(a -> a.topicPartitions().stream())
                .collect(Collectors.toCollection(java.util.HashSet::new));
    }

    private static String bootstrap() {
        return SERVERS.kafka().bootstrapServers();
    }

    private static String registry() {
        return SERVERS.registry().apiUrl();
    }
}

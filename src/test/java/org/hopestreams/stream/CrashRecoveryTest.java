package org.hopestreams.stream;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.learn.StateGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The crash test of the streaming issue: the application runs in a child JVM ({@code hope run}) that
 * is killed with SIGKILL at chosen points (mid-record, right after a MID window closed, after a LOW
 * consolidation before its checkpoint write, inside the commit-time model write) and once by this
 * JVM at a random moment, while a fixed input is processed; a last child finishes the input.
 * Afterwards the committed output must hold exactly one LearningEvent per input record, with exact
 * update counters, and the final model (every state group of the {@code model} store, every key's
 * fast memory, the kept LOW checkpoints) must equal that of an uninterrupted run of the same input,
 * read from the changelog topics.
 *
 * <p>The crashed run's input also holds poison records, one of each ingest-stage dead-letter reason, among the
 * same events ({@link #poisoned}); the reference run reads the events alone. So the comparison also proves that
 * poison changes nothing for the good records (same scores, counters and final stores), and the crashed run's
 * dead-letter topic must hold exactly one dead letter per poison record, with its reason and offset, however
 * often the run was killed.
 *
 * <p>Tolerance: none. Restoring is exact (state travels as raw tensor bytes through the changelogs)
 * and processing is deterministic on CPU (seeded initialisation, stream-time windows and
 * checkpoints, one PyTorch thread in both runs), so the crashed run's model must be bit-for-bit
 * the uninterrupted run's, and so must every LearningEvent's scores. Should a group ever differ,
 * the failure message lists each differing tensor with its largest absolute and relative difference.
 * With {@code -Dhope.test.device=gpu} the children learn on the GPU, whose kernels are not bit-exact
 * from run to run: floats must then agree within {@link TestDevice#tolerance()} (counters, checkpoints
 * and dead letters stay exact); {@code scripts/gpu-check.sh} runs it so.
 *
 * <p>Logs of every child JVM are kept in {@code target/crash-recovery/}; a failure prints the tail
 * of the child concerned.
 */
class CrashRecoveryTest {
    private static final int N = 240;
    private static final long T0 = 1_000_000L;
    private static final long STEP_MS = 250L;
    private static final List<String> KEYS = List.of("doc-a", "doc-b", "doc-c", "doc-d");
    private static final String INPUT = "crash.events";
    /** The crashed run's input: the same events with poison records among them ({@link #poisoned}). */
    private static final String POISONED = "crash.poisoned.events";
    private static final Duration CHILD_DEADLINE = Duration.ofSeconds(120);
    private static final Path LOGS = Path.of("target", "crash-recovery");

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path work;

    private final List<ChildApp> children = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        children.forEach(ChildApp::kill);
    }

    /** The run's prefix of topics, application ids and logs ("" for B = 1, as before batching existed). */
    private String p = "";
    private int batch = 1;

    /**
     * B = 1 learns record by record; B = 8 batches (hope.batch.records = 8, a linger of 30 s of stream and wall
     * time, so that batches are cut only by a key already waiting, here every 4 records; a last record of a waiting
     * key ends the input, see {@link #input}): kills fall mid-batch, with records waiting in the pending-batch store,
     * and the result must still be bit-exact.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "hope.batch.records = {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 8})
    void sigkilledRunsCommitExactlyOnceAndEndWithTheUninterruptedModel(int batchRecords) throws Exception {
        batch = batchRecords;
        p = batchRecords == 1 ? "" : "b" + batchRecords + "-";
        long t0 = System.nanoTime();
        Files.createDirectories(LOGS);
        // Output records carry their event time (here 1970): with the default time retention the broker would
        // delete whole segments of them while the test runs, so the test's topics keep everything.
        SERVERS.kafka().admin().createTopics(Stream.of(INPUT, POISONED, "ref.learning", "ref.checkpoints", "ref.dlq", "crashy.learning",
                        "crashy.checkpoints", "crashy.dlq")
                .map(t -> new NewTopic(p + t, 1, (short) 1).configs(Map.of("retention.ms", "-1"))).toList())
                .all().get(30, TimeUnit.SECONDS);
        StreamTestSupport.produce(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), p + INPUT, input());
        Map<Long, String> poison = poisoned();

        // The uninterrupted reference run: its own application, input, output topics and state directory, so it
        // runs beside the crashed run (the children learn on one PyTorch thread each, deterministically however
        // busy the machine is). As before, it is stopped (SIGTERM) as soon as its output is complete: batched, the
        // record that ends the input must stay waiting, which a run left up past the 30 s wall-clock linger would
        // learn.
        ChildApp ref = start("ref", "ref", null);
        java.util.concurrent.CompletableFuture<String> refRun = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                waitForCommitted(ref, p + "ref.learning", N);
                return ref.summary(ref.terminate(), N) + " (SIGTERM at the end)";
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });

        // The crashed run: four self-inflicted SIGKILLs at the crash points, one from outside at a random
        // moment, then a run to the end.
        List<String> report = new ArrayList<>();
        long committed = 0;
        List<Long> committedAfter = new ArrayList<>();
        String[] points = {"record:37", "window-close:5", "checkpoint:2", "commit:3"};
        for (String point : points) {
            ChildApp c = start("crashy-" + point.replace(':', '-'), "crashy", point);
            int exit = c.awaitExit(CHILD_DEADLINE);
            String log = c.log();
            String name = point.substring(0, point.indexOf(':'));
            String n = point.substring(point.indexOf(':') + 1);
            assertEquals(137, exit, () -> c.name + " should have died of SIGKILL at " + point + "\n" + c.tail());
            assertTrue(log.contains("hope.crash.at: SIGKILL at " + name + " #" + n),
                    () -> c.name + " did not report the crash point\n" + c.tail());
            assertTrue(c.restoredRecords() >= committed, () -> c.name + " restored a model that learned less than "
                    + "the committed output of its predecessor\n" + c.tail());
            committed = countCommitted(p + "crashy.learning");
            committedAfter.add(committed);
            report.add(c.summary(exit, committed));
        }

        // Killed from outside at a random moment: once its committed output reaches a random count between
        // what the last child left and 40 records before the end (so that the kill falls mid-stream whatever
        // the machine's speed), plus a random 0-500 ms.
        Random random = new Random(20240611L);
        long before = committed;
        long target = before + 5 + random.nextInt((int) Math.max(1, N - 40 - before));
        long extraMs = random.nextInt(501);
        ChildApp e = start("crashy-external", "crashy", null);
        long deadline = System.nanoTime() + CHILD_DEADLINE.toNanos();
        while (countCommitted(p + "crashy.learning") < target) {
            assertTrue(e.process.isAlive(), () -> "crashy-external died by itself\n" + e.tail());
            assertTrue(System.nanoTime() < deadline, () -> "crashy-external did not reach " + target + "\n"
                    + e.tail());
            Thread.sleep(50);
        }
        Thread.sleep(extraMs);
        assertTrue(e.process.isAlive(), () -> "crashy-external died by itself\n" + e.tail());
        e.process.destroyForcibly();
        int exitE = e.awaitExit(Duration.ofSeconds(30));
        assertTrue(e.restoredRecords() >= before, () -> "crashy-external restored too little\n" + e.tail());
        assertEquals(137, exitE, "destroyForcibly is a SIGKILL");
        committed = countCommitted(p + "crashy.learning");
        committedAfter.add(committed);
        report.add(e.summary(exitE, committed) + ", killed " + extraMs + " ms after " + target + " were committed");

        // Progress across the crashed children, and the last one does not start from scratch.
        for (int i = 1; i < committedAfter.size(); i++) {
            assertTrue(committedAfter.get(i) >= committedAfter.get(i - 1), "committed output never shrinks: "
                    + committedAfter);
        }
        assertTrue(committedAfter.get(committedAfter.size() - 1) > committedAfter.get(0),
                "the crashed children made progress: " + committedAfter);
        assertTrue(committed < N, "the crashes left work for the last run: " + committedAfter);

        ChildApp last = start("crashy-final", "crashy", null);
        waitForCommitted(last, p + "crashy.learning", N);
        report.add(last.summary(last.terminate(), countCommitted(p + "crashy.learning")) + " (SIGTERM at the end)");
        String refSummary = RunComparison.join(refRun);
        assertTrue(last.restoredRecords() >= committedAfter.get(committedAfter.size() - 1) && committed > 0,
                "the last run continued from the stores\n" + last.tail());

        // Exactly one LearningEvent per good input record (none for a poison offset), counters exact, checkpoints
        // and stores equal to the reference's, which learned the same events without poison among them.
        SortedMap<RunComparison.InputOffset, RunComparison.InputOffset> good =
                RunComparison.skipping(0, N, poison.keySet());
        RunComparison.assertSameGoodRecordsAsUninterrupted(bootstrap(), registry(), p + "ref", p + "crashy", good,
                batch == 1);
        // One HIGH step per record, a MID step per 1 s window closed (4 records), a LOW step per 5 s (20), counted
        // in events (the reference's offsets): poison is no record of the learner.
        var crashEvents = RunComparison.learningEvents(bootstrap(), registry(), p + "crashy.learning");
        for (var in : good.entrySet()) {
            long offset = in.getKey().offset();
            long event = in.getValue().offset();
            assertEquals(event / 4, crashEvents.get(in.getKey()).getMidSteps(), "midSteps at offset " + offset);
            assertEquals(event / 20, crashEvents.get(in.getKey()).getLowSteps(), "lowSteps at offset " + offset);
        }

        // Exactly one dead letter per poison record, with its reason and offset; none in the reference run.
        assertEquals(0, countCommitted(p + "ref.dlq"), "the reference run's input had no poison");
        Map<Long, String> deadLetters = new TreeMap<>();
        for (var d : StreamTestSupport.readAllCommitted(bootstrap(), p + "crashy.dlq", Duration.ofSeconds(30))) {
            assertEquals(p + POISONED, StreamTestSupport.header(d, DeadLetter.TOPIC));
            assertEquals("0", StreamTestSupport.header(d, DeadLetter.PARTITION));
            assertEquals("ingest", StreamTestSupport.header(d, DeadLetter.STAGE));
            long offset = Long.parseLong(StreamTestSupport.header(d, DeadLetter.OFFSET));
            String old = deadLetters.put(offset, StreamTestSupport.header(d, DeadLetter.REASON));
            assertTrue(old == null, "two dead letters for input offset " + offset);
        }
        assertEquals(poison, deadLetters, "one dead letter per poison record, with its reason");
        assertEquals(EnumSet.allOf(StateGroup.class).stream().map(Enum::name).collect(Collectors.toSet()),
                StoreChangelogs.state(bootstrap(), p + "crashy-model-changelog").keySet());
        if (batch > 1) {
            assertTrue(StoreChangelogs.state(bootstrap(), p + "crashy-model-changelog").get(StateGroup.META.name())
                    .counters().get("steps.HIGH") < N / 2, "HIGH stepped once per batch, not per record");
        }

        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
        String summary = "crash test (hope.batch.records = " + batch + "): " + N + " records, reference run beside the crashed run, total "
                + seconds + " s, " + (points.length + 1) + " SIGKILLs; device " + TestDevice.device() + ", final model "
                + (TestDevice.tolerance() == 0 ? "bit-exact" : "within " + TestDevice.tolerance()) + "\n  " + refSummary
                + "\n  " + String.join("\n  ", report) + "\n";
        System.out.print(summary);
        Files.writeString(LOGS.resolve(p + "summary.txt"), summary);
    }

    /**
     * The fixed input: 4 keys, short texts, event times 250 ms apart (a MID window per 4, a LOW period per 20). Batched,
     * one more record of the last batch's first key ends it: that record learns the last batch, as a waiting key's
     * record does, where the wall-clock linger would hold it for 30-40 s in each of the two runs that reach the end;
     * it is none of the N records the comparisons read, and is left waiting in the pending-batch store by both.
     */
    private List<TextEvent> input() {
        List<TextEvent> events = new ArrayList<>(StreamTestSupport.shortEvents(N, KEYS, T0, STEP_MS));
        if (batch > 1) {
            events.add(StreamTestSupport.event("ev-end", KEYS.get(N % KEYS.size()), "the end", T0 + STEP_MS * N));
        }
        return events;
    }

    /**
     * Writes {@link #input()} to {@link #POISONED} with a poison record of each ingest-stage kind among the events
     * (one producer, in order); returns the poison records' offsets and the dead-letter reason each must get.
     */
    private Map<Long, String> poisoned() throws Exception {
        String registry = registry();
        List<TextEvent> events = input();
        // before event i: a poison record {reason, Kafka key, value}
        Map<Integer, Object[]> before = new TreeMap<>();
        String poisoned = p + POISONED;
        byte[] whole = StreamTestSupport.avroBytes(registry, poisoned, StreamTestSupport.event("cut", "doc-a",
                "an Avro body cut in half", T0));
        before.put(3, new Object[] {"corrupt", "doc-a", StreamTestSupport.utf8("plain text, not the wire format")});
        before.put(38, new Object[] {"unknown-schema", "doc-b", new byte[] {0, 0, 0, 0x7f, 0x7e, 1, 2, 3}});
        before.put(61, new Object[] {"wrong-schema", "doc-c", StreamTestSupport.avroBytes(registry, poisoned,
                StreamTestSupport.event("past", "doc-c", "from before 1970", -5000L))});
        before.put(99, new Object[] {"undecodable", "doc-d", Arrays.copyOf(whole, 5 + (whole.length - 5) / 2)});
        before.put(140, new Object[] {"future-time", "doc-a", StreamTestSupport.avroBytes(registry, poisoned,
                StreamTestSupport.event("future", "doc-a", "from the year 3000",
                        Instant.parse("3000-01-01T00:00:00Z").toEpochMilli()))});
        before.put(177, new Object[] {"empty", "doc-b", new byte[0]});
        before.put(219, new Object[] {"key-too-long", "doc-c", StreamTestSupport.avroBytes(registry, poisoned,
                StreamTestSupport.event("long", "k".repeat(5000), "a context key over the cap", T0))});
        Map<Long, String> poison = new TreeMap<>();
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(StreamTestSupport.producerProps(bootstrap()),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < events.size(); i++) {
                Object[] bad = before.get(i);
                if (bad != null) {
                    var md = p.send(new ProducerRecord<>(poisoned, StreamTestSupport.utf8((String) bad[1]),
                            (byte[]) bad[2])).get(30, TimeUnit.SECONDS);
                    poison.put(md.offset(), (String) bad[0]);
                }
                TextEvent e = events.get(i);
                p.send(new ProducerRecord<>(poisoned, StreamTestSupport.utf8(e.getKey()),
                        StreamTestSupport.avroBytes(registry, poisoned, e))).get(30, TimeUnit.SECONDS);
            }
        }
        assertEquals(before.size(), poison.size());
        return poison;
    }

    /** A child of application {@code appId}: the reference ("ref") reads the events, the crashed run the poisoned. */
    private ChildApp start(String name, String appId, String crashAt) throws IOException {
        Map<String, Object> config = ChildApp.config(SERVERS, p + appId, p + (appId.equals("ref") ? INPUT : POISONED),
                work.resolve(p + appId + "-state"));
        if (batch > 1) {
            config.put(HopeStreamsConfig.BATCH_RECORDS, Integer.toString(batch));
            config.put(HopeStreamsConfig.BATCH_LINGER_MS, "30000");
        }
        ChildApp c = ChildApp.start(p + name, config,
                crashAt == null ? List.of() : List.of("-D" + CrashPoints.PROPERTY + "=" + crashAt), LOGS);
        children.add(c);
        return c;
    }

    private static long countCommitted(String topic) {
        return RunComparison.countCommitted(bootstrap(), topic);
    }

    private static void waitForCommitted(ChildApp c, String topic, int n) throws InterruptedException {
        ChildApp.awaitCommitted(bootstrap(), topic, n, Duration.ofSeconds(180), c);
    }

    private static String bootstrap() {
        return SERVERS.kafka().bootstrapServers();
    }

    private static String registry() {
        return SERVERS.registry().apiUrl();
    }
}

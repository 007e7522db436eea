package org.hopestreams.stream;

import org.apache.kafka.clients.admin.NewTopic;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.learn.StateGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
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
 * <p>Tolerance: none. Restoring is exact (state travels as raw tensor bytes through the changelogs)
 * and processing is deterministic on CPU (seeded initialisation, stream-time windows and
 * checkpoints, one PyTorch thread in both runs), so the crashed run's model must be bit-for-bit
 * the uninterrupted run's, and so must every LearningEvent's scores. Should a group ever differ,
 * the failure message lists each differing tensor with its largest absolute and relative difference.
 *
 * <p>Logs of every child JVM are kept in {@code target/crash-recovery/}; a failure prints the tail
 * of the child concerned.
 */
class CrashRecoveryTest {
    private static final int N = 240;
    private static final long T0 = 1_000_000L;
    private static final long STEP_MS = 250L;
    private static final String INPUT = "crash.events";
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

    @Test
    void sigkilledRunsCommitExactlyOnceAndEndWithTheUninterruptedModel() throws Exception {
        long t0 = System.nanoTime();
        Files.createDirectories(LOGS);
        // Output records carry their event time (here 1970): with the default time retention the broker would
        // delete whole segments of them while the test runs, so the test's topics keep everything.
        SERVERS.kafka().admin().createTopics(Stream.of(INPUT, "ref.learning", "ref.checkpoints", "ref.dlq", "crashy.learning",
                        "crashy.checkpoints", "crashy.dlq")
                .map(t -> new NewTopic(t, 1, (short) 1).configs(Map.of("retention.ms", "-1"))).toList())
                .all().get(30, TimeUnit.SECONDS);
        StreamTestSupport.produce(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), INPUT, input());

        // The uninterrupted reference run.
        ChildApp ref = start("ref", "ref", null);
        waitForCommitted(ref, "ref.learning", N);
        String refSummary = ref.summary(ref.terminate(), N) + " (SIGTERM at the end)";
        long refSeconds = (System.nanoTime() - t0) / 1_000_000_000L;

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
            committed = countCommitted("crashy.learning");
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
        while (countCommitted("crashy.learning") < target) {
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
        committed = countCommitted("crashy.learning");
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
        waitForCommitted(last, "crashy.learning", N);
        report.add(last.summary(last.terminate(), countCommitted("crashy.learning")) + " (SIGTERM at the end)");
        assertTrue(last.restoredRecords() >= committedAfter.get(committedAfter.size() - 1) && committed > 0,
                "the last run continued from the stores\n" + last.tail());

        // Exactly one LearningEvent per input record, counters exact, checkpoints and stores equal to the reference's.
        RunComparison.assertSameAsUninterrupted(bootstrap(), registry(), "ref", "crashy",
                LongStream.range(0, N).mapToObj(o -> new RunComparison.InputOffset(0, o))
                        .collect(Collectors.toCollection(TreeSet::new)));
        // One HIGH step per record, a MID step per 1 s window closed (4 records), a LOW step per 5 s (20).
        for (var ev : RunComparison.learningEvents(bootstrap(), registry(), "crashy.learning").entrySet()) {
            long offset = ev.getKey().offset();
            assertEquals(offset / 4, ev.getValue().getMidSteps(), "midSteps at offset " + offset);
            assertEquals(offset / 20, ev.getValue().getLowSteps(), "lowSteps at offset " + offset);
        }
        assertEquals(EnumSet.allOf(StateGroup.class).stream().map(Enum::name).collect(Collectors.toSet()),
                StoreChangelogs.state(bootstrap(), "crashy-model-changelog").keySet());

        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
        String summary = "crash test: " + N + " records, reference run done after " + refSeconds + " s, total "
                + seconds + " s, " + (points.length + 1) + " SIGKILLs; final model bit-exact\n  " + refSummary
                + "\n  " + String.join("\n  ", report) + "\n";
        System.out.print(summary);
        Files.writeString(LOGS.resolve("summary.txt"), summary);
    }

    /** The fixed input: 4 keys, short texts, event times 250 ms apart (a MID window per 4, a LOW period per 20). */
    private static List<TextEvent> input() {
        return StreamTestSupport.shortEvents(N, List.of("doc-a", "doc-b", "doc-c", "doc-d"), T0, STEP_MS);
    }

    private ChildApp start(String name, String appId, String crashAt) throws IOException {
        ChildApp c = ChildApp.start(name, ChildApp.config(SERVERS, appId, INPUT, work.resolve(appId + "-state")),
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

package org.hopestreams.stream;

import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.avro.CheckpointEvent;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.learn.StateGroup;
import org.hopestreams.store.StateSnapshot;
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
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

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
 *
 * <p>Logs of every child JVM are kept in {@code target/crash-recovery/}; a failure prints the tail
 * of the child concerned.
 */
class CrashRecoveryTest {
    private static final int N = 240;
    private static final long T0 = 1_000_000L;
    private static final long STEP_MS = 250L;
    private static final String INPUT = "crash.events";
    /** The crashed run's input: the same events with poison records among them ({@link #poisoned}). */
    private static final String POISONED = "crash.poisoned.events";
    private static final Duration CHILD_DEADLINE = Duration.ofSeconds(120);
    private static final Pattern RESTORED = Pattern.compile("restored from the stores \\((\\d+) records learned\\)");
    private static final Path LOGS = Path.of("target", "crash-recovery");

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path work;

    private final List<Child> children = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        for (Child c : children) {
            c.process.destroyForcibly();
        }
    }

    @Test
    void sigkilledRunsCommitExactlyOnceAndEndWithTheUninterruptedModel() throws Exception {
        long t0 = System.nanoTime();
        Files.createDirectories(LOGS);
        // Output records carry their event time (here 1970): with the default time retention the broker would
        // delete whole segments of them while the test runs, so the test's topics keep everything.
        SERVERS.kafka().admin().createTopics(Stream.of(INPUT, POISONED, "ref.learning", "ref.checkpoints", "ref.dlq", "crashy.learning",
                        "crashy.checkpoints", "crashy.dlq")
                .map(t -> new NewTopic(t, 1, (short) 1).configs(Map.of("retention.ms", "-1"))).toList())
                .all().get(30, TimeUnit.SECONDS);
        StreamTestSupport.produce(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), INPUT, input());
        Map<Long, String> poison = poisoned();

        // The uninterrupted reference run.
        Child ref = start("ref", "ref", null);
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
            Child c = start("crashy-" + point.replace(':', '-'), "crashy", point);
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
        Child e = start("crashy-external", "crashy", null);
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

        Child last = start("crashy-final", "crashy", null);
        waitForCommitted(last, "crashy.learning", N);
        report.add(last.summary(last.terminate(), countCommitted("crashy.learning")) + " (SIGTERM at the end)");
        assertTrue(last.restoredRecords() >= committedAfter.get(committedAfter.size() - 1) && committed > 0,
                "the last run continued from the stores\n" + last.tail());

        // Exactly one LearningEvent per good input record, counters exact and equal to the reference's, which
        // learned the same events without poison among them.
        Map<Long, LearningEvent> refEvents = learningEvents("ref.learning");
        Map<Long, LearningEvent> crashByOffset = learningEvents("crashy.learning");
        List<Long> goodOffsets = LongStream.range(0, N + poison.size()).filter(o -> !poison.containsKey(o)).boxed()
                .toList();
        assertEquals(LongStream.range(0, N).boxed().toList(), List.copyOf(refEvents.keySet()));
        assertEquals(goodOffsets, List.copyOf(crashByOffset.keySet()), "one LearningEvent per good input offset");
        Map<Long, LearningEvent> crashEvents = new TreeMap<>();
        for (int i = 0; i < N; i++) {
            crashEvents.put((long) i, crashByOffset.get(goodOffsets.get(i)));
        }
        for (long offset = 0; offset < N; offset++) {
            LearningEvent r = refEvents.get(offset);
            LearningEvent c = crashEvents.get(offset);
            // One HIGH step per record, a MID step per 1 s window closed (4 records), a LOW step per 5 s (20).
            assertEquals(offset + 1, c.getHighSteps(), "highSteps at offset " + offset);
            assertEquals(offset / 4, c.getMidSteps(), "midSteps at offset " + offset);
            assertEquals(offset / 20, c.getLowSteps(), "lowSteps at offset " + offset);
            assertEquals(r.getHighSteps(), c.getHighSteps());
            assertEquals(r.getMidSteps(), c.getMidSteps());
            assertEquals(r.getLowSteps(), c.getLowSteps());
            assertEquals(r.getModelVersion(), c.getModelVersion(), "modelVersion at offset " + offset);
            assertEquals(r.getId(), c.getId());
            assertEquals(r.getKey(), c.getKey());
            // Scores are computed before learning the record: equal scores mean the model that met the
            // record was the reference's, record after record (bit-exact, see the class comment).
            assertEquals(r.getBitsPerByte(), c.getBitsPerByte(), 0.0, "bitsPerByte at offset " + offset);
            assertEquals(r.getSurprise(), c.getSurprise(), "surprise at offset " + offset);
        }

        // Exactly one dead letter per poison record, none in the reference run.
        assertEquals(0, countCommitted("ref.dlq"), "the reference run's input had no poison");
        Map<Long, String> deadLetters = new TreeMap<>();
        for (var d : readAll("crashy.dlq", new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            assertEquals(POISONED, StreamTestSupport.header(d, DeadLetter.TOPIC));
            assertEquals("0", StreamTestSupport.header(d, DeadLetter.PARTITION));
            assertEquals("ingest", StreamTestSupport.header(d, DeadLetter.STAGE));
            long offset = Long.parseLong(StreamTestSupport.header(d, DeadLetter.OFFSET));
            String old = deadLetters.put(offset, StreamTestSupport.header(d, DeadLetter.REASON));
            assertTrue(old == null, "two dead letters for input offset " + offset);
        }
        assertEquals(poison, deadLetters, "one dead letter per poison record, with its reason");

        // One CheckpointEvent per LOW step, no duplicate version, equal to the reference's.
        List<CheckpointEvent> refCps = checkpointEvents("ref.checkpoints");
        List<CheckpointEvent> crashCps = checkpointEvents("crashy.checkpoints");
        long lowSteps = refEvents.get((long) N - 1).getLowSteps();
        assertEquals(lowSteps, refCps.size(), "reference: one CheckpointEvent per LOW step");
        assertEquals(lowSteps, crashCps.size(), "crashed run: one CheckpointEvent per LOW step");
        assertEquals(lowSteps, refCps.stream().map(CheckpointEvent::getModelVersion).distinct().count(),
                "reference: no duplicate model version");
        assertEquals(lowSteps, crashCps.stream().map(CheckpointEvent::getModelVersion).distinct().count(),
                "crashed run: no duplicate model version");
        for (int i = 0; i < lowSteps; i++) {
            CheckpointEvent r = refCps.get(i);
            CheckpointEvent c = crashCps.get(i);
            assertEquals(List.of(r.getModelVersion(), r.getRecords(), r.getHighSteps(), r.getMidSteps(),
                            r.getLowSteps(), r.getStreamTime().toEpochMilli(), r.getStateBytes()),
                    List.of(c.getModelVersion(), c.getRecords(), c.getHighSteps(), c.getMidSteps(),
                            c.getLowSteps(), c.getStreamTime().toEpochMilli(), c.getStateBytes()),
                    "checkpoint " + i);
            assertEquals(i + 1, c.getLowSteps());
        }

        // The final model: every store's latest committed state, from the changelogs.
        for (String store : List.of(HopeProcessor.MODEL, HopeProcessor.FAST_MEMORY, HopeProcessor.CHECKPOINTS)) {
            Map<String, StateSnapshot> expected = StoreChangelogs.state(SERVERS.kafka().bootstrapServers(), "ref-" + store + "-changelog");
            Map<String, StateSnapshot> actual = StoreChangelogs.state(SERVERS.kafka().bootstrapServers(), "crashy-" + store + "-changelog");
            assertFalse(expected.isEmpty(), store);
            assertEquals(expected.keySet(), actual.keySet(), store + " entries");
            String diff = StoreChangelogs.differences(expected, actual);
            assertTrue(diff.isEmpty(), store + " store of the crashed run differs from the reference:\n" + diff);
        }
        assertEquals(EnumSet.allOf(StateGroup.class).stream().map(Enum::name).collect(Collectors.toSet()),
                StoreChangelogs.state(SERVERS.kafka().bootstrapServers(), "crashy-model-changelog").keySet());

        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
        String summary = "crash test: " + N + " records, reference run done after " + refSeconds + " s, total "
                + seconds + " s, " + (points.length + 1) + " SIGKILLs; final model bit-exact\n  " + refSummary
                + "\n  " + String.join("\n  ", report) + "\n";
        System.out.print(summary);
        Files.writeString(LOGS.resolve("summary.txt"), summary);
    }

    /** The fixed input: 4 keys, short texts, event times 250 ms apart (a MID window per 4, a LOW period per 20). */
    private static List<TextEvent> input() {
        List<TextEvent> events = new ArrayList<>();
        String[] words = {"river", "quartz", "lantern", "meadow", "copper", "harbor", "violet", "summit"};
        for (int i = 0; i < N; i++) {
            String key = "doc-" + (char) ('a' + i % 4);
            String text = "entry " + i + " of " + key + ": the " + words[i % words.length] + " near the "
                    + words[(i * 3 + 1) % words.length] + " is " + (i * 37 % 101) + " steps away.";
            events.add(StreamTestSupport.event("ev-" + i, key, text, T0 + STEP_MS * i));
        }
        return events;
    }

    /**
     * Writes {@link #input()} to {@link #POISONED} with a poison record of each ingest-stage kind among the events
     * (one producer, in order); returns the poison records' offsets and the dead-letter reason each must get.
     */
    private static Map<Long, String> poisoned() throws Exception {
        String registry = SERVERS.registry().apiUrl();
        List<TextEvent> events = input();
        // before event i: a poison record
        Map<Integer, Object[]> before = new TreeMap<>();
        byte[] whole = StreamTestSupport.avroBytes(registry, POISONED, StreamTestSupport.event("cut", "doc-a",
                "an Avro body cut in half", T0));
        before.put(3, new Object[] {"corrupt", "doc-a", StreamTestSupport.utf8("plain text, not the wire format")});
        before.put(38, new Object[] {"unknown-schema", "doc-b", new byte[] {0, 0, 0, 0x7f, 0x7e, 1, 2, 3}});
        before.put(61, new Object[] {"wrong-schema", "doc-c", StreamTestSupport.avroBytes(registry, POISONED,
                StreamTestSupport.event("past", "doc-c", "from before 1970", -5000L))});
        before.put(99, new Object[] {"undecodable", "doc-d", java.util.Arrays.copyOf(whole, 5 + (whole.length - 5) / 2)});
        before.put(140, new Object[] {"future-time", "doc-a", StreamTestSupport.avroBytes(registry, POISONED,
                StreamTestSupport.event("future", "doc-a", "from the year 3000",
                        java.time.Instant.parse("3000-01-01T00:00:00Z").toEpochMilli()))});
        before.put(177, new Object[] {"empty", "doc-b", new byte[0]});
        before.put(219, new Object[] {"key-too-long", "doc-c", StreamTestSupport.avroBytes(registry, POISONED,
                StreamTestSupport.event("long", "k".repeat(5000), "a context key over the cap", T0))});
        Map<Long, String> poison = new TreeMap<>();
        try (org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> p =
                     new org.apache.kafka.clients.producer.KafkaProducer<>(StreamTestSupport.producerProps(
                             SERVERS.kafka().bootstrapServers()), new org.apache.kafka.common.serialization.ByteArraySerializer(),
                             new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            for (int i = 0; i < events.size(); i++) {
                Object[] bad = before.get(i);
                if (bad != null) {
                    var md = p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(POISONED,
                            StreamTestSupport.utf8((String) bad[1]), (byte[]) bad[2])).get(30, TimeUnit.SECONDS);
                    poison.put(md.offset(), (String) bad[0]);
                }
                TextEvent e = events.get(i);
                p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(POISONED, StreamTestSupport.utf8(e.getKey()),
                        StreamTestSupport.avroBytes(registry, POISONED, e))).get(30, TimeUnit.SECONDS);
            }
        }
        assertEquals(before.size(), poison.size());
        return poison;
    }

    // ---------------------------------------------------------------- child JVMs

    private Child start(String name, String appId, String crashAt) throws IOException {
        Map<String, Object> m = StreamTestSupport.appConfig(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), appId,
                work.resolve(appId + "-state"));
        m.put(HopeStreamsConfig.INPUT_TOPIC, appId.equals("ref") ? INPUT : POISONED);
        m.put(HopeStreamsConfig.LEARNING_TOPIC, appId + ".learning");
        m.put(HopeStreamsConfig.CHECKPOINTS_TOPIC, appId + ".checkpoints");
        m.put(HopeStreamsConfig.DLQ_TOPIC, appId + ".dlq");
        m.put(HopeStreamsConfig.DEVICE, "cpu");
        // A SIGKILLed member stays in the group until its session times out (the broker's minimum is 6 s);
        // its open transaction is aborted at once when the next child, with the same process id (kept in
        // the state directory) and so the same transactional id, starts its producer.
        m.put("session.timeout.ms", "6000");
        m.put("heartbeat.interval.ms", "1000");
        m.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        m.remove(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG);
        m.remove(HopeStreamsConfig.REGISTRY_URL);

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx768m", "-XX:+UseSerialGC", "-Dai.djl.offline=true",
                "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.streams.KafkaStreams=info"));
        if (crashAt != null) {
            cmd.add("-D" + CrashPoints.PROPERTY + "=" + crashAt);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.hopestreams.cli.HopeCli", "run",
                "--bootstrap-servers", SERVERS.kafka().bootstrapServers(), "--registry-url", SERVERS.registry().apiUrl(),
                "--threads", "1"));
        new TreeMap<>(m).forEach((k, v) -> cmd.addAll(List.of("--set", k + "=" + v)));
        Path log = LOGS.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Child c = new Child(name, p, log, System.nanoTime());
        children.add(c);
        return c;
    }

    /** Waits until {@code topic} holds {@code n} committed records while the child lives. */
    private void waitForCommitted(Child c, String topic, int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        long count = 0;
        while ((count = countCommitted(topic)) < n) {
            if (!c.process.isAlive()) {
                fail(c.name + " exited with " + c.process.exitValue() + " after " + count + " committed records\n"
                        + c.tail());
            }
            if (System.nanoTime() > deadline) {
                fail(c.name + ": only " + count + " of " + n + " records committed in time\n" + c.tail());
            }
            Thread.sleep(250);
        }
    }

    private static final class Child {
        final String name;
        final Process process;
        final Path log;
        final long started;

        Child(String name, Process process, Path log, long started) {
            this.name = name;
            this.process = process;
            this.log = log;
            this.started = started;
        }

        int awaitExit(Duration timeout) throws InterruptedException {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                String tail = tail();
                process.destroyForcibly();
                fail(name + " did not exit within " + timeout.toSeconds() + " s\n" + tail);
            }
            return process.exitValue();
        }

        /** SIGTERM: the run command closes the application cleanly (commit, leave the group). */
        int terminate() throws InterruptedException {
            process.destroy();
            int code = awaitExit(Duration.ofSeconds(60));
            assertEquals(0, code, name + " on SIGTERM\n" + tail());
            assertTrue(log().contains("hope run: stopped cleanly"), name + " closed the app\n" + tail());
            return code;
        }

        String log() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }

        String tail() {
            List<String> lines = log().lines().toList();
            return "---- tail of " + log + " ----\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        }

        /** Records learned in the model this child restored, 0 if it started a new model. */
        long restoredRecords() {
            Matcher m = RESTORED.matcher(log());
            return m.find() ? Long.parseLong(m.group(1)) : 0;
        }

        String summary(int exit, long committed) {
            return String.format("%-28s exit %3d after %5.1f s, restored %3d records learned, %3d committed after it",
                    name, exit, (System.nanoTime() - started) / 1e9, restoredRecords(), committed);
        }
    }

    // ---------------------------------------------------------------- reading committed topics

    /** Every committed record of the (one-partition) topic, from the beginning to the last stable offset. */
    private static <K, V> List<ConsumerRecord<K, V>> readAll(String topic, Deserializer<K> kd, Deserializer<V> vd) {
        Map<String, Object> props = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SERVERS.kafka().bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "crash-test-" + UUID.randomUUID(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<K, V>> out = new ArrayList<>();
        try (KafkaConsumer<K, V> consumer = new KafkaConsumer<>(props, kd, vd)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (consumer.position(tp) < end) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("cannot read " + topic + " up to offset " + end);
                }
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    private static long countCommitted(String topic) {
        return readAll(topic, new ByteArrayDeserializer(), new ByteArrayDeserializer()).size();
    }

    /** LearningEvents by source offset; fails on a duplicate. */
    private static Map<Long, LearningEvent> learningEvents(String topic) {
        Map<Long, LearningEvent> out = new TreeMap<>();
        for (var r : readAll(topic, new StringDeserializer(),
                StreamTestSupport.<Object>avroDeserializer(SERVERS.registry().apiUrl()))) {
            LearningEvent e = (LearningEvent) r.value();
            LearningEvent old = out.put(e.getSourceOffset(), e);
            assertTrue(old == null, topic + ": two LearningEvents for input offset " + e.getSourceOffset());
        }
        return out;
    }

    private static List<CheckpointEvent> checkpointEvents(String topic) {
        return readAll(topic, new StringDeserializer(), StreamTestSupport.<Object>avroDeserializer(SERVERS.registry().apiUrl()))
                .stream().map(r -> (CheckpointEvent) r.value()).toList();
    }
}

package org.hopestreams.cli;

import ai.djl.Device;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.embedded.EmbeddedKafka;
import org.hopestreams.embedded.EmbeddedRegistry;
import org.hopestreams.learn.LearnOutcome;
import org.hopestreams.store.PersistStats;
import org.hopestreams.stream.HopeProcessor;
import org.hopestreams.stream.HopeStreamsConfig;
import org.hopestreams.stream.LearnerHub;
import org.hopestreams.stream.StoreRestores;
import org.hopestreams.stream.StreamApp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * {@code bench --restore}: how long a restarted instance that lost its local state (a new pod, a wiped disk) takes
 * to restore its stores from the changelogs and learn again, and how much of the model changelog it replays
 * compared with one model version. One partition, the full topology under exactly-once, on the in-JVM broker:
 * learn RECORDS records (a LOW version every {@code checkpointMs} of stream time), stop, delete the state
 * directory, add one record, start again.
 */
final class RestoreBench {
    private static final long STEP_MS = 100;

    private RestoreBench() {
    }

    static void run(String preset, int records, int recordBytes, byte[] data, Device device, long commitMs,
                    String contextMode, long checkpointMs) throws Exception {
        Path state = Files.createTempDirectory("hope-restore-bench");
        Map<String, Object> m = StreamBench.settings(preset, recordBytes, contextMode, device, commitMs, state,
                "restore-bench-");
        m.put(HopeStreamsConfig.CHECKPOINT_CLOCK, "stream");
        m.put(HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, Long.toString(checkpointMs));
        try (EmbeddedKafka kafka = EmbeddedKafka.start(); EmbeddedRegistry registry = EmbeddedRegistry.builder().start()) {
            m.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            m.put(HopeStreamsConfig.REGISTRY_URL, registry.ccompatUrl());
            HopeStreamsConfig config = new HopeStreamsConfig(m);
            StreamApp.createTopics(config, 1, (short) 1);
            String changelog = m.get(StreamsConfig.APPLICATION_ID_CONFIG) + "-" + HopeProcessor.MODEL + "-changelog";

            StreamBench.produce(config, 0, records, recordBytes, data);
            long[] before = PersistStats.snapshot();
            AtomicLong versions = new AtomicLong();
            long learnStart = System.nanoTime();
            try (StreamApp app = StreamApp.start(config)) {
                app.hub().addListener(new LearnerHub.Listener() {
                    @Override
                    public void checkpoint(int partition, long version, long wallMs, long bytes) {
                        versions.incrementAndGet();
                    }
                });
                awaitCommitted(app, kafka.bootstrapServers(), config.learningTopic(), records);
            }
            double learnSeconds = (System.nanoTime() - learnStart) / 1e9;
            long[] after = PersistStats.snapshot();
            long modelCommits = after[0] - before[0];
            long modelWritten = after[2] - before[2];

            // What a restore of the model store reads now: every record from the log start (whatever compaction
            // left, plus the active segment, which is never compacted), against one version (the latest value of
            // each key).
            long[] log = readChangelog(kafka.bootstrapServers(), changelog);
            long onDisk = sizeOnDisk(kafka, changelog);

            deleteRecursively(state);
            StreamBench.produce(config, records, 1, recordBytes, data);
            AtomicLong firstLearned = new AtomicLong();
            AtomicLong highSteps = new AtomicLong();
            long t0 = System.nanoTime();
            long running;
            List<StoreRestores.Restore> restores;
            try (StreamApp app = StreamApp.start(config)) {
                app.hub().addListener(new LearnerHub.Listener() {
                    @Override
                    public void learned(int partition, String key, LearnOutcome o, long nanos) {
                        highSteps.compareAndSet(0, o.levelSteps()[0]);
                        firstLearned.compareAndSet(0, System.nanoTime());
                    }
                });
                long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
                while (app.streams().state() != KafkaStreams.State.RUNNING || firstLearned.get() == 0) {
                    check(app, deadline, "the restarted instance did not learn the new record");
                    Thread.sleep(5);
                }
                running = System.nanoTime();
                awaitCommitted(app, kafka.bootstrapServers(), config.learningTopic(), records + 1);
                restores = app.restores().finished();
            }
            deleteRecursively(state);

            System.out.printf("preset %s, %d records of %d bytes learned in %.1f s (commit.interval.ms %d, a LOW version "
                    + "every %d ms of stream time: %d versions), exactly_once_v2, one partition%n", preset, records,
                    recordBytes, learnSeconds, commitMs, checkpointMs, versions.get());
            System.out.printf("  model changelog   %d commits wrote %.1f MiB (the history); at the restart the log held "
                    + "%d records, %.1f MiB (%.1f MiB on disk); one model version (latest value per key) is %d "
                    + "records, %.1f MiB: the restore replays %.1f versions%n", modelCommits, mib(modelWritten), log[0],
                    mib(log[1]), mib(onDisk), log[2], mib(log[3]), (double) log[1] / log[3]);
            System.out.printf("  restart, state directory deleted: first record learned after %.2f s (highSteps %d), "
                    + "RUNNING and learned by %.2f s%n", (firstLearned.get() - t0) / 1e9, highSteps.get(),
                    (running - t0) / 1e9);
            for (StoreRestores.Restore r : restores) {
                System.out.printf("  restored %-12s %6d records (offsets %d to %d) in %.2f s%n", r.store(), r.records(),
                        r.from(), r.to(), r.nanos() / 1e9);
            }
        }
    }

    private static void check(StreamApp app, long deadline, String what) {
        if (app.failure() != null) {
            throw new IllegalStateException("the stream failed", app.failure());
        }
        if (System.nanoTime() > deadline) {
            throw new IllegalStateException(what + " within 10 minutes (state " + app.streams().state() + ")");
        }
    }

    /** Waits until {@code n} LearningEvents are committed, so that the model store is committed up to them. */
    private static void awaitCommitted(StreamApp app, String bootstrap, String topic, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
        try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
            c.subscribe(List.of(topic));
            int seen = 0;
            while (seen < n) {
                check(app, deadline, "only " + seen + " of " + n + " LearningEvents were committed");
                seen += c.poll(Duration.ofMillis(100)).count();
            }
        }
    }

    /** {records, bytes, records of one version, bytes of one version} of the committed changelog. */
    private static long[] readChangelog(String bootstrap, String topic) {
        Map<Bytes, Integer> latest = new HashMap<>();
        long count = 0;
        long bytes = 0;
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            while (c.position(tp) < end) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    int size = r.key().length + (r.value() == null ? 0 : r.value().length);
                    count++;
                    bytes += size;
                    if (r.value() == null) {
                        latest.remove(Bytes.wrap(r.key()));
                    } else {
                        latest.put(Bytes.wrap(r.key()), size);
                    }
                }
            }
        }
        return new long[] {count, bytes, latest.size(), latest.values().stream().mapToLong(Integer::longValue).sum()};
    }

    private static long sizeOnDisk(EmbeddedKafka kafka, String topic) throws Exception {
        long size = 0;
        for (Map<String, LogDirDescription> dirs : kafka.admin().describeLogDirs(List.of(0)).allDescriptions()
                .get(30, TimeUnit.SECONDS).values()) {
            for (LogDirDescription d : dirs.values()) {
                var info = d.replicaInfos().get(new TopicPartition(topic, 0));
                size += info == null ? 0 : info.size();
            }
        }
        return size;
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
        return new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "restore-bench-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static double mib(long bytes) {
        return bytes / 1048576.0;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

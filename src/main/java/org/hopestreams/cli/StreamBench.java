package org.hopestreams.cli;

import ai.djl.Device;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.embedded.EmbeddedKafka;
import org.hopestreams.embedded.EmbeddedRegistry;
import org.hopestreams.learn.InMemoryFastStateStore;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.learn.StateGroup;
import org.hopestreams.store.PersistStats;
import org.hopestreams.store.StateCodec;
import org.hopestreams.stream.HopeStreamsConfig;
import org.hopestreams.stream.StreamApp;
import org.hopestreams.stream.TextEventProducer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * {@code bench --stream}: bytes learned per second end to end (Avro events through a real in-JVM
 * broker and the Apicurio registry, the full topology with exactly-once commits and RocksDB state)
 * beside the model-only rate of the same preset and records in the same process, and what
 * persisting state costs per record and per commit.
 */
final class StreamBench {
    private static final int KEYS = 4;
    private static final long STEP_MS = 100;

    private StreamBench() {
    }

    /** The settings every streaming benchmark shares: one replica, no warm-up, 1 s windows, any HTTP port. */
    static Map<String, Object> settings(String preset, int recordBytes, String contextMode, Device device, long commitMs,
                                        Path state, String appPrefix) {
        Map<String, Object> m = new HashMap<>();
        m.put(HopeStreamsConfig.MODEL_PRESET, preset);
        m.put(HopeStreamsConfig.WARMUP_RECORDS, "0");
        m.put(HopeStreamsConfig.WINDOW_MS, "1000");
        m.put(HopeStreamsConfig.RECORD_MAX_BYTES, Integer.toString(recordBytes));
        m.put(HopeStreamsConfig.CONTEXT_MODE, contextMode);
        m.put(HopeStreamsConfig.DEVICE, device.isGpu() ? "gpu" : "cpu");
        m.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.toString(commitMs));
        m.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, appPrefix + UUID.randomUUID());
        m.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "1");
        m.put(HopeStreamsConfig.HTTP_PORT, "0");
        m.put(HopeStreamsConfig.HTTP_MANAGEMENT_PORT, "-1");
        return m;
    }

    /**
     * One end-to-end run with {@code hope.batch.records} = {@code batch}: the input has max(4, B) keys in turn
     * (so that each batch of B records is of distinct keys), a multiple of B records (no batch waits for its
     * linger at the end), and a linger long enough in stream time for a batch to fill (2 B x 100 ms, at
     * least 1 s); the model-only rate learns the same records B at a time with {@link Learner#learnBatch}.
     */
    static void run(String preset, int records, int recordBytes, byte[] data, Device device, long commitMs,
                    boolean repartition, String contextMode, int batch) throws Exception {
        if (batch < 1) {
            throw new IllegalArgumentException("--batch-records " + batch + " must be >= 1");
        }
        int keys = Math.max(KEYS, batch);
        // At least --records after 5 warm-up records (which the model-only rate does not time), the whole input
        // rounded up to whole batches: the stream's batches (from its first record) all fill, none waits for its linger.
        int total = (records + 5 + batch - 1) / batch * batch;
        records = total - 5;
        Path state = Files.createTempDirectory("hope-bench-state");
        Map<String, Object> m = settings(preset, recordBytes, contextMode, device, commitMs, state, "bench-");
        m.put(HopeStreamsConfig.REPARTITION, Boolean.toString(repartition));
        m.put(HopeStreamsConfig.BATCH_RECORDS, Integer.toString(batch));
        m.put(HopeStreamsConfig.BATCH_LINGER_MS, Long.toString(Math.max(1000, 2 * batch * STEP_MS)));
        HopeStreamsConfig base = new HopeStreamsConfig(m);

        // Model only: the same learner settings, records, keys and event times, no Kafka; measured before and
        // after the end-to-end run (a shared host drifts), the mean is the reference.
        double[] alt = new double[1];
        double modelBefore = modelOnly(base, records, recordBytes, data, device, alt, keys, batch);
        double perRecordAlt = alt[0];
        long[] before = PersistStats.snapshot();
        try (EmbeddedKafka kafka = EmbeddedKafka.start(); EmbeddedRegistry registry = EmbeddedRegistry.builder().start()) {
            m.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            m.put(HopeStreamsConfig.REGISTRY_URL, registry.ccompatUrl());
            HopeStreamsConfig config = new HopeStreamsConfig(m);
            StreamApp.createTopics(config, 1, (short) 1);
            produce(config, 0, total, recordBytes, data, keys);
            long start = System.nanoTime();
            try (StreamApp app = StreamApp.start(config);
                 KafkaConsumer<String, byte[]> consumer = consumer(kafka.bootstrapServers(), config.learningTopic())) {
                // When the stream thread finished learning each record (commits in between count as its time).
                List<Long> learnedAt = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
                app.hub().addListener(new org.hopestreams.stream.LearnerHub.Listener() {
                    @Override
                    public void learned(int partition, String key, org.hopestreams.learn.LearnOutcome o, long nanos) {
                        learnedAt.add(System.nanoTime());
                    }
                });
                int seen = 0;
                int firstBatch = 0;
                long tFirst = 0;
                long tLast = 0;
                long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
                while (seen < total && System.nanoTime() < deadline) {
                    int n = 0;
                    for (ConsumerRecord<String, byte[]> ignored : consumer.poll(Duration.ofMillis(20))) {
                        n++;
                    }
                    if (n > 0) {
                        long now = System.nanoTime();
                        if (seen == 0) {
                            tFirst = now;
                            firstBatch = n;
                        }
                        tLast = now;
                        seen += n;
                    }
                    if (app.failure() != null) {
                        throw new IllegalStateException("the stream failed", app.failure());
                    }
                }
                if (seen < total) {
                    throw new IllegalStateException("only " + seen + " of " + total + " LearningEvents arrived");
                }
                double visible = (double) (seen - firstBatch) * recordBytes / ((tLast - tFirst) / 1e9);
                // When each batch was learned (its last record's time; with B = 1, each record's): the rate counts
                // the records of every batch after the first, over the time from the first batch's end to the last's.
                List<Long> all = List.copyOf(learnedAt);
                List<Long> at = new java.util.ArrayList<>();
                for (int i = batch - 1; i < all.size(); i += batch) {
                    at.add(all.get(i));
                }
                double e2e = (double) (at.size() - 1) * batch * recordBytes
                        / ((at.get(at.size() - 1) - at.get(0)) / 1e9);
                double[] gaps = new double[at.size() - 1];
                for (int i = 1; i < at.size(); i++) {
                    gaps[i - 1] = (at.get(i) - at.get(i - 1)) / 1e6;
                }
                double[] sorted = gaps.clone();
                java.util.Arrays.sort(sorted);
                double median = sorted[sorted.length / 2];
                double stalls = 0;
                int stallCount = 0;
                for (double g : gaps) {
                    if (g > 2 * median) {
                        stalls += g - median;
                        stallCount++;
                    }
                }
                long[] after = PersistStats.snapshot();
                long commits = after[0] - before[0];
                double commitMsEach = (after[1] - before[1]) / 1e6 / Math.max(1, commits);
                double commitKb = (after[2] - before[2]) / 1024.0 / Math.max(1, commits);
                long puts = after[3] - before[3];
                double putMs = (after[4] - before[4]) / 1e6 / Math.max(1, puts);
                double putKb = (after[5] - before[5]) / 1024.0 / Math.max(1, puts);
                StringBuilder ratios = new StringBuilder();
                app.streams().metrics().forEach((name, metric) -> {
                    if (name.group().equals("stream-thread-metrics") && name.name().endsWith("-ratio")) {
                        ratios.append(String.format(" %s %.2f", name.name().replace("-ratio", ""),
                                ((Number) metric.metricValue()).doubleValue()));
                    }
                });
                double modelAfter = modelOnly(base, records, recordBytes, data, device, alt, keys, batch);
                double modelRate = (modelBefore + modelAfter) / 2;
                System.out.printf("preset %s, %d records of %d bytes, %d keys, hope.batch.records %d, commit.interval.ms %d, "
                        + "repartition %s, exactly_once_v2%n", preset, records, recordBytes, keys, batch, commitMs, repartition);
                System.out.printf("  model only        %,10.0f bytes/s  (mean of %,.0f before and %,.0f after the end-to-end "
                        + "run)%n", modelRate, modelBefore, modelAfter);
                System.out.printf("  end to end        %,10.0f bytes/s  (%.0f%% of model only: records learned by the "
                        + "stream thread, %d timed from the end of the first batch to the end of the last, commits and "
                        + "all in between)%n", e2e, 100 * e2e / modelRate, (at.size() - 1) * batch);
                System.out.printf("  between %s   median %.1f ms, p90 %.1f ms, max %.1f ms; %d gaps over twice the "
                        + "median hold %.0f ms beyond it (%.0f%% of the run)%n", batch == 1 ? "records" : "batches", median,
                        sorted[(int) (sorted.length * 0.9)], sorted[sorted.length - 1], stallCount, stalls,
                        100 * stalls / ((at.get(at.size() - 1) - at.get(0)) / 1e6));
                System.out.printf("  as committed      %,10.0f bytes/s  (LearningEvents visible to read_committed, from the "
                        + "first commit at %.1f s after start, %d records in it; low by up to one commit interval)%n",
                        visible, (tFirst - start) / 1e9, firstBatch);
                System.out.printf("  per record        fast-memory write %.3f ms (%.1f KiB, %d writes)%n", putMs, putKb,
                        puts);
                double copyMsEach = (after[6] - before[6]) / 1e6 / Math.max(1, commits);
                double encodeMsEach = (after[7] - before[7]) / 1e6 / Math.max(1, commits);
                System.out.printf("  per commit        model write %.2f ms (%.1f KiB of changed groups, %d commits): "
                        + "copy out %.2f, encode %.2f, store puts (RocksDB, changelog) %.2f ms%n", commitMsEach,
                        commitKb, commits, copyMsEach, encodeMsEach, commitMsEach - copyMsEach - encodeMsEach);
                System.out.printf("  stream thread     share of its time (last 30 s window):%s%n", ratios);
                System.out.printf("  writing what a record changes on every record instead would cost %.2f ms per "
                        + "record (encode only)%n", perRecordAlt);
            }
        }
    }

    /** Model-only bytes learned per second; {@code alt[0]} gets the per-record cost of the other persistence way. */
    private static double modelOnly(HopeStreamsConfig base, int records, int recordBytes, byte[] data, Device device,
                                    double[] alt, int keys, int batch) {
        try (Learner l = Learner.create(base.modelConfig(), base.learnerConfig(),
                base.getLong(HopeStreamsConfig.MODEL_SEED), new InMemoryFastStateStore(), device)) {
            for (int i = 0; i < 5; i++) {
                l.learn("key-" + (i % keys), record(data, i, recordBytes), STEP_MS * i);
            }
            long t0 = System.nanoTime();
            for (int i = 5; i < records + 5; i += batch) {
                if (batch == 1) {
                    l.learn("key-" + (i % keys), record(data, i, recordBytes), STEP_MS * i);
                    continue;
                }
                List<Learner.BatchItem> items = new java.util.ArrayList<>(batch);
                for (int j = i; j < Math.min(i + batch, records + 5); j++) {
                    items.add(new Learner.BatchItem("key-" + (j % keys), record(data, j, recordBytes), STEP_MS * j));
                }
                l.learnBatch(items);
            }
            double rate = (double) records * recordBytes / ((System.nanoTime() - t0) / 1e9);
            // The other way to persist (ARCHITECTURE.md §3): write what a record changes on every record.
            StateCodec codec = new StateCodec();
            EnumSet<StateGroup> perRecord = EnumSet.of(StateGroup.META, StateGroup.HIGH, StateGroup.MID_ACC,
                    StateGroup.LOW_ACC);
            long t1 = System.nanoTime();
            int reps = 20;
            for (int i = 0; i < reps; i++) {
                LearnerSnapshots.groups(l, perRecord).values().forEach(codec::encode);
            }
            alt[0] = (System.nanoTime() - t1) / 1e6 / reps;
            return rate;
        }
    }

    private static byte[] record(byte[] data, int i, int recordBytes) {
        int off = (int) ((long) i * recordBytes % (data.length - recordBytes));
        return java.util.Arrays.copyOfRange(data, off, off + recordBytes);
    }

    /** Events {@code from} to {@code from + n - 1} of the benchmark input: 4 keys in turn, 100 ms of event time apart. */
    static void produce(HopeStreamsConfig config, int from, int n, int recordBytes, byte[] data) {
        produce(config, from, n, recordBytes, data, KEYS);
    }

    /** As {@link #produce(HopeStreamsConfig, int, int, int, byte[])} with {@code keys} keys in turn. */
    static void produce(HopeStreamsConfig config, int from, int n, int recordBytes, byte[] data, int keys) {
        try (KafkaProducer<String, TextEvent> p = TextEventProducer.create(config, Map.of())) {
            List<ProducerRecord<String, TextEvent>> records = new java.util.ArrayList<>(n);
            for (int i = from; i < from + n; i++) {
                String key = "key-" + (i % keys);
                String text = new String(record(data, i, recordBytes), StandardCharsets.ISO_8859_1);
                records.add(new ProducerRecord<>(config.inputTopic(), key, TextEvent.newBuilder().setId("b" + i)
                        .setKey(key).setText(text).setEventTime(Instant.ofEpochMilli(STEP_MS * i)).setAttributes(Map.of())
                        .build()));
            }
            TextEventProducer.sendAll(p, records);
        }
    }

    private static KafkaConsumer<String, byte[]> consumer(String bootstrap, String topic) {
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "bench-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new StringDeserializer(),
                new ByteArrayDeserializer());
        c.subscribe(List.of(topic));
        return c;
    }
}

package org.hopestreams.cli;

import ai.djl.Device;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.embedded.EmbeddedKafka;
import org.hopestreams.embedded.EmbeddedRegistry;
import org.hopestreams.learn.LearnOutcome;
import org.hopestreams.stream.ConsolidationStats;
import org.hopestreams.stream.HopeStreamsConfig;
import org.hopestreams.stream.LearnerHub;
import org.hopestreams.stream.StreamApp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * {@code bench --stream --shards P}: one model across shards, what a round costs. The same input (P partitions,
 * 2P keys in turn, a LOW checkpoint every {@code checkpointMs} of stream time) learned end to end twice, with
 * {@code hope.shards.enabled} off and on, in one process: bytes learned per second, and with it on the
 * rounds, the payload bytes a round moves (every task's delta, one global version broadcast to P partitions)
 * and the milliseconds its steps take (publish per task, merge, adopt per task).
 */
final class ShardBench {
    private ShardBench() {
    }

    static void run(String preset, int records, int recordBytes, byte[] data, Device device, long commitMs,
                    String contextMode, int shards, long checkpointMs) throws Exception {
        if (shards < 2) {
            throw new IllegalArgumentException("--shards " + shards + " must be >= 2 (one partition has one model)");
        }
        int keys = 2 * shards;
        double[] rate = new double[2];
        long[] cost = null;
        long[] versions = new long[1];
        for (int on = 0; on < 2; on++) {
            Path state = Files.createTempDirectory("hope-shard-bench");
            Map<String, Object> m = StreamBench.settings(preset, recordBytes, contextMode, device, commitMs, state,
                    "shard-bench-");
            m.put(HopeStreamsConfig.CHECKPOINT_CLOCK, "stream");
            m.put(HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, Long.toString(checkpointMs));
            m.put(HopeStreamsConfig.SHARDS_ENABLED, Boolean.toString(on == 1));
            m.put(HopeStreamsConfig.SHARDS_ROUND_TIMEOUT_MS, "5000");
            try (EmbeddedKafka kafka = EmbeddedKafka.start(); EmbeddedRegistry registry = EmbeddedRegistry.builder().start()) {
                m.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
                m.put(HopeStreamsConfig.REGISTRY_URL, registry.ccompatUrl());
                HopeStreamsConfig config = new HopeStreamsConfig(m);
                StreamApp.createTopics(config, shards, (short) 1);
                StreamBench.produce(config, 0, records, recordBytes, data, keys);
                long[] before = ConsolidationStats.snapshot();
                List<Long> learnedAt = Collections.synchronizedList(new ArrayList<>());
                try (StreamApp app = StreamApp.start(config)) {
                    app.hub().addListener(new LearnerHub.Listener() {
                        @Override
                        public void learned(int partition, String key, LearnOutcome o, long nanos) {
                            learnedAt.add(System.nanoTime());
                        }
                    });
                    long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
                    while (learnedAt.size() < records && System.nanoTime() < deadline) {
                        if (app.failure() != null) {
                            throw new IllegalStateException("the stream failed", app.failure());
                        }
                        Thread.sleep(50);
                    }
                    if (learnedAt.size() < records) {
                        throw new IllegalStateException("only " + learnedAt.size() + " of " + records + " records learned");
                    }
                    List<Long> at = List.copyOf(learnedAt);
                    rate[on] = (double) (at.size() - 1) * recordBytes / ((at.get(at.size() - 1) - at.get(0)) / 1e9);
                    if (on == 1) {
                        // every publication merged (a round closes when every task has reported, or on its timeout)
                        // and every version adopted by every task
                        long wait = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                        while (System.nanoTime() < wait) {
                            long merges = ConsolidationStats.MERGES.sum() - before[3];
                            long publishes = ConsolidationStats.PUBLISHES.sum() - before[0];
                            if (merges > 0 && merges >= publishes / shards
                                    && ConsolidationStats.ADOPTIONS.sum() - before[6] >= merges * shards) {
                                break;
                            }
                            Thread.sleep(50);
                        }
                        versions[0] = app.hub().globalVersion();
                        long[] after = ConsolidationStats.snapshot();
                        cost = new long[after.length];
                        for (int i = 0; i < after.length; i++) {
                            cost[i] = after[i] - before[i];
                        }
                    }
                }
            }
        }
        System.out.printf("preset %s, %d records of %d bytes, %d partitions, %d keys, a LOW checkpoint every %d ms of "
                + "stream time (records 100 ms apart), commit.interval.ms %d, exactly_once_v2%n", preset, records,
                recordBytes, shards, keys, checkpointMs, commitMs);
        System.out.printf("  end to end, shards off  %,10.0f bytes/s%n", rate[0]);
        System.out.printf("  end to end, shards on   %,10.0f bytes/s  (%.0f%% of off)%n", rate[1], 100 * rate[1] / rate[0]);
        long merges = Math.max(1, cost[3]);
        System.out.printf("  rounds                  %d merged (global version %d), %d publications, %d adoptions%n",
                cost[3], versions[0], cost[0], cost[6]);
        double delta = cost[2] / 1024.0 / Math.max(1, cost[0]);
        double version = cost[5] / 1024.0 / merges;
        System.out.printf("  per round, payload      %,.0f KiB: %d deltas of %,.0f KiB, the version (%,.0f KiB) into %d "
                + "partitions (a topic's replicas and the stores' changelogs multiply it; docs/streaming.md)%n",
                shards * (delta + version), shards, delta, version, shards);
        System.out.printf("  per round, time         publish %.1f ms per task, merge %.1f ms, adopt %.1f ms per task "
                        + "(stream-thread time; the topics' and stores' I/O is in the commit)%n",
                cost[1] / 1e6 / Math.max(1, cost[0]), cost[4] / 1e6 / merges, cost[7] / 1e6 / Math.max(1, cost[6]));
    }
}

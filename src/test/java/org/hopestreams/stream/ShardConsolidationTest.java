package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.avro.ConsolidationEvent;
import org.hopestreams.avro.ConsolidationKind;
import org.hopestreams.avro.DeltaRef;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.model.HopeParameters;
import org.hopestreams.model.HostTensor;
import org.hopestreams.model.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 13, one model across shards, on a real broker and registry: three instances of one application (in this
 * JVM, separate state directories) learn an input of six partitions with {@code hope.shards.enabled}. Only
 * keys of partition 0 carry records: a fact. Their learner publishes its LOW deltas; the consolidator closes each
 * round on its timeout (the five idle partitions never report) and every task adopts the global versions.
 * <ul>
 *   <li>the fact's bits per byte under a fresh key of each of the other five partitions falls below the initial
 *   model's by the time that partition has adopted global version 1 or 2;</li>
 *   <li>once no round is open and no record arrives, the LOW weights of all six tasks are bit-identical;</li>
 *   <li>every delta the learners committed is merged into exactly one committed global version (none lost, none
 *   counted twice), and each global version reached every partition of the global topic once.</li>
 * </ul>
 */
class ShardConsolidationTest {
    private static final int PARTITIONS = 6;
    private static final String APP = "shards";
    private static final String FACT = "the capital of Zorbia is Quelt, and its river is the Amberline.";
    private static final long ROUND_TIMEOUT_MS = 1500;

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path dir;

    private final List<StreamApp> apps = new ArrayList<>();

    @AfterEach
    void closeApps() {
        apps.forEach(StreamApp::close);
    }

    @Test
    void aFactLearnedOnOnePartitionReachesEveryOtherAndTheSlowLevelsEndBitIdentical() throws Exception {
        long t0 = System.nanoTime();
        String bootstrap = SERVERS.kafka().bootstrapServers();
        String registry = SERVERS.registry().apiUrl();
        HopeStreamsConfig first = config(0);
        StreamApp.createTopics(first, PARTITIONS, (short) 1);
        for (int i = 0; i < 3; i++) {
            apps.add(StreamApp.start(config(i)));
        }
        for (StreamApp a : apps) {
            assertTrue(a.awaitRunning(Duration.ofSeconds(60)), "instance running");
        }
        awaitAllTasks(Duration.ofSeconds(90));
        long running = System.nanoTime();

        Map<Integer, String> fresh = new TreeMap<>();
        for (int p = 1; p < PARTITIONS; p++) {
            fresh.put(p, keyOf(p, "fresh-" + p + "-"));
        }
        Map<Integer, Double> before = new TreeMap<>();
        fresh.forEach((p, key) -> before.put(p, score(p, key)));

        List<String> keys = List.of(keyOf(0, "teacher-a-"), keyOf(0, "teacher-b-"), keyOf(0, "teacher-c-"));
        List<TextEvent> events = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            String text = i % 2 == 0 ? FACT : "note " + i + ": " + FACT.substring(0, 30 + i % 20);
            events.add(StreamTestSupport.event("f" + i, keys.get(i % keys.size()), text, 1_000_000L + 400L * i));
        }
        StreamTestSupport.produce(bootstrap, registry, first.inputTopic(), events);

        // Every other partition's fresh-key score on the fact, taken when it has adopted version 1 or 2.
        Map<Integer, Double> early = new TreeMap<>();
        Map<Integer, Long> earlyVersion = new TreeMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (early.size() < PARTITIONS - 1) {
            for (int p : fresh.keySet()) {
                Optional<LearnerHub.TaskModel> m = model(p);
                if (!early.containsKey(p) && m.isPresent() && m.get().globalVersion() >= 1) {
                    assertTrue(m.get().globalVersion() <= 2, "partition " + p + " first seen at global version "
                            + m.get().globalVersion() + ", after more than two rounds");
                    early.put(p, score(p, fresh.get(p)));
                    earlyVersion.put(p, m.get().globalVersion());
                }
            }
            assertNoFailure();
            if (System.nanoTime() > deadline) {
                fail("partitions with a global version: " + earlyVersion + " of " + fresh.keySet());
            }
            Thread.sleep(50);
        }
        long adopted = System.nanoTime();
        for (int p : fresh.keySet()) {
            assertTrue(early.get(p) < before.get(p), "partition " + p + ": the fact's bits per byte under a fresh key "
                    + "fell from " + before.get(p) + " at version " + earlyVersion.get(p) + ": " + early.get(p));
        }

        assertEquals(events.size(), StreamTestSupport.readAvro(bootstrap, registry, first.learningTopic(),
                events.size(), Duration.ofSeconds(120)).size(), "every record learned");
        long version = awaitQuiet(Duration.ofSeconds(60));
        assertTrue(version >= 1, "at least one global version");
        Map<String, HostTensor> low0 = low(model(0).orElseThrow());
        for (int p = 1; p < PARTITIONS; p++) {
            Map<String, HostTensor> low = low(model(p).orElseThrow());
            for (String name : low0.keySet()) {
                assertArrayEquals(low0.get(name).bytes(), low.get(name).bytes(), "LOW " + name + " of partition " + p
                        + " equals partition 0's at global version " + version);
            }
        }

        TreeSet<String> published = assertEachDeltaMergedOnce(bootstrap, APP, PARTITIONS, version);
        assertTrue(published.stream().allMatch(d -> d.startsWith("0:")), "only partition 0 learned: " + published);

        StreamApp owner = apps.stream().filter(a -> a.hub().model(1).isPresent()).findFirst().orElseThrow();
        HttpResponse<String> info = org.hopestreams.serve.LocalHttp.get(owner.httpPort(), "/v1/model");
        assertTrue(info.body().contains("\"globalVersion\":" + version), info.body());
        String answer = org.hopestreams.serve.LocalHttp.post(owner.httpPort(), "/v1/score", "{\"key\":\""
                + fresh.get(1) + "\",\"text\":\"" + FACT + "\"}").body();
        assertTrue(answer.contains("\"globalVersion\":" + version), answer);
        System.out.printf("ShardConsolidationTest: running %.1f s, first adoption on all %.1f s, quiet at version %d "
                        + "%.1f s; deltas %s; fresh-key bpb before %s, at version %s: %s%n",
                (running - t0) / 1e9, (adopted - running) / 1e9, version, (System.nanoTime() - adopted) / 1e9,
                published, before, earlyVersion, early);
    }

    private HopeStreamsConfig config(int instance) {
        Map<String, Object> m = StreamTestSupport.appConfig(SERVERS.kafka().bootstrapServers(),
                SERVERS.registry().apiUrl(), APP, dir.resolve("instance-" + instance));
        StreamTestSupport.topics(m, APP);
        m.put(HopeStreamsConfig.HTTP_HOST, "127.0.0.1");
        m.put(HopeStreamsConfig.DEVICE, "cpu");
        m.put(HopeStreamsConfig.CONTEXT_MODE, "off");
        m.put(HopeStreamsConfig.LR_LOW, "0.01");
        m.put(HopeStreamsConfig.SHARDS_ENABLED, "true");
        m.put(HopeStreamsConfig.SHARDS_ROUND_TIMEOUT_MS, Long.toString(ROUND_TIMEOUT_MS));
        m.put(HopeStreamsConfig.SHARDS_TOPIC, APP + ".consolidation");
        m.put(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC, APP + ".global");
        m.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        m.put("session.timeout.ms", "6000");
        m.put("heartbeat.interval.ms", "1000");
        return new HopeStreamsConfig(m);
    }

    /** A key that the default partitioner puts in {@code partition} (as the repartition topic does). */
    static String keyOf(int partition, String prefix) {
        for (int i = 0; ; i++) {
            byte[] b = (prefix + i).getBytes(StandardCharsets.UTF_8);
            if (Utils.toPositive(Utils.murmur2(b)) % PARTITIONS == partition) {
                return prefix + i;
            }
        }
    }

    private Optional<LearnerHub.TaskModel> model(int partition) {
        for (StreamApp a : apps) {
            Optional<LearnerHub.TaskModel> m = a.hub().model(partition);
            if (m.isPresent()) {
                return m;
            }
        }
        return Optional.empty();
    }

    private double score(int partition, String key) {
        for (StreamApp a : apps) {
            if (a.hub().model(partition).isPresent()) {
                return a.queries().score(partition, key, FACT.getBytes(StandardCharsets.UTF_8)).value();
            }
        }
        throw new IllegalStateException("no instance holds partition " + partition);
    }

    private void awaitAllTasks(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            TreeSet<Integer> held = new TreeSet<>();
            apps.forEach(a -> a.hub().models().forEach(m -> held.add(m.partition())));
            if (held.size() == PARTITIONS && apps.stream().allMatch(a -> !a.hub().models().isEmpty())) {
                return;
            }
            assertNoFailure();
            assertTrue(System.nanoTime() < end, "learner tasks held: " + held);
            Thread.sleep(100);
        }
    }

    /** Waits until every task holds the same global version for two round timeouts; returns it. */
    private long awaitQuiet(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        Map<Integer, Long> last = Map.of();
        long since = System.nanoTime();
        while (System.nanoTime() < end) {
            Map<Integer, Long> now = new HashMap<>();
            for (int p = 0; p < PARTITIONS; p++) {
                now.put(p, model(p).map(LearnerHub.TaskModel::globalVersion).orElse(-2L));
            }
            if (!now.equals(last)) {
                last = now;
                since = System.nanoTime();
            } else if (new TreeSet<>(now.values()).size() == 1
                    && System.nanoTime() - since > 2 * ROUND_TIMEOUT_MS * 1_000_000L) {
                return now.get(0);
            }
            assertNoFailure();
            Thread.sleep(100);
        }
        fail("global versions per partition never settled: " + last);
        return -1;
    }

    private static Map<String, HostTensor> low(LearnerHub.TaskModel m) {
        Map<String, HostTensor> out = new TreeMap<>();
        for (String name : HopeParameters.byLevel(m.config()).get(Level.LOW)) {
            out.put(name, m.params().get(name));
        }
        return out;
    }

    private void assertNoFailure() {
        for (StreamApp a : apps) {
            assertNull(a.failure(), "an instance failed");
        }
    }

    /**
     * The committed deltas and global versions of application {@code app} (topics APP.consolidation, APP.global):
     * every delta published once, with sequences 1, 2, ... per partition (none lost), merged into exactly one
     * committed global version (none counted twice or left out); versions 1..{@code version} each in every
     * partition of the global topic once. Returns the deltas as "partition:sequence".
     */
    static TreeSet<String> assertEachDeltaMergedOnce(String bootstrap, String app, int partitions, long version) {
        Map<Integer, Long> lastSequence = new TreeMap<>();
        TreeSet<String> published = new TreeSet<>();
        for (ConsolidationEvent e : events(bootstrap, app + ".consolidation")) {
            assertEquals(ConsolidationKind.DELTA, e.getKind());
            if (e.getChunk() == e.getChunks() - 1) {
                assertTrue(published.add(e.getPartition() + ":" + e.getSequence()), "delta published once: " + e);
                long previous = lastSequence.getOrDefault(e.getPartition(), 0L);
                assertEquals(previous + 1, e.getSequence(), "partition " + e.getPartition() + "'s next publication");
                lastSequence.put(e.getPartition(), e.getSequence());
            }
        }
        Map<Long, Integer> copies = new TreeMap<>();
        TreeSet<String> merged = new TreeSet<>();
        for (ConsolidationEvent g : events(bootstrap, app + ".global")) {
            if (g.getChunk() == g.getChunks() - 1 && copies.merge(g.getSequence(), 1, Integer::sum) == 1) {
                for (DeltaRef r : g.getMerged()) {
                    assertTrue(merged.add(r.getPartition() + ":" + r.getSequence()), "merged once: " + r);
                }
            }
        }
        assertEquals(published, merged, "every committed delta merged into exactly one committed version");
        assertEquals(version, copies.size(), "global versions " + copies.keySet());
        for (long v = 1; v <= version; v++) {
            assertEquals(partitions, copies.get(v), "version " + v + " in every partition of the global topic");
        }
        return published;
    }

    private static List<ConsolidationEvent> events(String bootstrap, String topic) {
        List<ConsolidationEvent> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : StreamTestSupport.readAllCommitted(bootstrap, topic,
                Duration.ofSeconds(30))) {
            out.add(ConsolidationEvents.SERDE.deserializer().deserialize(topic, r.value()));
        }
        return out;
    }
}

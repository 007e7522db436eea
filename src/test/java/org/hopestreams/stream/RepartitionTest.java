package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code hope.repartition} on a real broker, with an input topic of two partitions and producers that key records
 * otherwise than by the context key (the TextEvent's own {@code key} field; the Kafka record key here names the
 * producer's source, and each context key's events go to both partitions):
 *
 * <ul>
 *   <li>{@code true} (default): every context key meets exactly one learner (its fast memory lives in one task's
 *       store), and each task learned exactly the events of its keys, each once;</li>
 *   <li>{@code false}, same input: each input partition's task learns that partition's records, so every context
 *       key is split across both learners, with a memory in each (the documented behaviour: off is only for
 *       producers that key by the context key);</li>
 *   <li>{@code false} with producers keyed by the context key (default partitioner): every key meets exactly one
 *       learner, the same task that the repartition gives it.</li>
 * </ul>
 * Which task a key met is read from the fast-memory changelog's partitions; how many records a task learned from
 * the {@code records} counter of its model store (the model changelog's partition).
 */
class RepartitionTest {
    private static final List<String> KEYS = List.of("doc-a", "doc-b", "doc-c", "doc-d", "doc-e");
    private static final int N = 40;

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path dir;

    @Test
    void withRepartitionEveryKeyMeetsOneLearnerAndWithoutItKeysFollowTheInputPartitions() throws Exception {
        String bootstrap = SERVERS.kafka().bootstrapServers();
        List<TextEvent> events = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            String key = KEYS.get(i % KEYS.size());
            events.add(StreamTestSupport.event("e" + i, key, "event " + i + " of " + key + ": the gauge reads "
                    + (i * 17 % 90) + " units.", 1_000_000L + 250L * i));
        }
        HopeStreamsConfig on = config("rp-on", true);
        HopeStreamsConfig off = config("rp-off", false);
        HopeStreamsConfig offMatched = config("rp-off-matched", false);
        try (StreamApp a = StreamApp.start(on); StreamApp b = StreamApp.start(off);
             StreamApp c = StreamApp.start(offMatched)) {
            for (StreamApp app : List.of(a, b, c)) {
                assertTrue(app.awaitRunning(Duration.ofSeconds(60)));
            }
            // Mismatched: the Kafka key names the source, and event i goes to partition i % 2 (5 keys, so each key
            // has events in both partitions).
            try (var p = new org.apache.kafka.clients.producer.KafkaProducer<>(StreamTestSupport.producerProps(bootstrap),
                    new org.apache.kafka.common.serialization.ByteArraySerializer(),
                    new org.apache.kafka.common.serialization.ByteArraySerializer())) {
                for (HopeStreamsConfig cfg : List.of(on, off)) {
                    for (int i = 0; i < N; i++) {
                        p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(cfg.inputTopic(), i % 2,
                                StreamTestSupport.utf8("source-" + i % 2), StreamTestSupport.avroBytes(
                                        SERVERS.registry().apiUrl(), cfg.inputTopic(), events.get(i))));
                    }
                }
                p.flush();
            }
            // Matched: keyed by the context key, partitioned by the producer's default partitioner.
            StreamTestSupport.produce(bootstrap, SERVERS.registry().apiUrl(), offMatched.inputTopic(), events);

            Map<Integer, Long> eventsPerInputPartition = Map.of(0, (long) N / 2, 1, (long) N / 2);
            Map<String, Long> eventsPerKey = events.stream().collect(Collectors.groupingBy(TextEvent::getKey,
                    TreeMap::new, Collectors.counting()));
            for (HopeStreamsConfig cfg : List.of(on, off, offMatched)) {
                List<ConsumerRecord<String, Object>> learned = StreamTestSupport.readAvro(bootstrap,
                        SERVERS.registry().apiUrl(), cfg.learningTopic(), N, Duration.ofSeconds(120));
                assertEquals(events.stream().map(TextEvent::getId).sorted().toList(),
                        learned.stream().map(r -> ((LearningEvent) r.value()).getId()).sorted().toList(),
                        appId(cfg) + ": every event learned once");
            }

            // repartition on: one learner per key, each task's count exactly its keys' events.
            Map<String, Set<Integer>> onTasks = keyTasks("rp-on");
            assertEquals(eventsPerKey.keySet(), onTasks.keySet());
            onTasks.forEach((key, tasks) -> assertEquals(1, tasks.size(), "rp-on: " + key + " met " + tasks));
            assertEquals(Set.of(0, 1), onTasks.values().stream().flatMap(Set::stream).collect(Collectors.toSet()),
                    "the keys spread over both tasks (else the test proves nothing about meeting one learner)");
            assertEquals(countsByTask(onTasks, eventsPerKey), recordsPerTask("rp-on"), "rp-on: records per learner");

            // repartition off, mismatched keys: each key split across both learners, each learner its partition's.
            Map<String, Set<Integer>> offTasks = keyTasks("rp-off");
            assertEquals(eventsPerKey.keySet(), offTasks.keySet());
            offTasks.forEach((key, tasks) -> assertEquals(Set.of(0, 1), tasks, "rp-off: " + key
                    + " is split across the learners of both input partitions"));
            assertEquals(eventsPerInputPartition, recordsPerTask("rp-off"), "rp-off: records per learner");

            // repartition off, producers keyed by context key: one learner per key, the one repartition picks.
            Map<String, Set<Integer>> matchedTasks = keyTasks("rp-off-matched");
            assertEquals(onTasks, matchedTasks, "keyed by context key, off gives each key the task repartition gives");
            assertEquals(countsByTask(matchedTasks, eventsPerKey), recordsPerTask("rp-off-matched"));

            for (StreamApp app : List.of(a, b, c)) {
                assertEquals(null, app.failure());
            }
        }
    }

    private HopeStreamsConfig config(String appId, boolean repartition) throws Exception {
        Map<String, Object> m = StreamTestSupport.appConfig(SERVERS.kafka().bootstrapServers(),
                SERVERS.registry().apiUrl(), appId, dir.resolve(appId));
        StreamTestSupport.topics(m, appId);
        m.put(HopeStreamsConfig.REPARTITION, Boolean.toString(repartition));
        HopeStreamsConfig c = new HopeStreamsConfig(m);
        StreamApp.createTopics(c, 2, (short) 1);
        return c;
    }

    private static String appId(HopeStreamsConfig c) {
        return String.valueOf(c.originals().get(org.apache.kafka.streams.StreamsConfig.APPLICATION_ID_CONFIG));
    }

    /** For each context key, the tasks (fast-memory changelog partitions) that hold a memory of it. */
    private static Map<String, Set<Integer>> keyTasks(String appId) {
        Map<String, Set<Integer>> out = new TreeMap<>();
        for (var r : StreamTestSupport.readAllCommitted(SERVERS.kafka().bootstrapServers(),
                appId + "-" + HopeProcessor.FAST_MEMORY + "-changelog", Duration.ofSeconds(30))) {
            byte[] k = r.key();
            // chunk keys: context key ++ 4-byte index; last-seen entries: 0xFF ++ context key
            byte[] name = k[0] == (byte) 0xFF ? Arrays.copyOfRange(k, 1, k.length) : Arrays.copyOf(k, k.length - 4);
            out.computeIfAbsent(new String(name, StandardCharsets.UTF_8), x -> new TreeSet<>()).add(r.partition());
        }
        return out;
    }

    /** Records learned by each task, from the {@code records} counter of its committed model. */
    private static Map<Integer, Long> recordsPerTask(String appId) throws Exception {
        Map<Integer, Map<String, StateSnapshot>> models = StoreChangelogs.statesByPartition(
                SERVERS.kafka().bootstrapServers(), appId + "-" + HopeProcessor.MODEL + "-changelog");
        Map<Integer, Long> out = new TreeMap<>();
        for (int p = 0; p < 2; p++) {
            StateSnapshot meta = models.getOrDefault(p, Map.of()).get("META");
            out.put(p, meta == null ? 0L : meta.counter("records"));
        }
        return out;
    }

    private static Map<Integer, Long> countsByTask(Map<String, Set<Integer>> tasks, Map<String, Long> perKey) {
        Map<Integer, Long> out = new TreeMap<>(Map.of(0, 0L, 1, 0L));
        Function<String, Integer> task = k -> tasks.get(k).iterator().next();
        perKey.forEach((k, n) -> out.merge(task.apply(k), n, Long::sum));
        return out;
    }
}

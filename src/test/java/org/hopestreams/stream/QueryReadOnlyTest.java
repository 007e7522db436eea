package org.hopestreams.stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.hopestreams.serve.LocalHttp.get;
import static org.hopestreams.serve.LocalHttp.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Queries are read-only, proven by what follows them: one run learns a first batch, answers {@code /v1/score},
 * {@code /v1/complete} (greedy and sampled) and {@code /v1/keys} for every key and an unknown one over HTTP, then
 * learns a second batch; a control run of the same application learns both batches with no query at all.
 * Every LearningEvent of the second batch (scores are taken before learning, so they see any change a query
 * left in a key's memory or the model) and every store's final content, read from the changelogs, must be
 * bit-identical. A query that wrote anywhere, even into the Streams cache that a check of changelog end offsets
 * right after the queries cannot see, would show here.
 *
 * <p>The two runs are sequential in one JVM (the same PyTorch threads as for any run of the tests): learning
 * is deterministic on CPU, so equal inputs give equal bits.
 */
class QueryReadOnlyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> KEYS = List.of("alpha", "beta", "gamma", "delta");
    private static final int BATCH = 24;

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path dir;

    @Test
    void queriesLeaveScoresAndStoresOfLaterRecordsExactlyAsWithoutThem() throws Exception {
        String bootstrap = SERVERS.kafka().bootstrapServers();
        List<TextEvent> first = events(0, BATCH);
        List<TextEvent> second = events(BATCH, 2 * BATCH);

        Map<String, LearningEvent> control = run("ro-control", first, second, null);
        List<String> answers = new ArrayList<>();
        Map<String, LearningEvent> queried = run("ro-queried", first, second, port -> {
            for (int round = 0; round < 2; round++) {
                for (String key : concat(KEYS, List.of("never-seen"))) {
                    answers.add(ok(post(port, "/v1/score", "{\"key\":\"" + key
                            + "\",\"text\":\"the capital of Zorbia is Quelt, says " + key + "\"}")));
                    answers.add(ok(post(port, "/v1/complete", "{\"key\":\"" + key
                            + "\",\"prompt\":\"the capital of Zorbia is \",\"maxBytes\":24}")));
                    answers.add(ok(post(port, "/v1/complete", "{\"key\":\"" + key
                            + "\",\"prompt\":\"" + key + " says \",\"maxBytes\":24,\"temperature\":1.0,\"seed\":"
                            + round + "}")));
                    answers.add(ok(get(port, "/v1/keys/" + key)));
                }
            }
        });
        assertEquals(2 * 4 * (KEYS.size() + 1), answers.size(), "every query answered");
        assertTrue(answers.stream().anyMatch(a -> a.contains("bitsPerByte")), "scores answered: " + answers.get(0));

        assertEquals(control.keySet(), queried.keySet(), "the same events learned");
        for (String id : control.keySet()) {
            LearningEvent c = control.get(id);
            LearningEvent q = queried.get(id);
            assertEquals(List.of(c.getKey(), c.getSourceOffset(), c.getHighSteps(), c.getMidSteps(), c.getLowSteps(),
                            c.getModelVersion()),
                    List.of(q.getKey(), q.getSourceOffset(), q.getHighSteps(), q.getMidSteps(), q.getLowSteps(),
                            q.getModelVersion()), id);
            assertEquals(c.getBitsPerByte(), q.getBitsPerByte(), 0.0, id + ": bits per byte (exact)");
            assertEquals(c.getSurprise(), q.getSurprise(), id + ": surprise (exact)");
        }
        for (String store : List.of(HopeProcessor.MODEL, HopeProcessor.FAST_MEMORY, HopeProcessor.CHECKPOINTS)) {
            Map<String, StateSnapshot> expected = StoreChangelogs.state(bootstrap, "ro-control-" + store + "-changelog");
            Map<String, StateSnapshot> actual = StoreChangelogs.state(bootstrap, "ro-queried-" + store + "-changelog");
            assertFalse(expected.isEmpty(), store);
            assertEquals(expected.keySet(), actual.keySet(), store + " entries");
            String diff = StoreChangelogs.differences(expected, actual);
            assertTrue(diff.isEmpty(), store + " store after queries differs from the control run's:\n" + diff);
        }
    }

    private interface Queries {
        void run(int httpPort) throws Exception;
    }

    /** One run: the first batch, the queries (if any), the second batch; its LearningEvents by event id. */
    private Map<String, LearningEvent> run(String appId, List<TextEvent> first, List<TextEvent> second,
                                           Queries queries) throws Exception {
        String bootstrap = SERVERS.kafka().bootstrapServers();
        String registry = SERVERS.registry().apiUrl();
        Map<String, Object> m = StreamTestSupport.appConfig(bootstrap, registry, appId, dir.resolve(appId));
        StreamTestSupport.topics(m, appId);
        m.put(HopeStreamsConfig.HTTP_HOST, "127.0.0.1");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        StreamApp.createTopics(config, 1, (short) 1);
        try (StreamApp app = StreamApp.start(config)) {
            assertTrue(app.awaitRunning(Duration.ofSeconds(60)), appId + " running");
            StreamTestSupport.produce(bootstrap, registry, config.inputTopic(), first);
            assertEquals(BATCH, StreamTestSupport.readAvro(bootstrap, registry, config.learningTopic(), BATCH,
                    Duration.ofSeconds(120)).size());
            if (queries != null) {
                // The queries run on the model the task published at its last commit: wait for the one that
                // learned the whole first batch.
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (app.hub().model(0).map(LearnerHub.TaskModel::steps).map(s -> s[0]).orElse(0L) < BATCH) {
                    assertTrue(System.nanoTime() < deadline, "the first batch's model was not published");
                    Thread.sleep(100);
                }
                queries.run(app.httpPort());
            }
            StreamTestSupport.produce(bootstrap, registry, config.inputTopic(), second);
            List<ConsumerRecord<String, Object>> learned = StreamTestSupport.readAvro(bootstrap, registry,
                    config.learningTopic(), 2 * BATCH, Duration.ofSeconds(120));
            assertEquals(2 * BATCH, learned.size());
            Map<String, LearningEvent> out = new LinkedHashMap<>();
            for (ConsumerRecord<String, Object> r : learned) {
                LearningEvent e = (LearningEvent) r.value();
                assertTrue(out.put(e.getId(), e) == null, "one LearningEvent per event: " + e.getId());
            }
            assertEquals(null, app.failure());
            return out;
        }
    }

    /** Facts and log lines over four keys, 250 ms apart: MID windows close and LOW consolidates in both batches. */
    private static List<TextEvent> events(int from, int to) {
        List<TextEvent> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            String key = KEYS.get(i % KEYS.size());
            String text = i % 3 == 0 ? key + " says the capital of Zorbia is Quelt, line " + i
                    : "GET /api/items/" + (i * 7 % 31) + " 200 in " + (i * 13 % 50) + " ms for " + key;
            out.add(StreamTestSupport.event("e" + i, key, text, 1_000_000L + 250L * i));
        }
        return out;
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static String ok(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }
}

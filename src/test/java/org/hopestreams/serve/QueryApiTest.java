package org.hopestreams.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.stream.HopeProcessor;
import org.hopestreams.stream.HopeStreamsConfig;
import org.hopestreams.stream.StreamApp;
import org.hopestreams.stream.StreamTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.hopestreams.serve.LocalHttp.get;
import static org.hopestreams.serve.LocalHttp.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The query API on two instances of one application on the real in-JVM broker: a key's query sent
 * to the instance that does not own it gets the owner's answer; queries change no state; bad
 * requests get 4xx with a JSON error naming the problem; health and Prometheus metrics answer.
 */
class QueryApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path dir;

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private HopeStreamsConfig config(int port, String stateName) {
        Map<String, Object> m = StreamTestSupport.appConfig(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), "query-api",
                dir.resolve(stateName));
        StreamTestSupport.topics(m, "q");
        m.put(HopeStreamsConfig.HTTP_PORT, Integer.toString(port));
        m.put(HopeStreamsConfig.HTTP_HOST, "127.0.0.1");
        m.put(StreamsConfig.APPLICATION_SERVER_CONFIG, "127.0.0.1:" + port);
        m.put(StreamsConfig.consumerPrefix("session.timeout.ms"), "6000");
        return new HopeStreamsConfig(m);
    }

    @Test
    void queriesReachTheKeysOwnerChangeNothingAndBadRequestsAreNamed() throws Exception {
        int portA = freePort();
        int portB = freePort();
        HopeStreamsConfig a = config(portA, "a");
        SERVERS.kafka().createTopics(2, "q.events");
        StreamApp.createTopics(a, 2, (short) 1);
        List<TextEvent> events = new ArrayList<>();
        List<String> keys = List.of("alpha", "beta", "gamma", "delta", "epsilon", "zeta");
        for (int i = 0; i < 36; i++) {
            String key = keys.get(i % keys.size());
            events.add(StreamTestSupport.event("e" + i, key, key + " says the capital of Zorbia is Quelt, line " + i,
                    1_000_000L + 100L * i));
        }
        try (StreamApp appA = StreamApp.start(a); StreamApp appB = StreamApp.start(config(portB, "b"))) {
            assertTrue(appA.awaitRunning(Duration.ofSeconds(60)) && appB.awaitRunning(Duration.ofSeconds(60)));
            StreamTestSupport.produce(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), "q.events", events);
            assertEquals(36, StreamTestSupport.readAvro(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), "q.learning", 36,
                    Duration.ofSeconds(120)).size());
            awaitStable(appA, appB, keys);

            // Every key asked at the instance that does not own it: the owner answers, through the other.
            Map<String, Integer> owners = new HashMap<>();
            for (String key : keys) {
                KeyQueryMetadata md = appA.streams().queryMetadataForKey(HopeProcessor.FAST_MEMORY, key,
                        Serdes.String().serializer());
                owners.put(key, md.activeHost().port());
            }
            assertTrue(owners.containsValue(portA) && owners.containsValue(portB), "both instances own keys: " + owners);
            Map<String, Long> before = changelogEnds();
            for (String key : keys) {
                int owner = owners.get(key);
                int other = owner == portA ? portB : portA;
                String body = "{\"key\":\"" + key + "\",\"text\":\"the capital of Zorbia is Quelt\"}";
                HttpResponse<String> viaOther = post(other, "/v1/score", body);
                HttpResponse<String> direct = post(owner, "/v1/score", body);
                assertEquals(200, viaOther.statusCode(), viaOther.body());
                assertEquals("127.0.0.1:" + owner, viaOther.headers().firstValue(HttpServer.SERVED_BY).orElse(""));
                JsonNode x = JSON.readTree(viaOther.body());
                JsonNode y = JSON.readTree(direct.body());
                assertEquals(y.get("bitsPerByte").asDouble(), x.get("bitsPerByte").asDouble(), 0.0, key);
                assertTrue(x.get("known").asBoolean(), key + " has a memory");
                JsonNode stats = JSON.readTree(get(other, "/v1/keys/" + key).body());
                assertTrue(stats.get("known").asBoolean());
                assertTrue(stats.get("blocks").get(0).get("dMNorm").asDouble() > 0, "the key's memory was written");
                HttpResponse<String> c = post(other, "/v1/complete",
                        "{\"key\":\"" + key + "\",\"prompt\":\"the capital of Zorbia is \",\"maxBytes\":8}");
                assertEquals(200, c.statusCode(), c.body());
                assertEquals(8, JSON.readTree(c.body()).get("bytes").asInt());
            }

            // Queries changed nothing: no store wrote a byte, and asking again gives the same answer.
            assertEquals(before, changelogEnds(), "changelog end offsets after 18 queries");
            String body = "{\"key\":\"alpha\",\"text\":\"the capital of Zorbia is Quelt\"}";
            assertEquals(JSON.readTree(post(portA, "/v1/score", body).body()).get("bitsPerByte"),
                    JSON.readTree(post(portB, "/v1/score", body).body()).get("bitsPerByte"));
            JsonNode unknownKey = JSON.readTree(post(portA, "/v1/score",
                    "{\"key\":\"never-seen\",\"text\":\"the capital of Zorbia is Quelt\"}").body());
            assertFalse(unknownKey.get("known").asBoolean());
            assertTrue(unknownKey.get("note").asText().contains("initial memory"));
            assertNotEquals(JSON.readTree(post(portA, "/v1/score", body).body()).get("bitsPerByte").asDouble(),
                    unknownKey.get("bitsPerByte").asDouble(), "a known key's memory changes the answer");

            // Bad requests: 4xx and a JSON error naming the problem.
            assertError(post(portA, "/v1/score", "{not json"), 400, "not JSON");
            assertError(post(portA, "/v1/score", "{\"key\":\"alpha\"}"), 400, "missing field 'text'");
            assertError(post(portA, "/v1/score", "{\"key\":\"alpha\",\"text\":\"\"}"), 400, "empty");
            assertError(post(portA, "/v1/complete", "{\"key\":\"alpha\",\"prompt\":\"" + "x".repeat(20_000) + "\"}"), 413,
                    "over the cap");
            assertError(post(portA, "/v1/complete", "{\"key\":\"alpha\",\"prompt\":\"x\",\"maxBytes\":100000}"), 400,
                    "maxBytes");
            assertError(post(portA, "/v1/complete", "{\"key\":\"alpha\",\"prompt\":\"x\",\"temperature\":-1}"), 400,
                    "temperature");

            // Model, health and metrics.
            JsonNode model = JSON.readTree(get(portA, "/v1/model").body());
            assertEquals(1, model.get("tasks").size(), "one of the two partitions here: " + model);
            assertEquals(200, get(portB, "/health/ready").statusCode());
            assertEquals(200, get(portB, "/health/live").statusCode());
            String metrics = get(portA, "/metrics").body() + get(portB, "/metrics").body();
            assertTrue(metrics.contains("hope_records_total"), "learner metrics");
            assertTrue(metrics.contains("hope_bits_per_byte"), "bits per byte");
            assertTrue(metrics.contains("kafka_stream"), "Kafka Streams' own metrics");
        }
    }

    private static void awaitStable(StreamApp a, StreamApp b, List<String> keys) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < end) {
            boolean ok = a.streams().state() == KafkaStreams.State.RUNNING
                    && b.streams().state() == KafkaStreams.State.RUNNING
                    && a.hub().models().size() + b.hub().models().size() == 2;
            if (ok) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the two instances did not settle with one published model each");
    }

    private static Map<String, Long> changelogEnds() throws Exception {
        Map<String, Long> out = new HashMap<>();
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", SERVERS.kafka().bootstrapServers()))) {
            Map<TopicPartition, OffsetSpec> req = new HashMap<>();
            for (String store : List.of("fast-memory", "model", "checkpoints")) {
                for (int p = 0; p < 2; p++) {
                    req.put(new TopicPartition("query-api-" + store + "-changelog", p), OffsetSpec.latest());
                }
            }
            admin.listOffsets(req).all().get().forEach((tp, info) -> out.put(tp.toString(), info.offset()));
        }
        return out;
    }

    private static void assertError(HttpResponse<String> r, int status, String words) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        String error = JSON.readTree(r.body()).get("error").asText();
        assertTrue(error.contains(words), error);
    }
}

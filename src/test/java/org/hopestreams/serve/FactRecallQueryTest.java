package org.hopestreams.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.stream.HopeStreamsConfig;
import org.hopestreams.stream.StreamApp;
import org.hopestreams.stream.StreamTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Knowledge from the stream, answered through the API: through the real broker and registry, 8 keys
 * each state once a fact with the same question and their own answer ("my locker code is ...")
 * among background events on other keys; right after, {@code /v1/complete} under each key answers
 * that key's code (the exact-context level's per-key model), and a fresh key does not give any one
 * key's code.
 */
class FactRecallQueryTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    @RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path dir;

    private static String code(int k) {
        return Integer.toString(1203 + 1111 * k);
    }

    @Test
    void aFactStatedOnceUnderAKeyIsCompletedUnderThatKey() throws Exception {
        Map<String, Object> m = StreamTestSupport.appConfig(SERVERS.kafka().bootstrapServers(),
                SERVERS.registry().apiUrl(), "fact-recall", dir.resolve("state"));
        StreamTestSupport.topics(m, "f");
        m.put(HopeStreamsConfig.HTTP_HOST, "127.0.0.1");
        m.put(HopeStreamsConfig.RECORD_MAX_BYTES, "256");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        StreamApp.createTopics(config, 1, (short) 1);
        List<TextEvent> events = new ArrayList<>();
        long t = 1_000_000L;
        for (int i = 0; i < 12; i++) {
            events.add(StreamTestSupport.event("b" + i, "log/" + i % 3, "GET /api/items/" + i + " 200 in " + (7 * i % 50)
                    + " ms; cache hit ratio " + (i % 10) + "0 %", t += 100));
        }
        for (int k = 0; k < 8; k++) {
            events.add(StreamTestSupport.event("f" + k, "user/" + k, "hello. my locker code is " + code(k) + ". bye.",
                    t += 100));
            events.add(StreamTestSupport.event("c" + k, "log/" + k % 3, "GET /api/lockers 200 in " + (3 + k) + " ms",
                    t += 100));
        }
        try (StreamApp app = StreamApp.start(config)) {
            assertTrue(app.awaitRunning(Duration.ofSeconds(60)));
            StreamTestSupport.produce(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), "f.events", events);
            assertEquals(events.size(), StreamTestSupport.readAvro(SERVERS.kafka().bootstrapServers(),
                    SERVERS.registry().apiUrl(), "f.learning", events.size(), Duration.ofSeconds(120)).size());
            Map<String, Integer> freshAnswers = new HashMap<>();
            for (int k = 0; k < 8; k++) {
                String own = complete(app.httpPort(), "user/" + k);
                assertEquals(code(k), own, "user/" + k + " recalls its own code through /v1/complete");
            }
            for (int f = 0; f < 4; f++) {
                freshAnswers.merge(complete(app.httpPort(), "visitor/" + f), 1, Integer::sum);
            }
            for (int k = 0; k < 8; k++) {
                assertTrue(freshAnswers.getOrDefault(code(k), 0) < 4, "a fresh key is not given user/" + k
                        + "'s code every time: " + freshAnswers);
            }
        }
    }

    /** The key's greedy 4-byte answer, once the task has committed what it learned (retried until then). */
    private static String complete(int port, String key) throws Exception {
        String body = "{\"key\":\"" + key + "\",\"prompt\":\" my locker code is \",\"maxBytes\":4}";
        long deadline = System.currentTimeMillis() + 30_000;
        while (true) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                            + "/v1/complete")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200 || System.currentTimeMillis() > deadline) {
                assertEquals(200, r.statusCode(), r.body());
                JsonNode n = JSON.readTree(r.body());
                return n.get("continuation").asText();
            }
            Thread.sleep(200);
        }
    }
}

package org.hopestreams.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.stream.HopeProcessor;
import org.hopestreams.stream.HopeStreamsConfig;
import org.hopestreams.stream.StreamApp;
import org.hopestreams.stream.StreamTestSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The secured HTTP API on two real instances of one application (real broker, registry and HTTP): tokens from a
 * file, key-prefix scopes, health and metrics on the management port, bounded queries, the body cap, and
 * forwarding only to allowed hosts with the instance's own token. Instance A advertises 127.0.0.1 and B advertises
 * localhost; both allow forwarding to localhost only, so A may forward to B, and B's forwarding to A plays a
 * forged application.server outside the allowlist.
 */
class SecureApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final String ADMIN = "admin-0123456789abcdef";
    static final String USER = "user-0123456789abcdef";
    static final String PEER = "peer-0123456789abcdef";

    @RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    static Path dir;
    static StreamApp a;
    static StreamApp b;
    /** A user/ key owned by A, and one owned by B. */
    static String keyOfA;
    static String keyOfB;

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static HopeStreamsConfig config(String name, int port, String advertised, Path tokens) {
        Map<String, Object> m = StreamTestSupport.appConfig(SERVERS.kafka().bootstrapServers(),
                SERVERS.registry().apiUrl(), "secure-api", dir.resolve(name));
        StreamTestSupport.topics(m, "s");
        m.put(HopeStreamsConfig.HTTP_HOST, "127.0.0.1");
        m.put(HopeStreamsConfig.HTTP_PORT, Integer.toString(port));
        m.put(StreamsConfig.APPLICATION_SERVER_CONFIG, advertised + ":" + port);
        m.put(StreamsConfig.consumerPrefix("session.timeout.ms"), "6000");
        m.put(HopeStreamsConfig.HTTP_MANAGEMENT_PORT, "0");
        m.put(HopeStreamsConfig.HTTP_AUTH_TOKENS_FILE, tokens.toString());
        m.put(HopeStreamsConfig.HTTP_FORWARD_ALLOW, "localhost");
        m.put(HopeStreamsConfig.HTTP_FORWARD_TOKEN, PEER);
        m.put(HopeStreamsConfig.HTTP_QUERY_CONCURRENCY, "1");
        m.put(HopeStreamsConfig.HTTP_QUERY_QUEUE, "1");
        m.put(HopeStreamsConfig.HTTP_QUERY_TIMEOUT_MS, "5000");
        m.put(HopeStreamsConfig.HTTP_COMPLETE_MAX_BYTES, "256");
        return new HopeStreamsConfig(m);
    }

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("secure-api");
        Path tokens = dir.resolve("tokens");
        Files.writeString(tokens, "# token scope name\n" + ADMIN + " * ops\n" + USER + " user/,team/ portal\n"
                + PEER + " * peers\n");
        int portA = freePort();
        int portB = freePort();
        HopeStreamsConfig ca = config("a", portA, "127.0.0.1", tokens);
        SERVERS.kafka().createTopics(2, "s.events");
        StreamApp.createTopics(ca, 2, (short) 1);
        a = StreamApp.start(ca);
        b = StreamApp.start(config("b", portB, "localhost", tokens));
        assertTrue(a.awaitRunning(Duration.ofSeconds(60)) && b.awaitRunning(Duration.ofSeconds(60)));
        List<TextEvent> events = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            events.add(StreamTestSupport.event("e" + i, "user/" + i, "user " + i + " logged in from the portal",
                    1_000_000L + 100L * i));
        }
        StreamTestSupport.produce(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), "s.events", events);
        assertEquals(16, StreamTestSupport.readAvro(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(),
                "s.learning", 16, Duration.ofSeconds(120)).size());
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (a.hub().models().size() + b.hub().models().size() < 2 || a.streams().state() != KafkaStreams.State.RUNNING
                || b.streams().state() != KafkaStreams.State.RUNNING) {
            assertTrue(System.nanoTime() < end, "the two instances did not settle with one model each");
            Thread.sleep(200);
        }
        for (int i = 0; i < 16 && (keyOfA == null || keyOfB == null); i++) {
            String key = "user/" + i;
            int owner = a.streams().queryMetadataForKey(HopeProcessor.FAST_MEMORY, key, Serdes.String().serializer())
                    .activeHost().port();
            if (owner == a.httpPort() && keyOfA == null) {
                keyOfA = key;
            } else if (owner == b.httpPort() && keyOfB == null) {
                keyOfB = key;
            }
        }
        assertTrue(keyOfA != null && keyOfB != null, "each instance owns a user/ key");
    }

    @AfterAll
    static void stop() {
        for (StreamApp app : new StreamApp[]{b, a}) {
            if (app != null) {
                app.close();
            }
        }
    }

    static HttpResponse<String> call(int port, String path, String token, String body) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30));
        if (token != null) {
            r.header("Authorization", "Bearer " + token);
        }
        if (body != null) {
            r.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        }
        return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String complete(String key, int maxBytes) {
        return "{\"key\":\"" + key + "\",\"prompt\":\"user logged in from \",\"maxBytes\":" + maxBytes + "}";
    }

    /** A JSON error of the given status that names the problem and gives away no secret and no stack trace. */
    static void assertError(HttpResponse<String> r, int status, String words) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        String error = JSON.readTree(r.body()).get("error").asText();
        assertTrue(error.contains(words), error);
        for (String secret : List.of(ADMIN, USER, PEER, "Exception", "\tat ")) {
            assertFalse(r.body().contains(secret), "the error body contains '" + secret + "': " + r.body());
        }
    }

    @Test
    void noTokenIs401WrongPrefixIs403HealthIsOpen() throws Exception {
        int api = a.httpPort();
        HttpResponse<String> none = call(api, "/v1/complete", null, complete(keyOfA, 4));
        assertError(none, 401, "Authorization: Bearer");
        assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
        assertError(call(api, "/v1/complete", "not-a-token-at-all-123", complete(keyOfA, 4)), 401, "not valid");
        assertError(call(api, "/v1/keys/" + keyOfA, null, null), 401, "Bearer");
        assertError(call(api, "/v1/complete", USER, complete("admin/root", 4)), 403, "admin/root");
        assertError(call(api, "/v1/model", USER, null), 403, "scope *");
        assertEquals(200, call(api, "/v1/model", ADMIN, null).statusCode());
        HttpResponse<String> ok = call(api, "/v1/complete", USER, complete(keyOfA, 4));
        assertEquals(200, ok.statusCode(), ok.body());

        int mgmt = a.managementPort();
        assertTrue(mgmt != api, "a management port of its own");
        assertEquals(200, call(mgmt, Routes.LIVE, null, null).statusCode());
        assertEquals(200, call(mgmt, Routes.READY, null, null).statusCode());
        assertError(call(mgmt, Routes.METRICS, null, null), 401, "Bearer");
        assertError(call(mgmt, Routes.METRICS, USER, null), 403, "scope *");
        assertTrue(call(mgmt, Routes.METRICS, ADMIN, null).body().contains("hope_records_total"));
        assertEquals(404, call(api, Routes.METRICS, ADMIN, null).statusCode(), "metrics only on the management port");
    }

    @Test
    void forwardsWithItsOwnTokenAndOnlyToAllowedHosts() throws Exception {
        // A -> B (localhost, allowed): the client's user/ token stays at A; A forwards with the peers' token
        HttpResponse<String> viaA = call(a.httpPort(), "/v1/complete", USER, complete(keyOfB, 4));
        assertEquals(200, viaA.statusCode(), viaA.body());
        assertEquals("localhost:" + b.httpPort(), viaA.headers().firstValue(HttpServer.SERVED_BY).orElse(""));
        // B -> A: A's application.server (127.0.0.1) is not in B's allowlist: nothing is sent there
        assertError(call(b.httpPort(), "/v1/complete", USER, complete(keyOfA, 4)), 502, "hope.http.forward.allow");
    }

    @Test
    void bodiesAndCompletionsAreCapped() throws Exception {
        String big = "{\"key\":\"" + keyOfA + "\",\"prompt\":\"" + "x".repeat(70_000) + "\"}";
        assertError(call(a.httpPort(), "/v1/complete", ADMIN, big), 413, "hope.http.body.max.bytes");
        assertError(call(a.httpPort(), "/v1/complete", ADMIN, complete(keyOfA, 257)), 400, "maxBytes");
    }

    @Test
    void healthAnswersWithinASecondWhileEightClientsFloodCompletions() throws Exception {
        AtomicBoolean flood = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger tooMany = new AtomicInteger();
        AtomicInteger retryAfter = new AtomicInteger();
        List<String> other = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService clients = Executors.newFixedThreadPool(8);
        for (int c = 0; c < 8; c++) {
            clients.submit(() -> {
                while (flood.get()) {
                    try {
                        HttpResponse<String> r = call(a.httpPort(), "/v1/complete", ADMIN, complete(keyOfA, 64));
                        if (r.statusCode() == 200) {
                            ok.incrementAndGet();
                        } else if (r.statusCode() == 429 || r.statusCode() == 503) {
                            tooMany.incrementAndGet();
                            r.headers().firstValue("Retry-After").ifPresent(v -> retryAfter.incrementAndGet());
                            Thread.sleep(20); // a flood, but not a busy loop that starves the 2-core test machine
                        } else {
                            other.add(r.statusCode() + " " + r.body());
                        }
                    } catch (Exception e) {
                        other.add(e.toString());
                        return;
                    }
                }
            });
        }
        long worst = 0;
        try {
            Thread.sleep(300);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            for (int i = 0; i < 20 || ok.get() == 0 && System.nanoTime() < until; i++) {
                long t0 = System.nanoTime();
                HttpResponse<String> live = call(a.managementPort(), Routes.LIVE, null, null);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertEquals(200, live.statusCode());
                worst = Math.max(worst, ms);
                Thread.sleep(100);
            }
        } finally {
            flood.set(false);
            clients.shutdown();
            assertTrue(clients.awaitTermination(30, TimeUnit.SECONDS));
        }
        assertTrue(worst < 1000, "/health/live took " + worst + " ms under the flood");
        assertTrue(other.isEmpty(), "answers other than 200, 429, 503: " + other.subList(0, Math.min(3, other.size())));
        assertTrue(ok.get() > 0, "some completions answered; refused " + tooMany);
        assertTrue(tooMany.get() > 0, "queries over the bound refused (429/503): ok " + ok + ", refused " + tooMany);
        assertEquals(tooMany.get(), retryAfter.get(), "every refusal carries Retry-After");
    }
}

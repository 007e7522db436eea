package org.hopestreams.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import org.apache.avro.Schema;
import org.apache.kafka.common.errors.SerializationException;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.stream.RegistryGate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Confluent API client against a small in-JVM HTTP server that answers what a test needs: the requests it sends
 * (paths, media types, credentials), its caches and retries, and each kind of failure with its message and how the
 * application classifies it ({@link RegistryGate#unanswered}: wait; {@link RegistryGate#refused}: wait, not ready;
 * anything else: an answer about the bytes). The same features against a real registry: ConfluentApiIntegrationTest.
 */
class ConfluentRegistryClientTest {
    private static final String SECRET = "s3cret-pa55";
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final List<Map<String, String>> headers = new CopyOnWriteArrayList<>();
    private HttpServer server;

    @TempDir
    Path dir;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    /** Starts a server whose every request is answered by {@code answer} (status and body). */
    private String serve(Function<HttpExchange, Answer> answer) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> handle(ex, answer));
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex, Function<HttpExchange, Answer> answer) throws IOException {
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        requests.add(ex.getRequestMethod() + " " + ex.getRequestURI() + (body.isEmpty() ? "" : " " + body));
        headers.add(Map.of("Accept", String.valueOf(ex.getRequestHeaders().getFirst("Accept")),
                "Content-Type", String.valueOf(ex.getRequestHeaders().getFirst("Content-Type")),
                "Authorization", String.valueOf(ex.getRequestHeaders().getFirst("Authorization"))));
        Answer a = answer.apply(ex);
        if (a == null) {
            return;   // never answer: the client's timeout must end the call
        }
        byte[] out = a.body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", ConfluentRegistryClient.CONTENT_TYPE);
        ex.sendResponseHeaders(a.status, out.length == 0 ? -1 : out.length);
        if (out.length > 0) {
            ex.getResponseBody().write(out);
        }
        ex.close();
    }

    private record Answer(int status, String body) {
    }

    private static ConfluentRegistryClient client(String url, String userInfo, int retries, long timeoutMs) {
        return new ConfluentRegistryClient(RegistryClientConfig.from(Map.of("schema.registry.url", url,
                RegistryClientConfig.BASIC_AUTH_USER_INFO, userInfo, RegistryClientConfig.RETRIES, retries,
                RegistryClientConfig.CALL_TIMEOUT_MS, timeoutMs)));
    }

    private static String schemaAnswer(Schema s) {
        return "{\"schema\":" + com.fasterxml.jackson.databind.node.TextNode.valueOf(s.toString()) + ",\"schemaType\":\"AVRO\"}";
    }

    @Test
    void registersLooksUpAndFetchesWithTheApisMediaTypesAndBasicAuthAndCachesBoth() throws Exception {
        String url = serve(ex -> {
            String p = ex.getRequestURI().getPath();
            if (p.equals("/subjects/t.events-value/versions")) {
                return new Answer(200, "{\"id\":7}");
            }
            if (p.equals("/schemas/ids/7")) {
                return new Answer(200, schemaAnswer(TextEvent.getClassSchema()));
            }
            if (p.equals("/config/t.events-value")) {
                return new Answer(200, "{\"compatibility\":\"FULL_TRANSITIVE\"}");
            }
            return new Answer(404, "{\"error_code\":40401,\"message\":\"no\"}");
        });
        ConfluentRegistryClient client = client(url, "alice:" + SECRET, 0, 2000);
        ConfluentAvroSerializer<Object> ser = new ConfluentAvroSerializer<>(client);
        ser.configure(Map.of(), false);
        TextEvent e = TextEvent.newBuilder().setId("e1").setKey("k").setText("hello").setEventTime(Instant.ofEpochMilli(5))
                .setAttributes(Map.of()).build();
        byte[] bytes = ser.serialize("t.events", e);
        assertArrayEquals(new byte[]{0, 0, 0, 0, 7}, java.util.Arrays.copyOf(bytes, 5), "magic byte 0, id 7 big-endian");
        ser.serialize("t.events", e);
        assertEquals(1, requests.size(), "the id is cached by subject and schema: " + requests);
        assertTrue(requests.get(0).startsWith("POST /subjects/t.events-value/versions {\"schema\":"), requests.get(0));
        assertEquals(ConfluentRegistryClient.CONTENT_TYPE, headers.get(0).get("Content-Type"));
        assertTrue(headers.get(0).get("Accept").startsWith(ConfluentRegistryClient.CONTENT_TYPE), headers.get(0).toString());
        assertEquals("Basic " + Base64.getEncoder().encodeToString(("alice:" + SECRET).getBytes(StandardCharsets.UTF_8)),
                headers.get(0).get("Authorization"));

        // a fresh client (another process) reads it back by id, once
        ConfluentAvroDeserializer<Object> de = new ConfluentAvroDeserializer<>(client(url, "", 0, 2000), true);
        assertEquals(e, de.deserialize("t.events", bytes));
        assertEquals(e, de.deserialize("t.events", bytes));
        assertEquals(2, requests.size(), "the schema is cached by id: " + requests);
        assertEquals("GET /schemas/ids/7", requests.get(1));
        assertEquals("null", headers.get(1).get("Authorization"), "no credentials configured, none sent");

        client.setCompatibility("t.events-value", "FULL_TRANSITIVE");
        assertEquals("PUT /config/t.events-value {\"compatibility\":\"FULL_TRANSITIVE\"}", requests.get(2));
        assertEquals("FULL_TRANSITIVE", client.compatibility("t.events-value"));
        assertThrows(IllegalArgumentException.class, () -> client.setCompatibility("t.events-value", "SIDEWAYS"));
    }

    @Test
    void withoutAutoRegistrationTheSerializerOnlyLooksUpAndAMissingSubjectSaysSo() throws Exception {
        String url = serve(ex -> new Answer(404, "{\"error_code\":40401,\"message\":\"Subject 'x-value' not found.\"}"));
        ConfluentAvroSerializer<Object> ser = new ConfluentAvroSerializer<>();
        ser.configure(Map.of("schema.registry.url", url, RegistryClientConfig.AUTO_REGISTER, "false"), false);
        SerializationException e = assertThrows(SerializationException.class, () -> ser.serialize("x",
                TextEvent.newBuilder().setId("e").setKey("k").setText("t").setEventTime(Instant.EPOCH)
                        .setAttributes(Map.of()).build()));
        assertTrue(requests.get(0).startsWith("POST /subjects/x-value {"), requests.toString());
        assertTrue(e.getMessage().contains("cannot look up org.hopestreams.avro.TextEvent for topic x"), e.getMessage());
        assertTrue(e.getMessage().contains("subject not found") && e.getMessage().contains("40401"), e.getMessage());
        RegistryException cause = assertInstanceOf(RegistryException.class, e.getCause());
        assertEquals(RegistryException.Kind.NOT_FOUND, cause.kind());
        assertFalse(RegistryGate.holdsInput(e), "an answer, not an outage");
    }

    @Test
    void anUnknownIdIsNotFoundAndDecodesAsAnAnswerNamingTheId() throws Exception {
        String url = serve(ex -> new Answer(404, "{\"error_code\":40403,\"message\":\"Schema 99 not found\"}"));
        ConfluentAvroDeserializer<Object> de = new ConfluentAvroDeserializer<>(client(url, "", 2, 2000), true);
        SerializationException e = assertThrows(SerializationException.class,
                () -> de.deserialize("t", new byte[]{0, 0, 0, 0, 99, 2, 'x'}));
        assertEquals(1, requests.size(), "404 is an answer: not retried");
        assertTrue(e.getMessage().contains("schema id 99 not found (404, error 40403)"), e.getMessage());
        assertFalse(RegistryGate.holdsInput(e));
        assertTrue(assertThrows(SerializationException.class, () -> de.deserialize("t", new byte[]{1, 0, 0, 0, 1}))
                .getMessage().contains("magic byte 1"));
        assertEquals(1, requests.size(), "bytes not in the wire format never reach the registry");
    }

    @Test
    void anIncompatibleSchemaIsRefusedWith409AndTheRegistrysReason() throws Exception {
        String url = serve(ex -> ex.getRequestURI().getPath().startsWith("/compatibility")
                ? new Answer(200, "{\"is_compatible\":false}")
                : new Answer(409, "{\"error_code\":409,\"message\":\"Incompatible: text at /fields/0\"}"));
        ConfluentRegistryClient client = client(url, "", 2, 2000);
        assertFalse(client.compatible("t-value", TextEvent.getClassSchema()));
        RegistryException e = assertThrows(RegistryException.class, () -> client.id("t-value", TextEvent.getClassSchema(), true));
        assertEquals(RegistryException.Kind.INCOMPATIBLE, e.kind());
        assertTrue(e.getMessage().contains("409 Conflict, incompatible with the subject's compatibility rule: "
                + "Incompatible: text at /fields/0"), e.getMessage());
        assertEquals(2, requests.size(), "not retried");
        assertFalse(RegistryGate.holdsInput(e));
    }

    @Test
    void unauthorizedAndForbiddenAreRefusalsThatSayWhatToSetAndNeverShowThePassword() throws Exception {
        AtomicInteger status = new AtomicInteger(401);
        String url = serve(ex -> new Answer(status.get(), "{\"error_code\":" + status.get() + ",\"message\":\"Unauthorized\"}"));
        RegistryException none = assertThrows(RegistryException.class, () -> client(url, "", 2, 2000).schema(1));
        assertEquals(RegistryException.Kind.ACCESS_DENIED, none.kind());
        assertTrue(none.getMessage().contains("401 Unauthorized") && none.getMessage().contains(
                "none are configured: set hope.registry.basic.auth.user.info to user:password"), none.getMessage());
        RegistryException wrong = assertThrows(RegistryException.class, () -> client(url, "bob:" + SECRET, 2, 2000).schema(1));
        assertTrue(wrong.getMessage().contains("the configured hope.registry.basic.auth.user.info was not accepted"),
                wrong.getMessage());
        status.set(403);
        RegistryException forbidden = assertThrows(RegistryException.class, () -> client(url, "bob:" + SECRET, 2, 2000).schema(1));
        assertTrue(forbidden.getMessage().contains("403 Forbidden"), forbidden.getMessage());
        assertEquals(3, requests.size(), "refusals are not retried by the client: " + requests);
        for (RegistryException e : List.of(none, wrong, forbidden)) {
            assertFalse(e.getMessage().contains(SECRET));
            assertTrue(RegistryGate.refused(e) && RegistryGate.holdsInput(e), "input waits: " + e);
            assertFalse(RegistryGate.unanswered(e));
        }
        assertFalse(client(url, "bob:" + SECRET, 2, 2000).config().toString().contains(SECRET));
        assertFalse(RegistryClientConfig.from(Map.of("schema.registry.url", url, RegistryClientConfig.TRUSTSTORE_PASSWORD,
                SECRET)).toString().contains(SECRET));
        assertThrows(IllegalArgumentException.class, () -> client(url, "no-colon", 0, 100));
    }

    @Test
    void serverErrorsAreRetriedWithBackoffThenReportedAsNoAnswer() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        String url = serve(ex -> calls.incrementAndGet() <= 2 ? new Answer(503, "down for maintenance")
                : new Answer(200, schemaAnswer(TextEvent.getClassSchema())));
        assertEquals(TextEvent.getClassSchema(), client(url, "", 2, 2000).schema(3), "two 503s, then the answer");
        assertEquals(3, calls.get());

        calls.set(-100);
        long t0 = System.nanoTime();
        RegistryException e = assertThrows(RegistryException.class, () -> client(url, "", 2, 2000).schema(4));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(-97, calls.get(), "1 + 2 retries");
        assertTrue(ms >= 300, "backoff 100 + 200 ms, took " + ms);
        assertEquals(RegistryException.Kind.UNAVAILABLE, e.kind());
        assertTrue(e.getMessage().contains("could not answer schema id 4 (status 503): down for maintenance"), e.getMessage());
        assertTrue(RegistryGate.unanswered(new SerializationException("x", e)));
    }

    @Test
    void aRegistryThatNeverAnswersOrIsNotThereIsNoAnswerWithinTheTimeout() throws Exception {
        String url = serve(ex -> null);
        long t0 = System.nanoTime();
        RegistryException hang = assertThrows(RegistryException.class, () -> client(url, "", 1, 300).schema(1));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 600 && ms < 5000, "two attempts of 300 ms (and a 100 ms backoff): " + ms);
        assertEquals(RegistryException.Kind.UNAVAILABLE, hang.kind());
        assertInstanceOf(java.net.http.HttpTimeoutException.class, hang.getCause());
        assertTrue(RegistryGate.unanswered(hang));

        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        RegistryException refused = assertThrows(RegistryException.class,
                () -> client("http://127.0.0.1:" + closed, "", 0, 1000).schema(1));
        assertEquals(RegistryException.Kind.UNAVAILABLE, refused.kind());
        assertTrue(refused.getMessage().contains("did not answer (schema id 1, 1 attempts)"), refused.getMessage());
        assertTrue(RegistryGate.unanswered(refused));

        // several URLs: the next one is asked when one does not answer
        ConfluentRegistryClient two = client("http://127.0.0.1:" + closed + "," + url.replace("127.0.0.1", "localhost"),
                "", 1, 2000);
        server.removeContext("/");
        server.createContext("/", ex -> handle(ex, x -> new Answer(200, schemaAnswer(TextEvent.getClassSchema()))));
        assertEquals(TextEvent.getClassSchema(), two.schema(2));
    }

    @Test
    void tlsWithTheConfiguredTrustStoreAndNoAnswerWithoutIt() throws Exception {
        Path keystore = dir.resolve("server.p12");
        Path cert = dir.resolve("server.crt");
        Path truststore = dir.resolve("trust.p12");
        keytool("-genkeypair", "-alias", "registry", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=localhost",
                "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", keystore.toString(), "-storepass", "changeit", "-keypass", "changeit");
        keytool("-exportcert", "-alias", "registry", "-keystore", keystore.toString(), "-storepass", "changeit",
                "-file", cert.toString());
        keytool("-importcert", "-noprompt", "-alias", "registry", "-file", cert.toString(), "-storetype", "PKCS12",
                "-keystore", truststore.toString(), "-storepass", "trustpass");

        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, "changeit".toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        HttpsServer https = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(ctx));
        https.createContext("/", ex -> handle(ex, x -> new Answer(200, schemaAnswer(TextEvent.getClassSchema()))));
        https.start();
        server = https;
        String url = "https://127.0.0.1:" + https.getAddress().getPort();

        ConfluentRegistryClient trusted = new ConfluentRegistryClient(RegistryClientConfig.from(Map.of(
                "schema.registry.url", url, RegistryClientConfig.TRUSTSTORE_LOCATION, truststore.toString(),
                RegistryClientConfig.TRUSTSTORE_PASSWORD, "trustpass", RegistryClientConfig.RETRIES, "0")));
        assertEquals(TextEvent.getClassSchema(), trusted.schema(1));

        RegistryException untrusted = assertThrows(RegistryException.class, () -> client(url, "", 0, 2000).schema(1));
        assertEquals(RegistryException.Kind.UNAVAILABLE, untrusted.kind(), "the JVM's default trust does not know it");
        assertInstanceOf(javax.net.ssl.SSLException.class, rootOrSsl(untrusted));
        assertTrue(RegistryGate.unanswered(untrusted));

        assertThrows(java.io.UncheckedIOException.class, () -> new ConfluentRegistryClient(RegistryClientConfig.from(Map.of(
                "schema.registry.url", url, RegistryClientConfig.TRUSTSTORE_LOCATION, dir.resolve("none.p12").toString()))));
    }

    private static Throwable rootOrSsl(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof javax.net.ssl.SSLException) {
                return t;
            }
        }
        return e;
    }

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "keytool " + String.join(" ", args) + ": " + out);
    }

    @Test
    void aUrlWithoutSchemeOrNoneAtAllIsRefusedAtConfiguration() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> RegistryClientConfig.from(Map.of()))
                .getMessage().contains("hope.registry.url"));
        assertThrows(IllegalArgumentException.class, () -> RegistryClientConfig.from(Map.of("schema.registry.url",
                "registry:8081")));
        assertEquals(List.of("http://a:1", "http://b:2/apis/ccompat/v7"), RegistryClientConfig.from(Map.of(
                "hope.registry.url", "http://a:1/, http://b:2/apis/ccompat/v7")).urls());
        assertEquals(Duration.ofMillis(10_000), RegistryClientConfig.from(Map.of("schema.registry.url", "http://a")).timeout());
    }
}

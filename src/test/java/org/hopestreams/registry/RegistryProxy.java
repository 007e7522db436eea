package org.hopestreams.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A reverse proxy in front of a real registry that a test turns into the failures a production registry can show:
 * it forwards requests (checking HTTP basic credentials when {@link #requireAuth} is set: 401 without the right
 * ones, as Confluent Schema Registry, Karapace or Redpanda with authentication on), or answers every request with a
 * status ({@link #answer}), or never answers ({@link #hang}). For tests; one per test, closed after it.
 */
public final class RegistryProxy implements AutoCloseable {
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "content-length", "host", "transfer-encoding",
            "upgrade", "keep-alive", "expect");
    private final HttpServer server;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String target;
    private volatile String expectedAuthorization;
    private volatile int status;
    private volatile boolean hang;
    private final AtomicInteger requests = new AtomicInteger();

    /** @param target the registry's base URL ({@code http://127.0.0.1:PORT}); paths are forwarded as they come */
    public RegistryProxy(String target) throws IOException {
        this.target = target;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "registry-proxy");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    /** The proxy's base URL: append the API's path ({@code /apis/ccompat/v7}). */
    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Forward only requests with these basic credentials ({@code user:password}); null: forward all. */
    public RegistryProxy requireAuth(String userInfo) {
        expectedAuthorization = userInfo == null ? null
                : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** Answer every request with {@code status} (0: forward again). */
    public RegistryProxy answer(int status) {
        this.status = status;
        return this;
    }

    /** Accept every request and never answer it (until {@link #forward}). */
    public RegistryProxy hang() {
        this.hang = true;
        return this;
    }

    /** Back to forwarding (credentials still checked when required). */
    public RegistryProxy forward() {
        this.status = 0;
        this.hang = false;
        return this;
    }

    public int requests() {
        return requests.get();
    }

    private void handle(HttpExchange ex) throws IOException {
        requests.incrementAndGet();
        byte[] body = ex.getRequestBody().readAllBytes();
        try {
            while (hang) {
                Thread.sleep(50);
            }
            if (status != 0) {
                reply(ex, status, "{\"error_code\":" + status + ",\"message\":\"proxy says " + status + "\"}");
                return;
            }
            String expected = expectedAuthorization;
            if (expected != null && !expected.equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"registry\"");
                reply(ex, 401, "{\"error_code\":401,\"message\":\"Unauthorized\"}");
                return;
            }
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(target + ex.getRequestURI()))
                    .timeout(Duration.ofSeconds(30))
                    .method(ex.getRequestMethod(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(body));
            ex.getRequestHeaders().forEach((k, vs) -> {
                if (!HOP_BY_HOP.contains(k.toLowerCase(java.util.Locale.ROOT)) && !k.equalsIgnoreCase("Authorization")) {
                    vs.forEach(v -> b.header(k, v));
                }
            });
            HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            r.headers().firstValue("Content-Type").ifPresent(v -> ex.getResponseHeaders().add("Content-Type", v));
            ex.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
            if (r.body().length > 0) {
                ex.getResponseBody().write(r.body());
            }
            ex.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ex.close();
        } catch (IOException e) {
            reply(ex, 502, "{\"error_code\":502,\"message\":\"proxy: " + e + "\"}");
        }
    }

    private static void reply(HttpExchange ex, int status, String json) throws IOException {
        byte[] out = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", ConfluentRegistryClient.CONTENT_TYPE);
        ex.sendResponseHeaders(status, out.length);
        ex.getResponseBody().write(out);
        ex.close();
    }

    @Override
    public void close() {
        forward();
        server.stop(0);
    }
}

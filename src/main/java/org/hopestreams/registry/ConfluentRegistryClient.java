package org.hopestreams.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.avro.Schema;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A client of the Confluent Schema Registry REST API (v7), as served by Confluent Schema Registry, Karapace,
 * Redpanda's registry and Apicurio Registry ({@code /apis/ccompat/v7}): register and look up a schema under a
 * subject, fetch a schema by id, test compatibility, read and set a subject's compatibility level.
 *
 * <p>Every request asks for {@value #CONTENT_TYPE} (JSON as a fallback), carries HTTP basic credentials when
 * configured, and is sent over TLS with the configured trust store (or the JVM's). A call that gets no answer
 * (transport failure, timeout, 5xx, 408, 429) is tried again up to {@link RegistryClientConfig#retries()} times,
 * after 100 ms, then twice as long each time (at most 2 s), on the next URL when several are given; then it throws
 * a {@link RegistryException} of kind {@link RegistryException.Kind#UNAVAILABLE}. Other answers throw at once with
 * their kind (401/403, 404, 409, 422) and a message naming the registry, the subject or id, and the registry's own
 * words.
 *
 * <p>Schemas by id and ids by subject and schema are cached for good: an id always names the same schema.
 * Thread-safe.
 */
public final class ConfluentRegistryClient {
    public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    static final String ACCEPT = CONTENT_TYPE + ", application/vnd.schemaregistry+json; qs=0.9, application/json; qs=0.5";
    /** The compatibility levels of the API. */
    public static final Set<String> LEVELS = Set.of("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD",
            "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long FIRST_BACKOFF_MS = 100;
    private static final long MAX_BACKOFF_MS = 2_000;

    private final RegistryClientConfig config;
    private final HttpClient http;
    private final String authorization;
    private final AtomicInteger current = new AtomicInteger();
    private final Map<Integer, Schema> schemas = new ConcurrentHashMap<>();
    private final Map<String, Map<Schema, Integer>> ids = new ConcurrentHashMap<>();

    public ConfluentRegistryClient(RegistryClientConfig config) {
        this.config = config;
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(config.timeout())
                .followRedirects(HttpClient.Redirect.NORMAL);
        if (!config.truststore().isEmpty()) {
            b.sslContext(sslContext(config));
        }
        this.http = b.build();
        this.authorization = config.userInfo().isEmpty() ? null
                : "Basic " + Base64.getEncoder().encodeToString(config.userInfo().getBytes(StandardCharsets.UTF_8));
    }

    public RegistryClientConfig config() {
        return config;
    }

    /** The URL calls go to now (the first of the configured ones, until one does not answer). */
    public String url() {
        return config.urls().get(Math.floorMod(current.get(), config.urls().size()));
    }

    /** The schema with registry id {@code id} ({@code GET /schemas/ids/{id}}); 404 throws {@code NOT_FOUND}. */
    public Schema schema(int id) {
        Schema known = schemas.get(id);
        if (known != null) {
            return known;
        }
        JsonNode answer = call("GET", "/schemas/ids/" + id, null, "schema id " + id);
        String type = answer.path("schemaType").asText("AVRO");
        if (!type.equals("AVRO")) {
            throw new RegistryException(RegistryException.Kind.OTHER, 200, -1, "schema id " + id + " in the registry "
                    + url() + " is a " + type + " schema, not Avro", null);
        }
        Schema schema = parse(answer.path("schema").asText(), "schema id " + id);
        Schema raced = schemas.putIfAbsent(id, schema);
        return raced == null ? schema : raced;
    }

    /**
     * The id of {@code schema} under {@code subject}: registered as a new version if {@code register} and the subject
     * does not have it yet ({@code POST /subjects/{subject}/versions}), else looked up ({@code POST /subjects/{subject}},
     * 404 when the subject or the schema is not there).
     */
    public int id(String subject, Schema schema, boolean register) {
        Map<Schema, Integer> bySchema = ids.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
        Integer known = bySchema.get(schema);
        if (known != null) {
            return known;
        }
        String body = JSON.createObjectNode().put("schema", schema.toString()).toString();
        String what = "the schema " + schema.getFullName() + " under subject '" + subject + "'";
        JsonNode answer = register
                ? call("POST", "/subjects/" + encode(subject) + "/versions", body, what)
                : call("POST", "/subjects/" + encode(subject), body, what);
        int id = answer.path("id").asInt(-1);
        if (id < 0) {
            throw new RegistryException(RegistryException.Kind.OTHER, 200, -1, "the registry " + url()
                    + " answered no id for " + what + ": " + answer, null);
        }
        bySchema.put(schema, id);
        schemas.putIfAbsent(id, schema);
        return id;
    }

    /**
     * Whether {@code schema} may be registered under {@code subject} by its compatibility rule
     * ({@code POST /compatibility/subjects/{subject}/versions/latest}); true for a subject that does not exist yet.
     */
    public boolean compatible(String subject, Schema schema) {
        String body = JSON.createObjectNode().put("schema", schema.toString()).toString();
        try {
            return call("POST", "/compatibility/subjects/" + encode(subject) + "/versions/latest", body,
                    "a compatibility check under subject '" + subject + "'").path("is_compatible").asBoolean(false);
        } catch (RegistryException e) {
            if (e.kind() == RegistryException.Kind.NOT_FOUND) {
                return true;
            }
            throw e;
        }
    }

    /** The subject's compatibility level ({@code GET /config/{subject}?defaultToGlobal=true}). */
    public String compatibility(String subject) {
        JsonNode answer = call("GET", "/config/" + encode(subject) + "?defaultToGlobal=true", null,
                "the compatibility level of subject '" + subject + "'");
        return answer.path(answer.has("compatibilityLevel") ? "compatibilityLevel" : "compatibility").asText();
    }

    /** Sets the subject's compatibility level ({@code PUT /config/{subject}}), one of {@link #LEVELS}. */
    public void setCompatibility(String subject, String level) {
        if (!LEVELS.contains(level)) {
            throw new IllegalArgumentException("compatibility level '" + level + "' is not one of " + LEVELS);
        }
        call("PUT", "/config/" + encode(subject), JSON.createObjectNode().put("compatibility", level).toString(),
                "setting compatibility " + level + " on subject '" + subject + "'");
    }

    /** One call with retries; the answer's JSON, or a {@link RegistryException} of the answer's kind. */
    private JsonNode call(String method, String path, String body, String what) {
        long backoff = FIRST_BACKOFF_MS;
        for (int attempt = 0; ; attempt++) {
            String base = url();
            try {
                HttpResponse<String> r = send(method, base + path, body);
                if (r.statusCode() / 100 == 2) {
                    return r.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.body());
                }
                RegistryException e = answered(base, method, path, what, r);
                if (e.kind() != RegistryException.Kind.UNAVAILABLE || attempt >= config.retries()) {
                    throw e;
                }
                nextUrl();
            } catch (IOException e) {
                if (e instanceof com.fasterxml.jackson.core.JsonProcessingException j) {
                    throw new RegistryException(RegistryException.Kind.OTHER, 200, -1, "the registry " + base
                            + " answered " + what + " with something that is not JSON: " + j.getOriginalMessage(), e);
                }
                nextUrl();
                if (attempt >= config.retries()) {
                    throw new RegistryException(RegistryException.Kind.UNAVAILABLE, -1, -1, "the schema registry "
                            + base + " did not answer (" + what + ", " + (attempt + 1) + " attempts): " + e, e);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryException(RegistryException.Kind.UNAVAILABLE, -1, -1,
                        "interrupted while asking the schema registry " + base + " (" + what + ")", e);
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryException(RegistryException.Kind.UNAVAILABLE, -1, -1,
                        "interrupted while waiting to ask the schema registry " + base + " again (" + what + ")", e);
            }
            backoff = Math.min(2 * backoff, MAX_BACKOFF_MS);
        }
    }

    private void nextUrl() {
        if (config.urls().size() > 1) {
            current.incrementAndGet();
        }
    }

    private HttpResponse<String> send(String method, String url, String body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(config.timeout()).header("Accept", ACCEPT);
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        if (body == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", CONTENT_TYPE).method(method, HttpRequest.BodyPublishers.ofString(body));
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The exception for a non-2xx answer, with its kind and a message an operator can act on. */
    private RegistryException answered(String base, String method, String path, String what, HttpResponse<String> r) {
        int status = r.statusCode();
        int code = -1;
        String said = r.body() == null ? "" : r.body().strip();
        try {
            JsonNode error = JSON.readTree(said);
            if (error != null && error.isObject()) {
                code = error.path("error_code").asInt(-1);
                said = error.path("message").asText(said);
            }
        } catch (IOException notJson) {
            // keep the body as it is (a proxy's HTML page, say), shortened below
        }
        if (said.length() > 300) {
            said = said.substring(0, 300) + "...";
        }
        String where = "the schema registry " + base + " (" + method + " " + path + ")";
        String tail = said.isEmpty() ? "" : ": " + said;
        if (status >= 500 || status == 408 || status == 429) {
            return new RegistryException(RegistryException.Kind.UNAVAILABLE, status, code, where + " could not answer "
                    + what + " (status " + status + ")" + tail, null);
        }
        return switch (status) {
            case 401 -> new RegistryException(RegistryException.Kind.ACCESS_DENIED, status, code, where
                    + " refused " + what + ": 401 Unauthorized, the registry wants credentials ("
                    + (authorization == null ? "none are configured: set " + RegistryClientConfig.BASIC_AUTH_USER_INFO
                    + " to user:password" : "the configured " + RegistryClientConfig.BASIC_AUTH_USER_INFO
                    + " was not accepted") + ")" + tail, null);
            case 403 -> new RegistryException(RegistryException.Kind.ACCESS_DENIED, status, code, where
                    + " refused " + what + ": 403 Forbidden, the credentials are not allowed to do this" + tail, null);
            case 404 -> new RegistryException(RegistryException.Kind.NOT_FOUND, status, code, where + ": "
                    + notFound(code, what) + " (404" + (code > 0 ? ", error " + code : "") + ")" + tail, null);
            case 409 -> new RegistryException(RegistryException.Kind.INCOMPATIBLE, status, code, where + " refused "
                    + what + ": 409 Conflict, incompatible with the subject's compatibility rule" + tail, null);
            case 422 -> new RegistryException(RegistryException.Kind.INVALID, status, code, where + " refused "
                    + what + " as invalid (422" + (code > 0 ? ", error " + code : "") + ")" + tail, null);
            default -> new RegistryException(RegistryException.Kind.OTHER, status, code, where + " answered " + what
                    + " with status " + status + tail, null);
        };
    }

    private static String notFound(int code, String what) {
        return switch (code) {
            case 40401 -> "subject not found, for " + what;
            case 40402 -> "version not found, for " + what;
            case 40403 -> what + " not found";
            default -> what + ": not found";
        };
    }

    private static Schema parse(String text, String what) {
        try {
            return new Schema.Parser().parse(text);
        } catch (RuntimeException e) {
            throw new RegistryException(RegistryException.Kind.OTHER, 200, -1, "the registry's " + what
                    + " is not an Avro schema this reader can parse: " + e.getMessage(), e);
        }
    }

    private static String encode(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static SSLContext sslContext(RegistryClientConfig config) {
        try (InputStream in = Files.newInputStream(Path.of(config.truststore()))) {
            KeyStore store = KeyStore.getInstance(config.truststoreType());
            store.load(in, config.truststorePassword().isEmpty() ? null : config.truststorePassword().toCharArray());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the schema registry trust store "
                    + RegistryClientConfig.TRUSTSTORE_LOCATION + " = " + config.truststore() + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the schema registry trust store " + config.truststore() + " ("
                    + config.truststoreType() + ") cannot be used: " + e.getMessage(), e);
        }
    }
}

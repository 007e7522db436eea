package org.hopestreams.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.state.HostInfo;
import org.hopestreams.model.FastState;
import org.hopestreams.model.HostTensor;
import org.hopestreams.stream.HopeProcessor;
import org.hopestreams.stream.LearnerHub;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The HTTP side of an instance (Javalin): the query API, health, Prometheus metrics and the
 * dashboard. A key's query goes to the instance that owns the key's partition (Kafka Streams key
 * metadata for the {@code fast-memory} store); another instance forwards it there once and
 * returns the owner's answer. Queries never change state (see {@link QueryEngine}).
 * <p>
 * Security ({@link HttpSettings}): bearer tokens with key-prefix scopes ({@link ApiTokens}), optional
 * (mutual) TLS on the API port ({@link ApiTls}), forwarding only to allowed hosts ({@link ForwardPolicy}) with
 * this instance's own token, bounded query work ({@link QueryLimiter}) and a body cap. /health/* and
 * /metrics live on a management server of their own unless {@code hope.http.management.port} is -1.
 */
public final class HttpServer implements AutoCloseable {
    public static final String FORWARDED = "X-Hope-Forwarded";
    public static final String SERVED_BY = "X-Hope-Served-By";
    public static final int MAX_TEXT_BYTES = 16 * 1024;
    private static final String GRANT = "hope.grant";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HttpServer.class);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Supplier<KafkaStreams> streams;
    private final QueryEngine queries;
    private final LearnerHub hub;
    private final Telemetry telemetry;
    private final PrometheusMeterRegistry metrics;
    private volatile HostInfo self;
    private volatile Supplier<Optional<String>> readiness = Optional::empty;
    private final HttpSettings settings;
    private volatile String bindHost = "0.0.0.0";
    private volatile int bindPort;
    private final QueryLimiter limiter;
    private final HttpClient client;
    private final Javalin app;
    /** The management server (/health/*, /metrics), or null when they are served by {@link #app}. */
    private final Javalin management;

    /** Thrown for a request the client must fix: 400 with the message. */
    static final class BadRequest extends RuntimeException {
        final int status;

        BadRequest(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    /**
     * @param self     this instance's {@code application.server} host and port, or null when it runs
     *                 alone (every key is then answered here)
     * @param settings authentication, TLS, forwarding, query bounds and the management port
     */
    public HttpServer(Supplier<KafkaStreams> streams, QueryEngine queries, LearnerHub hub, Telemetry telemetry,
                      PrometheusMeterRegistry metrics, HostInfo self, HttpSettings settings) {
        this.streams = streams;
        this.queries = queries;
        this.hub = hub;
        this.telemetry = telemetry;
        this.metrics = metrics;
        this.self = self;
        this.settings = settings;
        this.limiter = new QueryLimiter(settings.queryConcurrency(), settings.queryQueue(), settings.queryTimeoutMs());
        this.client = ApiTls.forwardingClient(settings.tls());
        this.app = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.http.maxRequestSize = settings.bodyMaxBytes();
            cfg.staticFiles.enableWebjars();
            cfg.staticFiles.add(sf -> {
                sf.hostedPath = "/";
                sf.directory = "/dashboard";
                sf.location = Location.CLASSPATH;
            });
            ApiTls.configure(cfg, settings.tls(), () -> bindHost, () -> bindPort);
        });
        this.management = settings.managementPort() < 0 ? null
                : Javalin.create(cfg -> cfg.showJavalinBanner = false);
        Javalin mgmt = management == null ? app : management;
        app.before(this::authorise);
        if (management != null) {
            management.before(this::authorise);
        }
        mgmt.get(Routes.LIVE, this::live);
        mgmt.get(Routes.READY, this::ready);
        mgmt.get(Routes.METRICS, ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                .result(metrics.scrape()));
        app.get(Routes.MODEL, this::model);
        app.get(Routes.DASHBOARD_DATA, ctx -> ctx.json(telemetry.dashboard()));
        app.get(Routes.KEY, ctx -> routed(ctx, ctx.pathParam("key"), p -> keyStats(ctx.pathParam("key"), p)));
        app.post(Routes.SCORE, ctx -> {
            JsonNode body = body(ctx);
            routed(ctx, text(body, "key", 1024), p -> score(p, body));
        });
        app.post(Routes.COMPLETE, ctx -> {
            JsonNode body = body(ctx);
            routed(ctx, text(body, "key", 1024), p -> complete(p, body));
        });
        errors(app);
        if (management != null) {
            errors(management);
        }
    }

    /** Every error as {@code {"error": ...}}: a sentence naming the problem, never a secret or a stack trace. */
    private static void errors(Javalin j) {
        j.exception(ApiError.class, (e, ctx) -> {
            if (e.retryAfterSeconds() >= 0) {
                ctx.header("Retry-After", Long.toString(e.retryAfterSeconds()));
            }
            if (e.status() == 401) {
                ctx.header("WWW-Authenticate", "Bearer realm=\"hope-streams\"");
            }
            ctx.status(e.status()).json(Map.of("error", e.getMessage()));
        });
        j.exception(BadRequest.class, (e, ctx) -> ctx.status(e.status).json(Map.of("error", e.getMessage())));
        j.exception(org.apache.kafka.streams.errors.InvalidStateStoreException.class, (e, ctx) -> ctx.status(503)
                .header("Retry-After", "1")
                .json(Map.of("error", "the state store is not queryable right now (rebalancing or restoring): "
                        + e.getMessage())));
        j.exception(IllegalStateException.class, (e, ctx) -> ctx.status(503).header("Retry-After", "1")
                .json(Map.of("error", e.getMessage())));
        j.exception(io.javalin.http.HttpResponseException.class, (e, ctx) -> ctx.status(e.getStatus())
                .json(Map.of("error", e.getStatus() == 413 ? "the request body is over the cap of "
                        + "hope.http.body.max.bytes" : e.getMessage())));
        j.exception(Exception.class, (e, ctx) -> {
            LOG.warn("{} {} failed", ctx.method(), ctx.path(), e);
            ctx.status(500).json(Map.of("error", "internal error (" + e.getClass().getSimpleName()
                    + "); the server's log has the details"));
        });
    }

    /**
     * Authentication (bearer token) and the route-level part of authorisation: /health/* and the dashboard's
     * static files are open; /v1/* and /metrics need a token when tokens are configured; instance-wide routes
     * (/metrics, /v1/model, /v1/dashboard) need scope *. A key's prefix is checked in {@link #routed}.
     * Also refuses a body over the cap before it is read.
     */
    private void authorise(Context ctx) {
        if (ctx.contentLength() > settings.bodyMaxBytes()) {
            throw new ApiError(413, "the request body has " + ctx.contentLength() + " bytes, over the cap of "
                    + settings.bodyMaxBytes() + " (hope.http.body.max.bytes)");
        }
        String path = ctx.path();
        boolean protectedPath = path.startsWith("/v1/") || path.equals(Routes.METRICS);
        if (settings.tokens() == null || !protectedPath) {
            return;
        }
        String h = ctx.header("Authorization");
        if (h == null || h.isBlank()) {
            throw new ApiError(401, "authentication required: send the header 'Authorization: Bearer <token>'");
        }
        if (!h.regionMatches(true, 0, "Bearer ", 0, 7) || h.length() == 7) {
            throw new ApiError(401, "the Authorization header is not a bearer token ('Authorization: Bearer <token>')");
        }
        ApiTokens.Grant g = settings.tokens().authenticate(h.substring(7).strip())
                .orElseThrow(() -> new ApiError(401, "the bearer token is not valid"));
        boolean keyRoute = path.startsWith("/v1/keys/") || path.equals(Routes.SCORE) || path.equals(Routes.COMPLETE);
        if (!keyRoute && !g.allKeys()) {
            throw new ApiError(403, "this token is limited to key prefixes; " + path + " needs a token of scope *");
        }
        ctx.attribute(GRANT, g);
    }

    /** Starts the API on host:port and the management server, if any, on host and the management port. */
    public HttpServer start(String host, int port) {
        bindHost = host;
        bindPort = port;
        app.start(host, port);
        if (management != null) {
            try {
                management.start(host, settings.managementPort());
            } catch (RuntimeException e) {
                app.stop();
                throw e;
            }
        }
        return this;
    }

    public int port() {
        return app.port();
    }

    /** The port of /health/* and /metrics: the management server's, or the API's when there is none. */
    public int managementPort() {
        return management == null ? app.port() : management.port();
    }

    /** Queries refused by the bounds (queue full, time limit) since start. */
    public int queriesRefused() {
        return limiter.refused();
    }

    /**
     * What besides the stream application's state makes this instance not ready (e.g. a schema registry
     * that does not answer): a reason, or empty when ready. Called on every readiness probe.
     */
    public void readiness(Supplier<Optional<String>> problem) {
        this.readiness = problem;
    }

    /** This instance's {@code application.server}, once known (it may name the port this server got). */
    public void self(HostInfo self) {
        this.self = self;
    }

    private void live(Context ctx) {
        KafkaStreams s = streams.get();
        boolean ok = s == null || s.state() != KafkaStreams.State.ERROR;
        ctx.status(ok ? 200 : 503).json(Map.of("status", ok ? "live" : "stream failed", "state", state()));
    }

    /** Ready: the stream application is RUNNING and nothing it depends on says otherwise ({@link #readiness}). */
    private void ready(Context ctx) {
        KafkaStreams s = streams.get();
        boolean running = s != null && s.state() == KafkaStreams.State.RUNNING;
        Optional<String> problem = running ? readiness.get() : Optional.empty();
        boolean ok = running && problem.isEmpty();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("status", ok ? "ready" : "not ready");
        out.put("state", state());
        problem.ifPresent(p -> out.put("reason", p));
        ctx.status(ok ? 200 : 503).json(out);
    }

    private String state() {
        KafkaStreams s = streams.get();
        return s == null ? "NOT_CREATED" : s.state().toString();
    }

    private void model(Context ctx) {
        List<Map<String, Object>> tasks = new ArrayList<>();
        for (LearnerHub.TaskModel m : hub.models()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("partition", m.partition());
            t.put("preset", m.config().preset());
            t.put("contextLevel", m.learnerConfig().contextMode());
            t.put("modelVersion", m.version());
            if (m.globalVersion() >= 0) {
                t.put("globalVersion", m.globalVersion());
            }
            t.put("levelSteps", Map.of("high", m.steps()[0], "mid", m.steps()[1], "low", m.steps()[2]));
            t.put("checkpoints", m.consolidations());
            t.put("lastCheckpointWallTime", m.lastCheckpointWallMs() == 0 ? null : m.lastCheckpointWallMs());
            t.put("streamTime", m.streamTimeMs() == Long.MIN_VALUE ? null : m.streamTimeMs());
            t.put("committedAt", m.publishedAtMs());
            tasks.add(t);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("instance", self == null ? "local" : self.host() + ":" + self.port());
        out.put("state", state());
        if (hub.models().stream().anyMatch(m -> m.globalVersion() >= 0)) {
            out.put("newestGlobalVersion", hub.globalVersion());
        }
        out.put("tasks", tasks);
        ctx.json(out);
    }

    /**
     * A key's query: the token must allow the key; answered here (within the query bounds) if this instance
     * owns the key, else forwarded once to the owner, if the owner's host is allowed, with this instance's own
     * token (never the client's).
     */
    private void routed(Context ctx, String key, java.util.function.IntFunction<Map<String, Object>> local)
            throws Exception {
        ApiTokens.Grant grant = ctx.attribute(GRANT);
        if (settings.tokens() != null && (grant == null || !grant.allows(key))) {
            throw new ApiError(403, "this token may not query key '" + key + "': it is limited to keys starting with "
                    + (grant == null ? "nothing" : grant.prefixes()));
        }
        KafkaStreams s = streams.get();
        if (s == null || s.state() != KafkaStreams.State.RUNNING) {
            throw new IllegalStateException("not ready: the stream application is " + state());
        }
        KeyQueryMetadata md = s.queryMetadataForKey(HopeProcessor.FAST_MEMORY, key, Serdes.String().serializer());
        if (md == null || md == KeyQueryMetadata.NOT_AVAILABLE) {
            throw new IllegalStateException("no instance owns key '" + key + "' right now (rebalancing); retry");
        }
        HostInfo owner = md.activeHost();
        if (self == null || owner.equals(self) || owner.equals(HostInfo.unavailable())) {
            Map<String, Object> answer = limiter.run(() -> local.apply(md.partition()));
            ctx.header(SERVED_BY, self == null ? "local" : self.host() + ":" + self.port()).json(answer);
            return;
        }
        if (ctx.header(FORWARDED) != null) {
            throw new IllegalStateException("forwarded here but key '" + key + "' belongs to " + owner
                    + " (ownership moved); retry");
        }
        if (!settings.forward().allows(owner.host())) {
            LOG.warn("refused to forward a query for a key of partition {} to {}:{}: the host is not in "
                    + "hope.http.forward.allow {}", md.partition(), owner.host(), owner.port(),
                    settings.forward().patterns());
            throw new ApiError(502, "the key's owner advertises " + owner.host() + ":" + owner.port()
                    + ", which is not in hope.http.forward.allow; the query was not forwarded");
        }
        String url = (settings.tls() == null ? "http://" : "https://") + owner.host() + ":" + owner.port() + ctx.path();
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofMillis(settings.queryTimeoutMs() + 2_000))
                .header(FORWARDED, self.host() + ":" + self.port()).header("Content-Type", "application/json");
        if (!settings.forwardToken().isEmpty()) {
            req.header("Authorization", "Bearer " + settings.forwardToken());
        }
        req = ctx.method().name().equals("POST")
                ? req.POST(HttpRequest.BodyPublishers.ofString(ctx.body())) : req.GET();
        HttpResponse<String> resp;
        try {
            resp = client.send(req.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new ApiError(502, "the key's owner " + owner.host() + ":" + owner.port() + " did not answer: "
                    + e.getClass().getSimpleName()).retryAfter(1);
        }
        if (resp.statusCode() == 401 || resp.statusCode() == 403) {
            throw new ApiError(502, "the key's owner " + owner.host() + ":" + owner.port() + " refused this "
                    + "instance's credential (" + resp.statusCode() + "); hope.http.forward.token must be a token of "
                    + "scope * on every instance");
        }
        ctx.status(resp.statusCode()).contentType("application/json").result(resp.body());
        resp.headers().firstValue(SERVED_BY).ifPresent(v -> ctx.header(SERVED_BY, v));
        resp.headers().firstValue("Retry-After").ifPresent(v -> ctx.header("Retry-After", v));
    }

    private Map<String, Object> score(int partition, JsonNode body) {
        String key = text(body, "key", 1024);
        byte[] text = text(body, "text", MAX_TEXT_BYTES).getBytes(StandardCharsets.UTF_8);
        if (text.length == 0) {
            throw new BadRequest(400, "'text' is empty: nothing to score");
        }
        QueryEngine.Answer<Double> a = queries.score(partition, key, text);
        Map<String, Object> out = answer(key, a);
        out.put("bitsPerByte", a.value());
        out.put("bytes", text.length);
        return out;
    }

    private Map<String, Object> complete(int partition, JsonNode body) {
        String key = text(body, "key", 1024);
        byte[] prompt = text(body, "prompt", MAX_TEXT_BYTES).getBytes(StandardCharsets.UTF_8);
        int maxBytes = integer(body, "maxBytes", Math.min(64, settings.completeMaxBytes()), 0,
                settings.completeMaxBytes());
        double temperature = number(body, "temperature", 0, 0, 10);
        long seed = body.hasNonNull("seed") ? body.get("seed").asLong() : 0;
        QueryEngine.Answer<byte[]> a = queries.complete(partition, key, prompt, maxBytes, temperature, seed);
        Map<String, Object> out = answer(key, a);
        out.put("continuation", new String(a.value(), StandardCharsets.UTF_8));
        out.put("bytes", a.value().length);
        return out;
    }

    private Map<String, Object> keyStats(String key, int partition) {
        LearnerHub.TaskModel m = queries.model(partition);
        FastState s = queries.fastState(partition, key);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("key", key);
        out.put("known", s != null);
        out.put("partition", partition);
        out.put("modelVersion", m.version());
        if (s == null) {
            out.put("note", "no memory yet for this key: queries are answered from the initial memory");
            return out;
        }
        out.put("lastByte", s.lastInput());
        List<Map<String, Object>> blocks = new ArrayList<>();
        long bytes = 0;
        for (int b = 0; b < m.config().blocks(); b++) {
            Map<String, Object> blk = new LinkedHashMap<>();
            for (Map.Entry<String, HostTensor> e : s.tensors().entrySet()) {
                String prefix = "blocks." + b + ".";
                if (e.getKey().startsWith(prefix)) {
                    blk.put(e.getKey().substring(prefix.length()) + "Norm", norm(e.getValue()));
                    bytes += e.getValue().bytes().length;
                }
            }
            blocks.add(blk);
        }
        out.put("blocks", blocks);
        out.put("stateBytes", bytes);
        return out;
    }

    private static double norm(HostTensor t) {
        double sq = 0;
        for (double v : t.toDoubles()) {
            sq += v * v;
        }
        return Math.sqrt(sq);
    }

    private static Map<String, Object> answer(String key, QueryEngine.Answer<?> a) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("key", key);
        out.put("known", a.known());
        if (!a.known()) {
            out.put("note", "no memory yet for this key: answered from the initial memory");
        }
        out.put("modelVersion", a.modelVersion());
        if (a.globalVersion() >= 0) {
            out.put("globalVersion", a.globalVersion());
        }
        out.put("partition", a.partition());
        return out;
    }

    private static JsonNode body(Context ctx) {
        JsonNode n;
        try {
            n = JSON.readTree(ctx.body());
        } catch (JsonProcessingException e) {
            throw new BadRequest(400, "the body is not JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw new BadRequest(400, "the body must be a JSON object");
        }
        return n;
    }

    private static String text(JsonNode body, String field, int maxBytes) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            throw new BadRequest(400, "missing field '" + field + "'");
        }
        if (!v.isTextual()) {
            throw new BadRequest(400, "field '" + field + "' must be a string");
        }
        int n = v.asText().getBytes(StandardCharsets.UTF_8).length;
        if (n > maxBytes) {
            throw new BadRequest(413, "field '" + field + "' has " + n + " bytes, over the cap of " + maxBytes);
        }
        return v.asText();
    }

    private static int integer(JsonNode body, String field, int dflt, int min, int max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.canConvertToExactIntegral() || v.asLong() < min || v.asLong() > max) {
            throw new BadRequest(400, "field '" + field + "' must be an integer in [" + min + ", " + max + "], got " + v);
        }
        return v.asInt();
    }

    private static double number(JsonNode body, String field, double dflt, double min, double max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max) {
            throw new BadRequest(400, "field '" + field + "' must be a number in [" + min + ", " + max + "], got " + v);
        }
        return v.asDouble();
    }

    @Override
    public void close() {
        app.stop();
        if (management != null) {
            management.stop();
        }
        limiter.close();
    }
}

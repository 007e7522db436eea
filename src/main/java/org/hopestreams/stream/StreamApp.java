package org.hopestreams.stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

/**
 * The streaming learner as a running application: the {@link HopeTopology} in a {@link KafkaStreams}
 * client. {@link #close()} leaves the consumer group, commits and closes the stores, so a restart
 * with the same application id does not wait out the session timeout. Input that needs a schema
 * registry that does not answer waits in its topic ({@link RegistryGate}, {@link GatedConsumer}); a
 * task revived after a broker timeout reads its input again from the committed offset
 * ({@link RevivalSafeClients}).
 */
public final class StreamApp implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StreamApp.class);

    private final HopeStreamsConfig config;
    private volatile KafkaStreams streams;
    private final LearnerHub hub = new LearnerHub();
    private final StoreRestores restores = new StoreRestores();
    private final io.micrometer.prometheusmetrics.PrometheusMeterRegistry metrics =
            new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                    io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
    private final org.hopestreams.serve.Telemetry telemetry = new org.hopestreams.serve.Telemetry(metrics);
    private final org.hopestreams.serve.QueryEngine queries;
    private final org.hopestreams.serve.HttpServer http;
    private volatile Throwable failure;
    private final RegistryGate gate;
    private final DeadLetterLog deadLetters;

    private StreamApp(HopeStreamsConfig config, org.apache.kafka.streams.KafkaClientSupplier clients) {
        this.config = config;
        hub.addListener(telemetry);
        deadLetters = new DeadLetterLog(config.dlqTopic(), config.getLong(HopeStreamsConfig.LOG_DLQ_INTERVAL_MS));
        hub.addListener(deadLetters);
        ai.djl.Device device = org.hopestreams.model.DeviceChoice.parse(config.getString(HopeStreamsConfig.DEVICE))
                .resolve();
        queries = new org.hopestreams.serve.QueryEngine(hub, () -> streams.store(
                org.apache.kafka.streams.StoreQueryParameters.fromNameAndType(HopeProcessor.FAST_MEMORY,
                        org.apache.kafka.streams.state.QueryableStoreTypes.<org.apache.kafka.common.utils.Bytes,
                                byte[]>keyValueStore())), device);
        // The HTTP server starts first: its port (perhaps 0 = any) is this instance's application.server
        // unless one is configured, so that Kafka Streams can say which instance owns a key.
        org.hopestreams.serve.HttpSettings httpSettings = org.hopestreams.serve.HttpSettings.from(config);
        http = new org.hopestreams.serve.HttpServer(() -> streams, queries, hub, telemetry, metrics, null, httpSettings)
                .start(config.getString(HopeStreamsConfig.HTTP_HOST), config.getInt(HopeStreamsConfig.HTTP_PORT));
        Properties props = config.streamsProperties();
        props.put(RecordFailureHandler.HUB, hub);
        Object server = props.get(StreamsConfig.APPLICATION_SERVER_CONFIG);
        if (server == null || server.toString().isBlank()) {
            server = "localhost:" + http.port();
            props.put(StreamsConfig.APPLICATION_SERVER_CONFIG, server);
        }
        http.self(org.apache.kafka.streams.state.HostInfo.buildFromEndpoint(server.toString()));
        org.apache.kafka.common.serialization.Serde<Object> avro;
        try {
            avro = HopeTopology.avroSerde(config);
        } catch (RuntimeException e) {
            http.close();
            deadLetters.close();
            throw e;
        }
        gate = new RegistryGate(config, avro, HopeTopology.decoder(config, avro));
        try {
            int learners = config.consolidationEnabled() ? ConsolidationTopics.prepare(config) : 0;
            // The main consumer is the revival rewind around the registry gate (RevivalSafeClients): the rewind
            // sees only what the gate handed out, and its seek back to the committed offset ends the gate's hold.
            this.streams = new KafkaStreams(HopeTopology.build(config, avro, hub, gate::decode, learners), props,
                    RevivalSafeClients.supplier(GatedConsumer.supplier(clients, gate, config.inputTopic()),
                            config.getBoolean(HopeStreamsConfig.CORRUPTION_REBALANCE)));
        } catch (RuntimeException e) {
            http.close();
            gate.close();
            deadLetters.close();
            throw e;
        }
        streams.setGlobalStateRestoreListener(restores);
        http.readiness(() -> gate.problem().map(p -> "schema registry " + gate.url() + " " + p));
        gate.bindTo(metrics);
        new io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics(streams).bindTo(metrics);
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(metrics);
        streams.setUncaughtExceptionHandler(e -> {
            // Checked first: a RegistryUnavailableException is a RetriableException too, and this names the registry.
            if (RegistryGate.holdsInput(e)) {
                // Only where a registry call slipped past the gate (it went down between the gate's answer and
                // the record): the new thread starts from the committed offset, and the gate holds the record.
                LOG.warn("stream thread stopped: the schema registry {} did not answer or refused access ({}); replacing the thread",
                        gate.url(), e.toString());
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            }
            if (transientBrokerFailure(e)) {
                // Under exactly-once the dying thread aborts its transaction; its replacement restores the stores
                // and reads on from the committed offsets: nothing is lost or learned twice.
                LOG.warn("stream thread failed on a broker timeout; replacing it: {}", e.toString());
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            }
            if (abortedTransaction(e)) {
                // Frozen past transaction.timeout.ms (SIGSTOP, a long GC pause, a cut-off network): the coordinator
                // aborted the open transaction and moved on, and the woken producer's commit is refused. Kafka
                // Streams reports most such cases as a migrated task and rejoins; this one reached us. The new thread
                // has a new producer and reads on from the committed offsets: nothing is lost or learned twice.
                LOG.warn("stream thread's transaction was aborted by the broker while this instance was not answering "
                        + "({}); replacing the thread, which resumes from the committed offsets", e.toString());
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            }
            org.apache.kafka.common.errors.AuthenticationException auth = authenticationFailure(e);
            if (auth != null) {
                LOG.error(authenticationFailed(auth));
                failure = new IllegalStateException(authenticationFailed(auth), auth);
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            }
            LOG.error("stream thread failed; shutting the application down", e);
            failure = e;
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        LOG.info("HTTP on port {}: query API, /metrics, /health, dashboard at /; application.server {}; {}; health "
                + "and metrics on port {}", http.port(), server, httpSettings, http.managementPort());
    }

    /**
     * A stream thread that failed because the broker did not answer in time, not because of a record or a
     * bug: a {@link org.apache.kafka.common.errors.RetriableException} (a timeout) or a transaction the producer
     * can only abort ({@link org.apache.kafka.common.errors.TransactionAbortableException}) in the causes.
     * Kafka Streams 4.3.1 recovers a timed-out send only by a new thread: the send leaves the thread's producer
     * with a transaction it can only abort, and {@code TaskManager.handleCorruption} then tries to commit the
     * other tasks in it, which fails with a {@code StreamsException}.
     */
    static boolean transientBrokerFailure(Throwable e) {
        return causedBy(e, org.apache.kafka.common.errors.RetriableException.class,
                org.apache.kafka.common.errors.TransactionAbortableException.class);
    }

    /**
     * Whether {@code e} is a transaction that the broker aborted under this instance (its coordinator timed it out
     * or a newer producer of the same id took over), found anywhere in its causes.
     */
    static boolean abortedTransaction(Throwable e) {
        return causedBy(e, org.apache.kafka.common.errors.InvalidTxnStateException.class,
                org.apache.kafka.common.errors.ProducerFencedException.class,
                org.apache.kafka.common.errors.InvalidProducerEpochException.class);
    }

    /** Whether {@code e} or any of its causes is an instance of one of {@code types}. */
    private static boolean causedBy(Throwable e, Class<?>... types) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            for (Class<?> type : types) {
                if (type.isInstance(t)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Builds and starts the application. */
    public static StreamApp start(HopeStreamsConfig config) {
        return start(config, new org.apache.kafka.streams.processor.internals.DefaultKafkaClientSupplier());
    }

    /** Builds and starts the application on the given Kafka clients (tests inject faults this way). */
    public static StreamApp start(HopeStreamsConfig config, org.apache.kafka.streams.KafkaClientSupplier clients) {
        StreamApp app = new StreamApp(config, clients);
        app.streams.start();
        return app;
    }

    /** The port of the HTTP server (query API, metrics, health, dashboard). */
    public int httpPort() {
        return http.port();
    }

    /** The port of /health/* and /metrics: the management server's, or {@link #httpPort()} without one. */
    public int managementPort() {
        return http.managementPort();
    }

    public LearnerHub hub() {
        return hub;
    }

    /** The query engine of this instance's partitions. */
    public org.hopestreams.serve.QueryEngine queries() {
        return queries;
    }

    /** What the stores of this instance restored from their changelogs. */
    public StoreRestores restores() {
        return restores;
    }

    public KafkaStreams streams() {
        return streams;
    }

    public HopeStreamsConfig config() {
        return config;
    }

    /** The error that stopped a stream thread, if any. */
    public Throwable failure() {
        return failure;
    }

    /** Waits until the application is RUNNING; false on timeout or if it failed. */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            KafkaStreams.State s = streams.state();
            if (s == KafkaStreams.State.RUNNING) {
                return true;
            }
            if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING) {
                return false;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /**
     * Creates the input and output topics that do not exist yet ({@code partitions} each,
     * replication {@code replicas}); existing topics are left as they are.
     */
    public static void createTopics(HopeStreamsConfig config, int partitions, short replicas)
            throws InterruptedException, ExecutionException {
        Properties p = new Properties();
        p.putAll(config.clientProperties());
        p.putIfAbsent("default.api.timeout.ms", "60000");
        try (Admin admin = Admin.create(p)) {
            List<NewTopic> topics = new ArrayList<>();
            for (String t : List.of(config.inputTopic(), config.learningTopic(), config.checkpointsTopic(),
                    config.dlqTopic())) {
                topics.add(new NewTopic(t, partitions, replicas));
            }
            for (var e : admin.createTopics(topics).values().entrySet()) {
                try {
                    e.getValue().get();
                } catch (ExecutionException ex) {
                    if (ex.getCause() instanceof org.apache.kafka.common.errors.AuthenticationException a) {
                        throw new IllegalStateException(authenticationFailed(a), a);
                    }
                    if (!(ex.getCause() instanceof TopicExistsException)) {
                        throw ex;
                    }
                }
            }
        }
    }

    /** Whether a failure is Kafka refusing this application's credentials (no retry helps). */
    static org.apache.kafka.common.errors.AuthenticationException authenticationFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.apache.kafka.common.errors.AuthenticationException a) {
                return a;
            }
        }
        return null;
    }

    /**
     * The sentence for an {@link org.apache.kafka.common.errors.AuthenticationException}: the problem and the
     * settings to check. A TLS handshake that failed because this side does not trust the broker's certificate (no
     * or the wrong CA, a host name the certificate does not cover) says so, with the verifier's own words; another
     * failed handshake (the broker refused this client's certificate, no common protocol) names the TLS settings;
     * anything else is Kafka refusing the credentials.
     */
    static String authenticationFailed(org.apache.kafka.common.errors.AuthenticationException e) {
        if (e instanceof org.apache.kafka.common.errors.SslAuthenticationException) {
            Throwable untrusted = null;
            Throwable root = e;
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof java.security.cert.CertificateException
                        || t instanceof java.security.cert.CertPathBuilderException
                        || t instanceof java.security.cert.CertPathValidatorException) {
                    untrusted = untrusted == null ? t : untrusted;
                }
                root = t;
            }
            if (untrusted != null) {
                return "This application does not trust Kafka's TLS certificate (" + untrusted.getMessage() + "): "
                        + "give Kafka's CA in ssl.truststore.location (ssl.truststore.type PEM for a CA file such as "
                        + "Strimzi's ca.crt; PKCS12 or JKS with ssl.truststore.password) and check that the broker's "
                        + "certificate names the host of bootstrap.servers; not retrying";
            }
            return "The TLS handshake with Kafka failed (" + e.getMessage() + (root == e ? "" : ": " + root.getMessage())
                    + "): check security.protocol, ssl.truststore.* (Kafka's CA) and, for mutual TLS, ssl.keystore.* "
                    + "(a certificate the broker trusts); not retrying";
        }
        return "Kafka refused this application's credentials (" + e.getMessage() + "): check security.protocol, "
                + "sasl.mechanism and sasl.jaas.config (or the ssl.keystore.* of mutual TLS); not retrying";
    }

    @Override
    public void close() {
        if (http != null) {
            http.close();
        }
        streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                .withTimeout(Duration.ofSeconds(60)));
        if (queries != null) {
            queries.close();
        }
        gate.close();
        deadLetters.close();
        metrics.close();
    }

    /** Configuration from a properties map with the given overrides on top. */
    public static HopeStreamsConfig config(Map<String, ?> base, Map<String, String> overrides) {
        Map<String, Object> m = new java.util.HashMap<>(base);
        m.putAll(overrides);
        return new HopeStreamsConfig(m);
    }
}

package org.hopestreams.stream;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.apache.kafka.common.serialization.Serde;
import org.hopestreams.avro.CheckpointEvent;
import org.hopestreams.avro.LearningEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Keeps the stream threads from meeting a schema registry that cannot answer (issue 9): an input
 * record that would need it waits in its topic, uncommitted, until the registry answers; it is
 * never dead-lettered for it.
 *
 * <p>{@link #admits} says whether a record may enter the topology now ({@link GatedConsumer} holds
 * back the first one that may not, and every later one of its partition). No registry is needed for
 * a value that is not in the wire format (ingest dead-letters it as corrupt) nor for a schema id the
 * registry has answered for: the serde caches the schema, and never refreshes it (ids never change;
 * {@link HopeStreamsConfig#serdeConfig()}). Any other id is looked up here, on the gate's own threads,
 * never on a stream thread, until the registry answers: with the schema, or with 404 (ingest then
 * dead-letters the record as unknown-schema). Before the first record, the output schemas
 * (LearningEvent, CheckpointEvent) are registered through the sinks' serializer, so that writing
 * outputs never needs the registry either; for text and JSON input that is all the gate waits for.
 *
 * <p>A registry that refuses this application access (401/403, {@link #refused}) holds input the same way: that says
 * nothing about the bytes either. On the Confluent API the gate first sets the configured compatibility levels
 * ({@link HopeStreamsConfig#REGISTRY_COMPATIBILITY_INPUT}, {@link HopeStreamsConfig#REGISTRY_COMPATIBILITY_OUTPUT}).
 * Output schemas the registry refuses hold all input, with the registry's reason, rather than fail the first write.
 *
 * <p>Every registry call has a deadline ({@link HopeStreamsConfig#REGISTRY_CALL_TIMEOUT_MS}): the
 * Apicurio client waits forever on a registry that accepts connections and never answers. A round
 * that gets no answer is tried again after a backoff that doubles from 250 ms up to
 * {@link HopeStreamsConfig#REGISTRY_RETRY_BACKOFF_MAX_MS}. While the registry does not answer,
 * {@link #problem} says so (readiness), {@code hope.registry.available} is 0, and one WARN line names
 * the URL and the error (again every minute while it lasts); an INFO line says when it answers again.
 *
 * <p>Thread-safe: stream threads call {@link #admits} and {@link #decode}, one daemon thread of its
 * own does the look-ups.
 */
public final class RegistryGate implements AutoCloseable, MeterBinder {
    private static final Logger LOG = LoggerFactory.getLogger(RegistryGate.class);
    private static final long FIRST_BACKOFF_MS = 250;
    private static final long REMIND_MS = 60_000;
    /** Registry calls that may be under way at once; more that have not returned count as no answer. */
    private static final int MAX_CALLS = 8;
    /** Schema ids remembered as answered; one more is looked up again (a stream of corrupt ids stays bounded). */
    private static final int MAX_ANSWERED = 10_000;

    private final String url;
    private final String inputTopic;
    private final boolean avroInput;
    private final Function<byte[], Object> decoder;
    private final Runnable registerOutputs;
    /** Compatibility level to set per subject before the outputs are registered (Confluent API); may be empty. */
    private final Map<String, String> levels;
    private final org.hopestreams.registry.ConfluentRegistryClient client;
    private final long timeoutMs;
    private final long maxBackoffMs;
    private final Map<Integer, Boolean> answered = Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, Boolean> eldest) {
            return size() > MAX_ANSWERED;
        }
    });
    private final Map<Integer, byte[]> waiting = new ConcurrentHashMap<>();
    private final ThreadPoolExecutor calls;
    private final Thread lookups;
    private final AtomicLong unanswered = new AtomicLong();
    private volatile boolean outputsRegistered;
    private boolean levelsSet;
    private volatile boolean closed;
    private volatile String error;
    private volatile long downSinceMs;
    private long lastWarnMs;

    /**
     * @param avro    the topology's serde: its deserializer decodes input, its serializer writes outputs
     * @param decoder decodes an input value with {@code avro} (the topology's decode, which names registry answers)
     */
    public RegistryGate(HopeStreamsConfig config, Serde<Object> avro, Function<byte[], Object> decoder) {
        Map<String, Object> serde = config.serdeConfig();
        this.url = String.valueOf(serde.getOrDefault("apicurio.registry.url",
                serde.getOrDefault("schema.registry.url", "(no registry URL configured)")));
        this.inputTopic = config.inputTopic();
        this.avroInput = config.inputFormat() == InputFormat.AVRO;
        this.decoder = decoder;
        this.timeoutMs = config.getLong(HopeStreamsConfig.REGISTRY_CALL_TIMEOUT_MS);
        this.maxBackoffMs = config.getLong(HopeStreamsConfig.REGISTRY_RETRY_BACKOFF_MAX_MS);
        LearningEvent learning = LearningEvent.newBuilder().setKey("").setSourceTopic(inputTopic).setSourcePartition(0)
                .setSourceOffset(0).setBytes(0).setBitsPerByte(0).setSurprise(List.of()).setHighSteps(0).setMidSteps(0)
                .setLowSteps(0).setModelVersion(0).setEventTime(Instant.EPOCH).build();
        CheckpointEvent checkpoint = CheckpointEvent.newBuilder().setModelVersion(0).setRecords(0).setHighSteps(0)
                .setMidSteps(0).setLowSteps(0).setWallTime(Instant.EPOCH).setStreamTime(Instant.EPOCH).setStateBytes(0)
                .build();
        this.registerOutputs = () -> {
            avro.serializer().serialize(config.learningTopic(), learning);
            avro.serializer().serialize(config.checkpointsTopic(), checkpoint);
        };
        this.client = avro instanceof org.hopestreams.registry.ConfluentAvroSerde c ? c.client() : null;
        Map<String, String> levels = new LinkedHashMap<>();
        String in = config.getString(HopeStreamsConfig.REGISTRY_COMPATIBILITY_INPUT);
        String out = config.getString(HopeStreamsConfig.REGISTRY_COMPATIBILITY_OUTPUT);
        if (client != null && avroInput && !in.isEmpty()) {
            levels.put(inputTopic + "-value", in);
        }
        if (client != null && !out.isEmpty()) {
            levels.put(config.learningTopic() + "-value", out);
            levels.put(config.checkpointsTopic() + "-value", out);
        }
        this.levels = Map.copyOf(levels);
        this.calls = new ThreadPoolExecutor(0, MAX_CALLS, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, "hope-registry-call");
            t.setDaemon(true);
            return t;
        });
        this.lookups = new Thread(this::lookUp, "hope-registry-gate");
        lookups.setDaemon(true);
        lookups.start();
    }

    /** Whether {@code value}, an input record's value, may be processed now without asking the registry. */
    public boolean admits(byte[] value) {
        if (!outputsRegistered) {
            wake();
            return false;
        }
        if (!avroInput || value == null || value.length < 5 || value[0] != 0) {
            return true;
        }
        int id = ByteBuffer.wrap(value, 1, 4).getInt();
        if (answered.containsKey(id)) {
            return true;
        }
        waiting.putIfAbsent(id, value);
        wake();
        return false;
    }

    /**
     * Decodes an input value (ingest, on a stream thread) within the call deadline.
     *
     * @throws RegistryUnavailableException when the registry did not answer; the id is then looked up
     *                                      again before a record of it is admitted
     */
    public Object decode(byte[] value) {
        try {
            return call("schema id " + (value.length < 5 ? "?" : ByteBuffer.wrap(value, 1, 4).getInt()),
                    () -> decoder.apply(value));
        } catch (RegistryUnavailableException e) {
            if (value.length >= 5) {
                answered.remove(ByteBuffer.wrap(value, 1, 4).getInt());
            }
            unavailable(e);
            throw e;
        }
    }

    /** Why the application is not ready because of the registry; empty while it answers. */
    public Optional<String> problem() {
        String e = error;
        return e == null ? Optional.empty() : Optional.of("unavailable since " + Instant.ofEpochMilli(downSinceMs)
                + ": " + e);
    }

    public String url() {
        return url;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("hope.registry.available", this, g -> g.error == null ? 1 : 0)
                .description("1 while the schema registry answers, 0 while input waits for it").register(registry);
        FunctionCounter.builder("hope.registry.unanswered", unanswered, AtomicLong::get)
                .description("Registry calls that got no answer (refused, timed out, 5xx, 408, 429)").register(registry);
    }

    /**
     * Whether input must wait for the registry rather than be decoded or dead-lettered: it could not answer
     * ({@link #unanswered}) or it refused this application access ({@link #refused}). Neither says anything about
     * the bytes.
     */
    public static boolean holdsInput(Throwable e) {
        return unanswered(e) || refused(e);
    }

    /**
     * Whether {@code e} says the registry refused this application access: 401 or 403, from either API's client.
     * Nothing to do with the record: input waits (not ready) until the credentials or the registry's permissions are
     * fixed.
     */
    public static boolean refused(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.hopestreams.registry.RegistryException r) {
                return r.kind() == org.hopestreams.registry.RegistryException.Kind.ACCESS_DENIED;
            }
            if (t instanceof com.microsoft.kiota.ApiException a) {
                return a.getResponseStatusCode() == 401 || a.getResponseStatusCode() == 403;
            }
            if (t instanceof io.apicurio.registry.rest.client.models.ProblemDetails p) {
                return p.getStatus() != null && (p.getStatus() == 401 || p.getStatus() == 403);
            }
        }
        return false;
    }

    /**
     * Whether {@code e} says the registry could not answer, rather than that it answered (404, other 4xx)
     * or that the bytes do not decode: a transport failure, no answer in time, or a 5xx, 408 or 429 status. Not
     * Kafka refusing this application (an {@link org.apache.kafka.common.errors.AuthenticationException}, whose
     * failed TLS handshake has an {@link javax.net.ssl.SSLException} inside): that stops the application.
     */
    public static boolean unanswered(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String name = t.getClass().getName();
            if (t instanceof org.apache.kafka.common.errors.AuthenticationException) {
                return false;
            }
            if (t instanceof org.hopestreams.registry.RegistryException r) {
                return r.kind() == org.hopestreams.registry.RegistryException.Kind.UNAVAILABLE;
            }
            if (t instanceof RegistryUnavailableException || t instanceof java.net.SocketException
                    || t instanceof java.net.SocketTimeoutException || t instanceof java.net.UnknownHostException
                    || t instanceof java.net.http.HttpTimeoutException || t instanceof TimeoutException
                    || t instanceof javax.net.ssl.SSLException || t instanceof java.nio.channels.ClosedChannelException
                    || name.startsWith("io.netty.") || name.startsWith("io.vertx.")) {
                return true;
            }
            if (t instanceof com.microsoft.kiota.ApiException a) {
                int status = a.getResponseStatusCode();
                return status >= 500 || status == 408 || status == 429;
            }
        }
        return false;
    }

    @Override
    public void close() {
        closed = true;
        lookups.interrupt();
        calls.shutdownNow();
    }

    private void lookUp() {
        long backoff = FIRST_BACKOFF_MS;
        while (!closed) {
            try {
                synchronized (this) {
                    while (!closed && outputsRegistered && waiting.isEmpty()) {
                        wait();
                    }
                }
                if (closed) {
                    return;
                }
                if (round()) {
                    backoff = FIRST_BACKOFF_MS;
                } else {
                    Thread.sleep(backoff);
                    backoff = Math.min(2 * backoff, maxBackoffMs);
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One pass over what waits for the registry; false when it did not answer. */
    private boolean round() {
        try {
            if (!levelsSet) {
                setCompatibility();
            }
            if (!outputsRegistered) {
                registerOutputs();
            }
            for (Map.Entry<Integer, byte[]> w : List.copyOf(waiting.entrySet())) {
                try {
                    call("schema id " + w.getKey(), () -> decoder.apply(w.getValue()));
                } catch (RegistryUnavailableException e) {
                    throw e;
                } catch (RuntimeException answeredNo) {
                    // 404, or bytes the serde cannot read: ingest dead-letters the record with the reason
                }
                answered.put(w.getKey(), Boolean.TRUE);
                waiting.remove(w.getKey());
            }
        } catch (RegistryUnavailableException e) {
            unavailable(e);
            return false;
        }
        available();
        return true;
    }

    /**
     * Sets the configured compatibility levels (Confluent API). A registry that does not answer is asked again in
     * the next round; one that refuses (no permission to change configuration, say) is left as it is, with a WARN.
     */
    private void setCompatibility() {
        Map<String, String> set = new java.util.TreeMap<>();
        for (Map.Entry<String, String> l : levels.entrySet()) {
            try {
                call("setting compatibility " + l.getValue() + " on subject " + l.getKey(), () -> {
                    client.setCompatibility(l.getKey(), l.getValue());
                    return null;
                });
                set.put(l.getKey(), l.getValue());
            } catch (RegistryUnavailableException e) {
                if (!refused(e)) {
                    throw e;
                }
                compatibilityNotSet(l, e);
            } catch (RuntimeException e) {
                compatibilityNotSet(l, e);
            }
        }
        if (!set.isEmpty()) {
            LOG.info("schema registry {}: compatibility {}", url, set);
        }
        levelsSet = true;
    }

    private void compatibilityNotSet(Map.Entry<String, String> l, RuntimeException e) {
        LOG.warn("could not set compatibility {} on subject {} in the schema registry {}; it keeps its own rule (set "
                + "it there, or set {} / {} empty to leave it alone): {}", l.getValue(), l.getKey(), url,
                HopeStreamsConfig.REGISTRY_COMPATIBILITY_INPUT, HopeStreamsConfig.REGISTRY_COMPATIBILITY_OUTPUT,
                rootMessage(e));
    }

    /**
     * Registers (or, without auto-registration, looks up) the output schemas. Any failure holds all input, as an
     * output that cannot be written would stop the stream thread: an answer that refuses them (401/403, 409
     * incompatible, 404 not registered) is reported like an outage, and asked again with the same backoff.
     */
    private void registerOutputs() {
        try {
            call("registering the output schemas", () -> {
                registerOutputs.run();
                return null;
            });
        } catch (RegistryUnavailableException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new RegistryUnavailableException("the schema registry " + url + " refuses the output schemas ("
                    + LearningEvent.SCHEMA$.getFullName() + ", " + CheckpointEvent.SCHEMA$.getFullName() + "); no "
                    + "output can be written until it takes them: " + rootMessage(e), e);
        }
        outputsRegistered = true;
    }

    private <T> T call(String what, Callable<T> call) {
        Future<T> f;
        try {
            f = calls.submit(call);
        } catch (RejectedExecutionException e) {
            throw new RegistryUnavailableException("the schema registry " + url + " has not answered " + MAX_CALLS
                    + " calls", e);
        }
        try {
            return f.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new RegistryUnavailableException("the schema registry " + url + " did not answer (" + what
                    + ") within " + timeoutMs + " ms (" + HopeStreamsConfig.REGISTRY_CALL_TIMEOUT_MS + ")", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (refused(cause)) {
                throw new RegistryUnavailableException("the schema registry " + url + " refused access (" + what
                        + "): " + rootMessage(cause), cause);
            }
            if (unanswered(cause)) {
                throw new RegistryUnavailableException("the schema registry " + url + " could not answer (" + what
                        + "): " + rootMessage(cause), cause);
            }
            throw cause instanceof RuntimeException r ? r : new IllegalStateException(cause);
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new RegistryUnavailableException("interrupted while waiting for the schema registry " + url, e);
        }
    }

    private void unavailable(RegistryUnavailableException e) {
        unanswered.incrementAndGet();
        long now = System.currentTimeMillis();
        synchronized (this) {
            if (error == null) {
                downSinceMs = now;
                lastWarnMs = now;
                LOG.warn("{}; input waits, uncommitted, at the first event that needs the registry (nothing is "
                        + "dead-lettered for this); not ready; retrying with backoff up to {} ms", e.getMessage(),
                        maxBackoffMs);
            } else if (now - lastWarnMs >= REMIND_MS) {
                lastWarnMs = now;
                LOG.warn("the schema registry {} has not answered for {} s; input still waits: {}", url,
                        (now - downSinceMs) / 1000, e.getMessage());
            }
            error = e.getMessage();
        }
    }

    private synchronized void available() {
        if (error != null) {
            LOG.info("the schema registry {} answers again after {} s; input goes on", url,
                    (System.currentTimeMillis() - downSinceMs) / 1000);
            error = null;
        }
    }

    private synchronized void wake() {
        notifyAll();
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.toString();
    }
}

package org.hopestreams.cli;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.embedded.DemoStream;
import org.hopestreams.embedded.EmbeddedKafka;
import org.hopestreams.embedded.EmbeddedRegistry;
import org.hopestreams.log.Logging;
import org.hopestreams.stream.HopeStreamsConfig;
import org.hopestreams.stream.StreamApp;
import org.hopestreams.stream.TextEventProducer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code demo}: everything embedded and real: an in-JVM KRaft broker, the Apicurio registry as a
 * child process, the topics, the streaming learner with its HTTP API and dashboard, and a generated
 * stream of log lines and made-up facts. Prints progress, including how surprising each fact still
 * is; Ctrl-C stops it all, leaving nothing running. The console shows only these lines: the logs of the broker,
 * the registry (its child process's output), the clients and the learner go to a file ({@code --log-file}, by default
 * {@code demo.log} in the demo's temporary folder, which is kept), or to the console too with {@code --verbose}.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run everything embedded (broker, registry, learner, event generator) and watch facts being learned.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "tiny", description = "Model preset (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--rate", defaultValue = "10", description = "Events per second (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--duration", defaultValue = "0", description = "Seconds to run; 0 = until Ctrl-C (default: ${DEFAULT-VALUE}).")
    long duration;

    @Option(names = "--http-port", defaultValue = "8080", description = "Dashboard and API port; 0 = any (default: ${DEFAULT-VALUE}).")
    int httpPort;

    @Option(names = "--report-seconds", defaultValue = "5", description = "Seconds between progress lines (default: ${DEFAULT-VALUE}).")
    long reportSeconds;

    @Option(names = "--pretrain-steps", defaultValue = "200", description = "Pretraining steps of the demo's starting "
            + "checkpoint on generated log lines, made at first start and cached (0 = start from random weights; "
            + "default: ${DEFAULT-VALUE}).")
    int pretrainSteps;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE", description = "Any configuration key (repeatable).")
    Map<String, String> set = new LinkedHashMap<>();

    @Option(names = "--log-file", paramLabel = "FILE", description = "Where the logs of the broker, the registry, "
            + "the clients and the learner go (default: demo.log in the demo's folder, printed at start; kept after "
            + "the demo stops).")
    Path logFile;

    @Option(names = {"-v", "--verbose"}, description = "Also show those logs on the console.")
    boolean verbose;

    private final PrintStream out = Logging.console();

    @Override
    public Integer call() throws Exception {
        if (rate <= 0 || rate > 10_000) {
            throw new IllegalArgumentException("--rate " + rate + " must be in (0, 10000] events per second");
        }
        CountDownLatch stop = new CountDownLatch(1);
        // Ctrl-C / SIGTERM stop the demo in order (generator, learner, registry, broker) before the JVM
        // begins to shut down: the broker's own shutdown hooks would otherwise race with its close.
        Signals.onStop(stop::countDown);
        // The demo's folder: the learner's state (deleted at the end) and the log (kept).
        Path dir = Files.createTempDirectory("hope-demo-");
        Path state = Files.createDirectories(dir.resolve("state"));
        Path log = logFile != null ? logFile : dir.resolve("demo.log");
        // Before the broker or any client logs: libraries' logs (and what they print) to the file, the console keeps
        // this command's lines (and ERRORs of the application's own classes).
        Logging.toFile(log, verbose);
        out.println("hope demo: logs in " + log.toAbsolutePath() + (verbose ? "" : " (--verbose shows them here too)"));
        out.println("hope demo: starting an in-JVM Kafka broker and the Apicurio registry...");
        try (EmbeddedKafka kafka = EmbeddedKafka.start();
             EmbeddedRegistry registry = EmbeddedRegistry.builder().logFile(log).start()) {
            Map<String, Object> m = new HashMap<>();
            m.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            m.put(StreamsConfig.APPLICATION_ID_CONFIG, "hope-demo");
            m.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
            m.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "1");
            m.put(HopeStreamsConfig.REGISTRY_URL, registry.ccompatUrl());
            m.put(HopeStreamsConfig.MODEL_PRESET, preset);
            m.put(HopeStreamsConfig.WARMUP_RECORDS, "50");
            m.put(HopeStreamsConfig.WINDOW_MS, "5000");
            m.put(HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, "30000");
            m.put(HopeStreamsConfig.HTTP_PORT, Integer.toString(httpPort));
            m.put(HopeStreamsConfig.HTTP_HOST, "127.0.0.1");
            // one port for the dashboard, the API, health and metrics; no authentication (127.0.0.1 only)
            m.put(HopeStreamsConfig.HTTP_MANAGEMENT_PORT, "-1");
            if (pretrainSteps > 0 && !set.containsKey(HopeStreamsConfig.MODEL_INIT)) {
                m.put(HopeStreamsConfig.MODEL_INIT, DemoCheckpoint.get(preset, pretrainSteps).toString());
                m.put(HopeStreamsConfig.WARMUP_RECORDS, "0");
            }
            m.putAll(set);
            HopeStreamsConfig config = new HopeStreamsConfig(m);
            StreamApp.createTopics(config, 1, (short) 1);
            try (StreamApp app = StreamApp.start(config)) {
                out.printf("hope demo: learner running; dashboard http://127.0.0.1:%d/  API http://127.0.0.1:%d/v1/model"
                        + "  (Ctrl-C stops everything)%n", app.httpPort(), app.httpPort());
                if (!config.originals().containsKey(HopeStreamsConfig.HTTP_AUTH_TOKENS_FILE)) {
                    out.println("hope demo: API authentication is off (a local demo on 127.0.0.1; "
                            + "docs/deploy.md \"Secure deployment\" for production)");
                }
                run(config, app, stop);
            }
        } finally {
            deleteTree(state);
            if (logFile != null) {
                deleteTree(dir);   // empty: the log is elsewhere
            }
        }
        out.println("hope demo: stopped; broker, registry and learner are shut down (logs in " + log.toAbsolutePath()
                + ")");
        return 0;
    }

    /** Events the broker did not take (each send's callback), and the first reason: the progress line shows them. */
    private final java.util.concurrent.atomic.AtomicLong undelivered = new java.util.concurrent.atomic.AtomicLong();
    private volatile Exception firstUndelivered;

    private void run(HopeStreamsConfig config, StreamApp app, CountDownLatch stop)
            throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        DemoStream events = new DemoStream(7);
        long start = System.currentTimeMillis();
        long nextReport = start + reportSeconds * 1000;
        long sent = 0;
        try (KafkaProducer<String, TextEvent> producer = TextEventProducer.create(config,
                Map.of(ProducerConfig.LINGER_MS_CONFIG, 5))) {
            while (stop.getCount() > 0) {
                long now = System.currentTimeMillis();
                if (duration > 0 && now - start >= duration * 1000) {
                    break;
                }
                if (app.failure() != null) {
                    throw new IllegalStateException("the learner failed: " + app.failure(), app.failure());
                }
                long due = (long) ((now - start) / 1000.0 * rate);
                for (; sent < due; sent++) {
                    TextEvent e = events.next(System.currentTimeMillis());
                    producer.send(new ProducerRecord<>(config.inputTopic(), e.getKey(), e), (meta, error) -> {
                        if (error != null && undelivered.getAndIncrement() == 0) {
                            firstUndelivered = error;
                        }
                    });
                }
                if (now >= nextReport) {
                    report(http, app.httpPort(), sent);
                    nextReport += reportSeconds * 1000;
                }
                stop.await(20, TimeUnit.MILLISECONDS);
            }
        }
    }

    /**
     * One progress line: what the learner did, and for each fact how surprising it still is (bits
     * per byte of the whole fact) and the model's greedy answer to its question under the facts key.
     */
    private void report(HttpClient http, int port, long sent) {
        try {
            String model = get(http, port, "/v1/model");
            StringBuilder facts = new StringBuilder();
            for (String[] f : DemoStream.FACTS.subList(0, 3)) {
                String body = "{\"key\":\"" + DemoStream.FACTS_KEY + "\",\"text\":\"" + f[0] + f[1] + "\"}";
                String r = post(http, port, "/v1/score", body);
                String bpb = field(r, "bitsPerByte");
                String ask = "{\"key\":\"" + DemoStream.FACTS_KEY + "\",\"prompt\":\"" + f[0] + "\",\"maxBytes\":"
                        + f[1].length() + "}";
                String answer = printable(field(post(http, port, "/v1/complete", ask), "continuation"));
                facts.append(String.format("  %s %s b/B answer \"%s\"", f[1], bpb.length() > 5 ? bpb.substring(0, 5) : bpb,
                        answer));
            }
            long lost = undelivered.get();
            out.printf("sent %d%s | version %s steps %s | facts:%s%n", sent,
                    lost == 0 ? "" : " (" + lost + " not written: " + firstUndelivered + ")", field(model, "modelVersion"),
                    section(model, "levelSteps"), facts);
        } catch (Exception e) {
            out.println("sent " + sent + " | (learner not ready yet: " + e.getMessage() + ")");
        }
    }

    /** The text with control characters shown as '?', so a half-learned answer cannot garble the console. */
    private static String printable(String s) {
        return s.codePoints().map(c -> Character.isISOControl(c) ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }

    private static String get(HttpClient http, int port, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(path + " answered " + r.statusCode());
        }
        return r.body();
    }

    private static String post(HttpClient http, int port, String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(path + " answered " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    private static String field(String json, String name) throws Exception {
        var n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json).findValue(name);
        return n == null ? "?" : n.asText();
    }

    private static String section(String json, String name) throws Exception {
        var n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json).findValue(name);
        return n == null ? "?" : n.toString();
    }

    private static void deleteTree(Path p) {
        try (var walk = Files.walk(p)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (Exception ignored) {
            // best effort: a temp directory
        }
    }
}

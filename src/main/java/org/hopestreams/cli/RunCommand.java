package org.hopestreams.cli;

import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.log.Logging;
import org.hopestreams.stream.HopeStreamsConfig;
import org.hopestreams.stream.StreamApp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code run}: the streaming learner against a given Kafka and schema registry, until SIGTERM or Ctrl-C. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the streaming learner against a Kafka cluster and a schema registry.",
                "Configuration, later wins: --config file, environment (HOPE_X_Y sets hope.x.y, STREAMS_X_Y sets x.y),",
                "--bootstrap-servers / --registry-url, -D key=value."})
final class RunCommand implements Callable<Integer> {
    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT,...", description = "Kafka bootstrap servers.")
    String bootstrap;

    @Option(names = "--registry-url", paramLabel = "URL", description = "Schema registry URL (hope.registry.url).")
    String registryUrl;

    @Option(names = "--config", paramLabel = "FILE", description = "Properties file: hope.* keys and any Kafka Streams,"
            + " client or serde key.")
    Path configFile;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE", description = "A configuration key (repeatable; wins "
            + "over --config).")
    Map<String, String> set = new LinkedHashMap<>();

    @Option(names = "--create-topics", paramLabel = "PARTITIONS", defaultValue = "0",
            description = "Create missing topics with this many partitions (0 = do not create).")
    int createTopics;

    @Option(names = "--log-format", paramLabel = "text|json", description = "Log lines as text or as one JSON object "
            + "each (time, level, logger, thread, message, error) for a log collector; default: "
            + HopeStreamsConfig.LOG_FORMAT + " (HOPE_LOG_FORMAT), else text.")
    String logFormat;

    @picocli.CommandLine.Mixin
    EngineOptions engine;

    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    @Override
    public Integer call() throws Exception {
        Map<String, Object> m = new HashMap<>();
        m.put(HopeStreamsConfig.DEVICE, engine.device);
        if (configFile != null) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(configFile)) {
                p.load(r);
            } catch (IOException e) {
                throw new IOException("cannot read --config " + configFile + ": " + e.getMessage(), e);
            }
            p.forEach((k, v) -> m.put(k.toString(), v));
        }
        m.putAll(HopeStreamsConfig.fromEnvironment(System.getenv()));
        if (bootstrap != null) {
            m.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        }
        if (registryUrl != null) {
            m.put(HopeStreamsConfig.REGISTRY_URL, registryUrl);
        }
        m.putAll(set);
        // Before anything logs: the format from the option, else the configuration (file, environment, -D)
        Object format = logFormat != null ? logFormat : m.get(HopeStreamsConfig.LOG_FORMAT);
        if (format != null) {
            Logging.Format f = Logging.Format.parse(format.toString());
            m.put(HopeStreamsConfig.LOG_FORMAT, f.name().toLowerCase(java.util.Locale.ROOT));
            if (f == Logging.Format.JSON) {
                Logging.json();
            }
        }
        if (!m.containsKey(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)) {
            throw new IllegalArgumentException("no Kafka: give --bootstrap-servers or bootstrap.servers in --config");
        }
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        Object streamThreads = config.streamsProperties().get(StreamsConfig.NUM_STREAM_THREADS_CONFIG);
        String threads = engine.applyThreadsForStream(config.getInt(HopeStreamsConfig.BATCH_RECORDS),
                streamThreads == null ? 1 : Integer.parseInt(streamThreads.toString()));
        LOG.info("engine threads: {}", threads);
        if (createTopics > 0) {
            StreamApp.createTopics(config, createTopics, (short) -1);
        }
        CountDownLatch stop = new CountDownLatch(1);
        Signals.onStop(stop::countDown);
        StreamApp app = StreamApp.start(config);
        LOG.info("started: application {} reading {}, model {}; SIGTERM or Ctrl-C stops it cleanly",
                config.streamsProperties().get(StreamsConfig.APPLICATION_ID_CONFIG), config.inputTopic(),
                config.getString(HopeStreamsConfig.MODEL_INIT).isEmpty() ? config.getString(HopeStreamsConfig.MODEL_PRESET)
                        : config.getString(HopeStreamsConfig.MODEL_INIT));
        try {
            while (stop.getCount() > 0) {
                if (app.failure() != null) {
                    LOG.error("stopping: the stream thread failed: {}", app.failure().toString());
                    return 1;
                }
                stop.await(Duration.ofSeconds(1).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        } finally {
            app.close();   // leaves the group, commits, closes the stores
        }
        LOG.info("stopped cleanly: left the group, committed, closed the stores");
        return 0;
    }
}

package org.hopestreams.embedded;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
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
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Apicurio Registry server (H2 storage, in memory unless {@link Builder#storageDir}; or the storage its
 * {@link Builder#environment} names, such as KafkaSQL as in {@code k8s/base/registry.yaml}) run as a child JVM on
 * 127.0.0.1 and a free port (or {@link Builder#port}). It serves
 * the Apicurio v3 API (for the Apicurio serdes) and the Confluent-compatible API (for Confluent clients).
 *
 * <h2>How to run</h2>
 * The server is the Maven Central distribution {@code io.apicurio:apicurio-registry-app:3.0.9:tar.gz:all}, which the
 * build fetches and unpacks into {@value #DEFAULT_HOME} ({@code mvn -B process-resources}, or any later phase such
 * as {@code package} / {@code verify}). Then:
 * <pre>{@code
 * try (EmbeddedRegistry registry = EmbeddedRegistry.builder().start()) {   // or builder(Path.of("<home>"))
 *     registry.apiUrl();      // http://127.0.0.1:PORT/apis/registry/v3  -> serde's apicurio.registry.url
 *     registry.ccompatUrl();  // http://127.0.0.1:PORT/apis/ccompat/v7   -> Confluent schema.registry.url
 * }
 * }</pre>
 * The home folder is a builder argument; without it, the system property {@value #HOME_PROPERTY} is used if set,
 * else {@value #DEFAULT_HOME} relative to the working directory. Both Quarkus layouts are supported: legacy-jar
 * ({@code *-runner.jar} + {@code lib/}, 3.0.x) and fast-jar ({@code quarkus-run.jar}, 3.3.x). 3.0.x runs on Java 17;
 * 3.3.x needs Java 21+ (pass its {@code java} with {@link Builder#javaExecutable}).
 *
 * <h2>Ownership and lifecycle</h2>
 * <ul>
 *   <li>{@link Builder#start()} returns only once {@code /health/ready} answers 200; if the server exits or is not
 *       ready within the start timeout, the child process is killed and an {@link IOException} carries the tail of
 *       its log.</li>
 *   <li>The caller owns the instance and must {@link #close} it (try-with-resources). {@code close()} sends SIGTERM,
 *       waits up to 15 s, then SIGKILLs, and returns only when the process is gone; it is idempotent.</li>
 *   <li>A JVM shutdown hook stops the child if the owner never closes it (e.g. Ctrl-C in the {@code demo}); it is
 *       removed again by {@code close()}. A SIGKILL of this JVM cannot be covered: kill {@link #pid()} then.</li>
 *   <li>Storage is in memory by default: every start is an empty registry; nothing survives {@code close()}. With
 *       {@link Builder#storageDir} the data lives in an H2 file there: a server started again on the same folder
 *       (and {@link Builder#port}) is the same registry, with the same artifacts and ids, as after a restart of a
 *       production registry.</li>
 *   <li>The server's own output goes to {@link #logFile()} ({@code <home>/registry-<port>.log} by default),
 *       not to this JVM's console.</li>
 * </ul>
 * Logs one INFO line per lifecycle event (starting, ready, stopping, stopped) on logger
 * {@code org.hopestreams.embedded.EmbeddedRegistry}.
 */
public final class EmbeddedRegistry implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedRegistry.class);

    /** Registry server version the build unpacks (see pom.xml {@code apicurio.server.version}). */
    public static final String SERVER_VERSION = "3.0.9";
    /** Where {@code mvn process-resources} unpacks the server, relative to the project root. */
    public static final String DEFAULT_HOME = "target/apicurio-registry-" + SERVER_VERSION;
    /** System property that overrides {@link #DEFAULT_HOME}. */
    public static final String HOME_PROPERTY = "apicurio.registry.home";

    private final Process process;
    private final int port;
    private final int managementPort;
    private final Path logFile;
    private final Duration startupTime;
    private final Thread shutdownHook;
    private boolean closed;

    private EmbeddedRegistry(Process process, int port, int managementPort, Path logFile, Duration startupTime,
                             Thread shutdownHook) {
        this.process = process;
        this.port = port;
        this.managementPort = managementPort;
        this.logFile = logFile;
        this.startupTime = startupTime;
        this.shutdownHook = shutdownHook;
    }

    /** A builder for the server in {@link #defaultHome()}. */
    public static Builder builder() {
        return new Builder(defaultHome());
    }

    /** A builder for the server unpacked in {@code home}. */
    public static Builder builder(Path home) {
        return new Builder(home);
    }

    /** {@value #HOME_PROPERTY} if set, else {@value #DEFAULT_HOME}. */
    public static Path defaultHome() {
        return Path.of(System.getProperty(HOME_PROPERTY, DEFAULT_HOME));
    }

    public int port() {
        return port;
    }

    /**
     * Port of the Quarkus management interface (health, metrics). Only 3.3.x+ enables it; there, health lives on
     * it ({@code /health/ready}) and would otherwise bind 0.0.0.0:9000. 3.0.x ignores it and serves health on
     * {@link #port()}.
     */
    public int managementPort() {
        return managementPort;
    }

    /** Base URL, e.g. {@code http://127.0.0.1:41234}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    /** Core v3 REST API: the value for the Apicurio serdes' {@code apicurio.registry.url}. */
    public String apiUrl() {
        return baseUrl() + "/apis/registry/v3";
    }

    /** Confluent-compatible API: the value for a Confluent client's {@code schema.registry.url}. */
    public String ccompatUrl() {
        return baseUrl() + "/apis/ccompat/v7";
    }

    public Duration startupTime() {
        return startupTime;
    }

    public long pid() {
        return process.pid();
    }

    /** The child process, e.g. to check {@code ProcessHandle#isAlive()} after {@link #close()}. */
    public ProcessHandle processHandle() {
        return process.toHandle();
    }

    public Path logFile() {
        return logFile;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Resident set size of the server JVM (Linux {@code /proc}); empty elsewhere. */
    public OptionalLong rssBytes() {
        Path status = Path.of("/proc", Long.toString(process.pid()), "status");
        try (Stream<String> lines = Files.lines(status)) {
            return lines.filter(l -> l.startsWith("VmRSS:"))
                    .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", "")) * 1024)
                    .findFirst();
        } catch (IOException | UncheckedIOException e) {
            return OptionalLong.empty();
        }
    }

    /** Stops the server (SIGTERM, SIGKILL after 15 s) and waits until the process is gone. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        LOG.info("Embedded registry: stopping (pid {}, port {})", process.pid(), port);
        long t0 = System.nanoTime();
        stop(process);
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // JVM already shutting down: the hook is running / has run
        }
        LOG.info("Embedded registry: stopped in {} ms ({})", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
                process.isAlive() ? "STILL ALIVE, pid " + process.pid() : "exit code " + process.exitValue());
    }

    private static void stop(Process p) {
        // children first (none expected), then the JVM itself: SIGTERM, then SIGKILL after 15 s
        p.descendants().forEach(ProcessHandle::destroy);
        p.destroy();
        try {
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    public static final class Builder {
        private final Path home;
        private String javaExecutable = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        private List<String> jvmOptions = List.of("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
        private Map<String, String> properties = Map.of();
        private Duration startTimeout = Duration.ofSeconds(90);
        private Path logFile;
        private int port;
        private Path storageDir;
        private Map<String, String> environment = Map.of();

        private Builder(Path home) {
            // absolute: the server runs with its own folder as working directory
            this.home = home.toAbsolutePath().normalize();
        }

        /** JVM used to run the server (default: the current one). */
        public Builder javaExecutable(String javaExecutable) {
            this.javaExecutable = javaExecutable;
            return this;
        }

        /** Server JVM options (default: small heap, serial GC, C1 only; about 160-175 MiB RSS). */
        public Builder jvmOptions(List<String> jvmOptions) {
            this.jvmOptions = List.copyOf(jvmOptions);
            return this;
        }

        /** Extra Quarkus/Apicurio properties passed as {@code -Dkey=value} (override the defaults). */
        public Builder properties(Map<String, String> properties) {
            this.properties = Map.copyOf(properties);
            return this;
        }

        public Builder startTimeout(Duration startTimeout) {
            this.startTimeout = startTimeout;
            return this;
        }

        /** Port to listen on (default 0: a free one); a server started again on the same port keeps clients' URLs. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** Folder of an H2 file database that keeps the data across starts (default: none, in memory). */
        public Builder storageDir(Path storageDir) {
            this.storageDir = storageDir.toAbsolutePath().normalize();
            return this;
        }

        /**
         * Environment variables of the server ({@code APICURIO_*}, as a container gets them). Where they set
         * {@code APICURIO_STORAGE_KIND}, the storage is theirs (e.g. {@code kafkasql} with its
         * {@code APICURIO_KAFKASQL_*} and {@code APICURIO_KAFKA_COMMON_*} keys) instead of H2.
         */
        public Builder environment(Map<String, String> environment) {
            this.environment = Map.copyOf(environment);
            return this;
        }

        /**
         * Where server stdout/stderr go, appended (default: {@code <home>/registry-<port>.log}); may be the file this
         * JVM logs to (the {@code demo}'s log).
         */
        public Builder logFile(Path logFile) {
            this.logFile = logFile;
            return this;
        }

        /** Starts the server and waits until it is ready; see the class comment for the contract. */
        public EmbeddedRegistry start() throws IOException, InterruptedException {
            Path jar = findLauncherJar(home);
            int port = this.port != 0 ? this.port : freeLoopbackPort();
            int managementPort = freeLoopbackPort();
            while (managementPort == port) {
                managementPort = freeLoopbackPort();
            }
            Path log = logFile != null ? logFile : home.resolve("registry-" + port + ".log");

            List<String> cmd = new ArrayList<>();
            cmd.add(javaExecutable);
            cmd.addAll(jvmOptions);
            cmd.add("-Dquarkus.http.host=127.0.0.1");
            cmd.add("-Dquarkus.http.port=" + port);
            cmd.add("-Dquarkus.management.host=127.0.0.1");
            cmd.add("-Dquarkus.management.port=" + managementPort);
            if (!environment.containsKey("APICURIO_STORAGE_KIND")) {
                // system properties would win over the environment's storage
                cmd.add("-Dapicurio.storage.kind=sql");
                cmd.add("-Dapicurio.storage.sql.kind=h2");
                cmd.add("-Dapicurio.datasource.url=" + (storageDir == null ? "jdbc:h2:mem:registry"
                        : "jdbc:h2:file:" + storageDir.resolve("registry")));
                cmd.add("-Dapicurio.datasource.jdbc.initial-size=2");
                cmd.add("-Dapicurio.datasource.jdbc.min-size=2");
                cmd.add("-Dapicurio.datasource.jdbc.max-size=10");
            }
            cmd.add("-Dquarkus.log.level=WARN");
            cmd.add("-Dquarkus.log.category.\"io.apicurio\".level=WARN");
            cmd.add("-Dquarkus.http.access-log.enabled=false");
            properties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
            cmd.add("-jar");
            cmd.add(jar.toString());

            LOG.info("Embedded registry: starting {} on 127.0.0.1:{} (log {})", jar, port, log);
            long t0 = System.nanoTime();
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .directory(jar.getParent().toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            pb.environment().putAll(environment);
            Process p = pb.start();
            Thread hook = new Thread(() -> {
                LOG.warn("Embedded registry: JVM shutting down, stopping pid {}", p.pid());
                stop(p);
            }, "apicurio-registry-shutdown-" + port);
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                awaitReady(p, List.of(port, managementPort), log);
            } catch (IOException | InterruptedException | RuntimeException e) {
                LOG.error("Embedded registry: start failed (pid {}): {}", p.pid(), e.getMessage().lines().findFirst().orElse(""));
                stop(p);
                Runtime.getRuntime().removeShutdownHook(hook);
                throw e;
            }
            EmbeddedRegistry registry = new EmbeddedRegistry(p, port, managementPort, log,
                    Duration.ofNanos(System.nanoTime() - t0), hook);
            LOG.info("Embedded registry: ready in {} ms, pid {}, {}", registry.startupTime.toMillis(), p.pid(),
                    registry.baseUrl());
            return registry;
        }

        /** Polls {@code /health/ready} on the HTTP port (3.0.x) and the management port (3.3.x) until one says 200. */
        private void awaitReady(Process p, List<Integer> ports, Path log) throws IOException, InterruptedException {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            List<HttpRequest> probes = ports.stream()
                    .map(port -> HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
                            .timeout(Duration.ofSeconds(5)).GET().build())
                    .toList();
            long deadline = System.nanoTime() + startTimeout.toNanos();
            while (System.nanoTime() < deadline) {
                if (!p.isAlive()) {
                    throw new IOException("Apicurio Registry exited with " + p.exitValue() + " during startup; log "
                            + log + ":\n" + tail(log));
                }
                for (HttpRequest probe : probes) {
                    try {
                        if (http.send(probe, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                            return;
                        }
                    } catch (IOException notYetListening) {
                        // keep polling
                    }
                }
                Thread.sleep(100);
            }
            throw new IOException("Apicurio Registry not ready after " + startTimeout + "; log " + log + ":\n" + tail(log));
        }
    }

    /**
     * The server's launcher jar in {@code home}: {@code quarkus-app/quarkus-run.jar}, {@code quarkus-run.jar} or
     * {@code *-runner.jar}.
     *
     * @throws FileNotFoundException naming the path and the Maven command that creates it
     */
    static Path findLauncherJar(Path home) throws IOException {
        Path abs = home.toAbsolutePath().normalize();
        if (!Files.isDirectory(home)) {
            throw missing(abs, "the folder does not exist");
        }
        for (Path candidate : List.of(home.resolve("quarkus-app").resolve("quarkus-run.jar"), home.resolve("quarkus-run.jar"))) {
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        Optional<Path> runner;
        try (Stream<Path> files = Files.list(home)) {
            runner = files.filter(f -> f.getFileName().toString().endsWith("-runner.jar")).findFirst();
        }
        return runner.orElseThrow(() -> missing(abs, "it has no quarkus-run.jar or *-runner.jar"));
    }

    private static FileNotFoundException missing(Path home, String why) {
        return new FileNotFoundException("Apicurio Registry server not found at " + home + " (" + why + "). "
                + "Fetch and unpack io.apicurio:apicurio-registry-app:" + SERVER_VERSION + ":tar.gz:all there by running "
                + "'mvn -B process-resources' (or 'mvn -B package') in the hope-streams project root, or point -D"
                + HOME_PROPERTY + "=<folder> / EmbeddedRegistry.builder(<folder>) at an unpacked distribution.");
    }

    static int freeLoopbackPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}

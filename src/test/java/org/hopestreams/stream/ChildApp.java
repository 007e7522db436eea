package org.hopestreams.stream;

import org.apache.kafka.streams.StreamsConfig;

import java.io.IOException;
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
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The application in a child JVM ({@code hope run}, one stream thread, one PyTorch thread), as the fault tests
 * kill, pause and stop it. Its output goes to a log file; failures quote the log's tail.
 *
 * <p>Ownership: the test that starts a child must end it ({@link #kill} in an {@code @AfterEach} for the ones a
 * failed assertion leaves behind).
 */
final class ChildApp {
    private static final Pattern RESTORED = Pattern.compile("restored from the stores \\((\\d+) records learned\\)");
    private static final Pattern HTTP_PORT = Pattern.compile("HTTP on port (\\d+)");
    private static final Pattern STREAM_THREAD = Pattern.compile("\n\"[^\"\n]*-StreamThread-\\d+\" ");

    final String name;
    final Process process;
    private final Path log;
    private final long started;

    private ChildApp(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.started = System.nanoTime();
    }

    /**
     * The test configuration of a child (see {@link StreamTestSupport#appConfig}) reading {@code input} and writing
     * APPID.learning, APPID.checkpoints, APPID.dlq; on CPU, committing every 100 ms.
     */
    static Map<String, Object> config(StreamTestSupport.Servers servers, String appId, String input, Path stateDir) {
        Map<String, Object> m = StreamTestSupport.appConfig(servers.kafka().bootstrapServers(),
                servers.registry().apiUrl(), appId, stateDir);
        m.put(HopeStreamsConfig.INPUT_TOPIC, input);
        m.put(HopeStreamsConfig.LEARNING_TOPIC, appId + ".learning");
        m.put(HopeStreamsConfig.CHECKPOINTS_TOPIC, appId + ".checkpoints");
        m.put(HopeStreamsConfig.DLQ_TOPIC, appId + ".dlq");
        m.put(HopeStreamsConfig.DEVICE, TestDevice.device());
        // A SIGKILLed or paused member stays in the group until its session times out (the broker's minimum is
        // 6 s); a SIGKILLed child's open transaction is aborted at once when the next child, with the same process
        // id (kept in the state directory) and so the same transactional id, starts its producer.
        m.put("session.timeout.ms", "6000");
        m.put("heartbeat.interval.ms", "1000");
        m.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        return m;
    }

    /**
     * Starts {@code hope run} with {@code config} (bootstrap servers and registry URL from it), logging to
     * {@code logs/NAME.log}.
     *
     * @param jvmFlags extra JVM options, e.g. {@code -Dhope.crash.at=record:37}
     */
    static ChildApp start(String name, Map<String, Object> config, List<String> jvmFlags, Path logs)
            throws IOException {
        Map<String, Object> m = new TreeMap<>(config);
        Object bootstrap = m.remove(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG);
        Object registry = m.remove(HopeStreamsConfig.REGISTRY_URL);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx768m", "-XX:+UseSerialGC", "-Dai.djl.offline=true",
                "-Dhope.log.level.org.apache.kafka.streams.KafkaStreams=info"));
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.hopestreams.cli.HopeCli", "run",
                "--bootstrap-servers", bootstrap.toString(), "--registry-url", registry.toString(), "--threads", "1"));
        m.forEach((k, v) -> cmd.addAll(List.of("--set", k + "=" + v)));
        Files.createDirectories(logs);
        Path log = logs.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        return new ChildApp(name, p, log);
    }

    /**
     * Waits until {@code topic} holds at least {@code n} committed records, failing if one of {@code alive} exits
     * or after {@code deadline}.
     */
    static void awaitCommitted(String bootstrap, String topic, long n, Duration deadline, ChildApp... alive)
            throws InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        long count;
        while ((count = RunComparison.countCommitted(bootstrap, topic)) < n) {
            for (ChildApp c : alive) {
                if (!c.process.isAlive()) {
                    fail(c.name + " exited with " + c.process.exitValue() + " after " + count + " committed records\n"
                            + c.tail());
                }
            }
            if (System.nanoTime() > end) {
                StringBuilder tails = new StringBuilder();
                for (ChildApp c : alive) {
                    tails.append(c.tail()).append('\n').append(c.threadDump()).append('\n');
                }
                fail(topic + ": only " + count + " of " + n + " records committed in " + deadline + "\n" + tails);
            }
            Thread.sleep(250);
        }
    }

    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            String tail = tail();
            process.destroyForcibly();
            fail(name + " did not exit within " + timeout.toSeconds() + " s\n" + tail);
        }
        return process.exitValue();
    }

    /** SIGTERM: the run command closes the application cleanly (commit, leave the group); asserts it did. */
    int terminate() throws InterruptedException {
        process.destroy();
        int code = awaitExit(Duration.ofSeconds(60));
        assertEquals(0, code, name + " on SIGTERM\n" + tail());
        assertTrue(log().contains("stopped cleanly"), name + " closed the app\n" + tail());
        return code;
    }

    /** SIGKILL, if still alive. */
    void kill() {
        resume();
        process.destroyForcibly();
    }

    /** SIGSTOP: the JVM freezes, sockets stay open, nothing is sent (no heartbeat, no commit). */
    void suspend() throws IOException, InterruptedException {
        signal("STOP");
    }

    /** SIGCONT after {@link #suspend}. */
    void resume() {
        if (process.isAlive()) {
            try {
                signal("CONT");
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(name + ": SIGCONT failed", e);
            }
        }
    }

    private void signal(String sig) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -" + sig + " " + process.pid());
    }

    /** {@code /health/ready}'s answer: {@code ready} (HTTP 200) when Kafka Streams is RUNNING. */
    String health() throws IOException, InterruptedException {
        HttpResponse<String> r = request(org.hopestreams.serve.Routes.READY);
        return r.statusCode() + " " + r.body();
    }

    /** The body of a GET of {@code path} on the child's HTTP port (status 200 asserted). */
    String get(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = request(path);
        assertEquals(200, r.statusCode(), name + " " + path + ": " + r.body());
        return r.body();
    }

    private HttpResponse<String> request(String path) throws IOException, InterruptedException {
        Matcher m = HTTP_PORT.matcher(log());
        assertTrue(m.find(), name + " logged no HTTP port\n" + tail());
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://localhost:" + m.group(1)
                + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    String tail() {
        List<String> lines = log().lines().toList();
        return "---- tail of " + log + " ----\n"
                + String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    /**
     * A thread dump of the child ({@code jstack}), also written beside its log as NAME.threads.txt; the stream
     * thread's part when that can be found, for a failure message.
     */
    String threadDump() {
        if (!process.isAlive()) {
            return "(" + name + " has exited: no thread dump)";
        }
        try {
            Path jstack = Path.of(System.getProperty("java.home"), "bin", "jstack");
            Process p = new ProcessBuilder(jstack.toString(), Long.toString(process.pid())).redirectErrorStream(true)
                    .start();
            String dump = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            p.waitFor(30, TimeUnit.SECONDS);
            Path file = log.resolveSibling(name + ".threads.txt");
            Files.writeString(file, dump);
            Matcher m = STREAM_THREAD.matcher(dump);   // the stream thread itself, not its clients' threads
            int start = m.find() ? m.start() + 1 : 0;
            int end = start == 0 ? dump.length() : dump.indexOf("\n\n", start);
            return "---- threads of " + name + " (all in " + file + ") ----\n"
                    + dump.substring(start, end < 0 ? dump.length() : end);
        } catch (IOException | InterruptedException e) {
            return "(no thread dump of " + name + ": " + e + ")";
        }
    }

    /** Records learned in the model this child restored first, 0 if it started a new model. */
    long restoredRecords() {
        Matcher m = RESTORED.matcher(log());
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    String summary(int exit, long committed) {
        return String.format("%-28s exit %3d after %5.1f s, restored %3d records learned, %3d committed after it",
                name, exit, (System.nanoTime() - started) / 1e9, restoredRecords(), committed);
    }
}

package org.hopestreams.serve;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.hopestreams.avro.CheckpointEvent;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.embedded.EmbeddedKafka;
import org.hopestreams.embedded.EmbeddedRegistry;
import org.hopestreams.stream.HopeStreamsConfig;
import org.hopestreams.stream.StreamApp;
import org.hopestreams.stream.StreamTestSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The live dashboard in a real browser: the application learns Avro TextEvents of three keys in two key classes
 * ({@code log}, {@code fact}) plus two corrupt values (dead letters) from an in-JVM broker, then headless Chromium
 * opens {@code /} through Selenium and the test reads the ECharts instances the page exposes
 * ({@code window.hopeDashboard}) and its headline numbers, and compares them with what was committed to the
 * LearningEvent, CheckpointEvent and dead-letter topics. More events are then produced while the page is open and
 * the page must show them without a reload. A screenshot goes to {@code target/dashboard.png}.
 *
 * <p>Needs Debian's {@code chromium} and {@code chromium-driver} ({@code /usr/bin/chromium},
 * {@code /usr/bin/chromedriver}); skipped without them. Selenium Manager is never used (the driver path is given),
 * so nothing is downloaded.
 */
public class DashboardBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    /** Why a browser check cannot run: what is missing, and how to install it. */
    public static final String NOT_INSTALLED = "headless Chromium and its driver are not installed (" + CHROMIUM + ", "
            + CHROMEDRIVER + "): apt-get install chromium chromium-driver";
    private static final String[] KEYS = {"log-1", "log-2", "fact-1"};
    private static final int FIRST = 24;
    private static final int SECOND = 16;
    private static final int LIVE = 4;
    /**
     * Event time of the first event: an hour ago, on a 5 s boundary (so the 5 s stream-time checkpoints fall at the
     * 13th, 25th and 38th event). Not an epoch-1970 time: the output records carry it as their timestamp, and the
     * broker's first retention check (30 s after start) would delete records older than the 7-day retention.
     */
    private static final long T0 = System.currentTimeMillis() / 5000 * 5000 - 3_600_000L;

    private static EmbeddedKafka kafka;
    private static EmbeddedRegistry registry;

    @TempDir
    Path stateDir;

    /**
     * Whether the browser is there; without it the test is skipped (reported as skipped, nothing started), or fails
     * where {@code HOPE_REQUIRE_TOOLS} lists chromium ({@link org.hopestreams.RequiredTools}).
     */
    public static boolean browserInstalled() {
        return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    }

    @BeforeAll
    static void start() throws Exception {
        if (!browserInstalled()) {
            return;
        }
        CompletableFuture<EmbeddedRegistry> r = CompletableFuture.supplyAsync(() -> {
            try {
                return EmbeddedRegistry.builder().start();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        kafka = EmbeddedKafka.start();
        registry = r.join();
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    private static List<TextEvent> events(int from, int to) {
        List<TextEvent> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            String key = i >= FIRST + SECOND ? "fact-2" : KEYS[i % KEYS.length];
            String text = key.startsWith("log") ? "GET /api/items/" + i + " 200 " + (10 + i % 7) + "ms"
                    : "fact " + i + ": the capital of Zorbia is Quelt.";
            out.add(StreamTestSupport.event("e" + i, key, text, T0 + 400L * i));
        }
        return out;
    }

    @Test
    void theDashboardShowsWhatWasLearnedLive() throws Exception {
        org.hopestreams.RequiredTools.assumeInstalled(org.hopestreams.RequiredTools.CHROMIUM, browserInstalled(),
                NOT_INSTALLED);
        Map<String, Object> m = StreamTestSupport.appConfig(kafka.bootstrapServers(), registry.apiUrl(),
                "it-dashboard", stateDir);
        StreamTestSupport.topics(m, "dash");
        m.put(HopeStreamsConfig.HTTP_HOST, "127.0.0.1");
        // stream-time checkpoints every 5 s of event time: 40 events 400 ms apart give 3 LOW consolidations
        m.put(HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, "5000");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        StreamApp.createTopics(config, 1, (short) 1);
        String bootstrap = kafka.bootstrapServers();
        String registryUrl = registry.apiUrl();

        try (StreamApp app = StreamApp.start(config)) {
            assertTrue(app.awaitRunning(Duration.ofSeconds(60)), "the stream application runs");
            // two batches about a second apart, so the page has more than one point per series
            StreamTestSupport.produce(bootstrap, registryUrl, "dash.events", events(0, FIRST));
            StreamTestSupport.produceRaw(bootstrap, "dash.events", "log-1".getBytes(StandardCharsets.UTF_8),
                    "not avro at all".getBytes(StandardCharsets.UTF_8));
            assertEquals(FIRST, StreamTestSupport.readAvro(bootstrap, registryUrl, "dash.learning", FIRST,
                    Duration.ofSeconds(120)).size());
            Thread.sleep(1100);
            StreamTestSupport.produce(bootstrap, registryUrl, "dash.events", events(FIRST, FIRST + SECOND));
            StreamTestSupport.produceRaw(bootstrap, "dash.events", null, new byte[] {0, 0, 0, 0x7f, 0x7f, 1, 2, 3});

            List<LearningEvent> learned = learningEvents(bootstrap, registryUrl, FIRST + SECOND);
            assertEquals(FIRST + SECOND, learned.size(), "every event learned and committed");
            LearningEvent last = learned.get(learned.size() - 1);
            assertTrue(last.getLowSteps() >= 1, "at least one stream-time checkpoint: " + last);
            List<CheckpointEvent> checkpoints = checkpointEvents(bootstrap, registryUrl, (int) last.getLowSteps());
            assertEquals(last.getLowSteps(), checkpoints.size(), "one CheckpointEvent per LOW step: " + checkpoints);
            assertEquals(2, StreamTestSupport.readBytes(bootstrap, "dash.dlq", 2, Duration.ofSeconds(30)).size(),
                    "both corrupt values dead-lettered");

            String url = "http://127.0.0.1:" + app.httpPort() + "/";
            List<String> driverLog = new CopyOnWriteArrayList<>();
            ChromeDriver driver = browser(driverLog);
            try {
                driver.get(url);
                awaitScript(driver, "return window.hopeDashboard !== undefined && window.hopeDashboard.updates >= 2",
                        Duration.ofSeconds(30));
                assertTrue(driverLog.stream().anyMatch(s -> s.contains("Skipping Selenium Manager")),
                        "the driver came from webdriver.chrome.driver, not from Selenium Manager: " + driverLog);

                Map<String, List<Series>> charts = charts(driver);
                assertEverythingShown(driver, charts, learned, checkpoints, 2);
                assertOnlyLocalResources(driver, url);

                // live: more events while the page is open show up without a reload
                long updates = ((Number) js(driver, "return window.hopeDashboard.updates")).longValue();
                StreamTestSupport.produce(bootstrap, registryUrl, "dash.events",
                        events(FIRST + SECOND, FIRST + SECOND + LIVE));
                learned = learningEvents(bootstrap, registryUrl, FIRST + SECOND + LIVE);
                assertEquals(FIRST + SECOND + LIVE, learned.size());
                awaitScript(driver, "return document.getElementById('stat-records').dataset.value === '"
                        + learned.size() + "'", Duration.ofSeconds(20));
                assertTrue(((Number) js(driver, "return window.hopeDashboard.updates")).longValue() > updates);
                last = learned.get(learned.size() - 1);
                checkpoints = checkpointEvents(bootstrap, registryUrl, (int) last.getLowSteps());
                Thread.sleep(1200); // one more refresh, so the screenshot shows the settled page
                charts = charts(driver);
                assertEverythingShown(driver, charts, learned, checkpoints, 2);
                assertTrue(series(charts, "chart-bpb", "fact").data().size() >= 2, "the fact class over time");
                assertEquals(0L, ((Number) js(driver, "return window.hopeDashboard.errors")).longValue(),
                        "no failed refresh");
            } finally {
                try {
                    Path png = Path.of(System.getProperty("basedir", "."), "target", "dashboard.png");
                    Files.createDirectories(png.getParent());
                    Files.write(png, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
                } finally {
                    driver.quit();
                }
            }
            assertNull(app.failure());
        }
    }

    /** One ECharts series as the page holds it: name and [x, y, ...] data items. */
    record Series(String name, List<List<Number>> data) {
        double lastY() {
            return data.get(data.size() - 1).get(1).doubleValue();
        }

        double sumY() {
            return data.stream().mapToDouble(d -> d.get(1).doubleValue()).sum();
        }
    }

    private static void assertEverythingShown(ChromeDriver driver, Map<String, List<Series>> charts,
                                              List<LearningEvent> learned, List<CheckpointEvent> checkpoints,
                                              int deadLetters) {
        LearningEvent last = learned.get(learned.size() - 1);
        assertEquals(Set.of("chart-bpb", "chart-steps", "chart-surprise", "chart-throughput", "chart-dlq",
                "chart-checkpoints"), charts.keySet());

        // bits per byte: overall plus one line per key class seen, each with points
        Set<String> classes = charts.get("chart-bpb").stream().map(Series::name).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(List.of("all keys", "fact", "log")), classes);
        for (Series s : charts.get("chart-bpb")) {
            assertFalse(s.data().isEmpty(), "bits per byte of " + s.name());
            for (List<Number> p : s.data()) {
                double v = p.get(1).doubleValue();
                assertTrue(Double.isFinite(v) && v > 0 && v < 32, s.name() + ": " + v);
            }
        }
        assertTrue(series(charts, "chart-bpb", "all keys").data().size() >= 2, "two batches, two seconds");

        // level steps: HIGH counts every record (one partition), MID the closed windows, LOW the checkpoints
        assertEquals(last.getHighSteps(), (long) series(charts, "chart-steps", "HIGH").lastY());
        assertTrue(series(charts, "chart-steps", "HIGH").lastY() > 0);
        assertEquals(last.getMidSteps(), (long) series(charts, "chart-steps", "MID").lastY());
        assertEquals(last.getLowSteps(), (long) series(charts, "chart-steps", "LOW").lastY());

        // surprise: one line per block with a point for each active second
        assertFalse(charts.get("chart-surprise").isEmpty(), "surprise per block");
        assertEquals(last.getSurprise().size(), charts.get("chart-surprise").size(), "one line per block");
        for (Series s : charts.get("chart-surprise")) {
            assertTrue(s.data().size() >= 2, "surprise of " + s.name());
        }

        // throughput: records/s adds up to the records learned, bytes/s to the bytes
        assertEquals(learned.size(), (long) series(charts, "chart-throughput", "records/s").sumY());
        assertEquals(learned.stream().mapToLong(LearningEvent::getBytes).sum(),
                (long) series(charts, "chart-throughput", "bytes/s").sumY());

        // dead letters per second and in total
        assertEquals(deadLetters, (long) series(charts, "chart-dlq", "dead letters/s").sumY());
        assertEquals(deadLetters, (long) series(charts, "chart-dlq", "total").lastY());

        // checkpoints: the chart's versions and the table's rows are those of the CheckpointEvents
        List<Long> versions = checkpoints.stream().map(CheckpointEvent::getModelVersion).toList();
        List<Series> cp = charts.get("chart-checkpoints");
        assertEquals(List.of("partition 0"), cp.stream().map(Series::name).toList());
        assertEquals(versions, cp.get(0).data().stream().map(d -> d.get(1).longValue()).toList());
        // read in one script: the page rebuilds the table on every refresh, so elements found one call
        // earlier can be gone (a StaleElementReferenceException in CI)
        @SuppressWarnings("unchecked")
        List<String> firstCells = (List<String>) js(driver, "return Array.from(document.querySelectorAll("
                + "'#checkpoint-table tbody tr.checkpoint')).map(function (r) {"
                + " return r.querySelector('td').textContent.trim(); })");
        assertTrue(firstCells.size() >= 1, "the checkpoint table lists a version");
        List<Long> newestFirst = new ArrayList<>(versions.subList(Math.max(0, versions.size() - 10), versions.size()));
        java.util.Collections.reverse(newestFirst);
        assertEquals(newestFirst, firstCells.stream().map(Long::parseLong).toList());

        // headline numbers
        assertEquals(learned.size(), headline(driver, "stat-records"), "records learned");
        assertEquals(String.valueOf(learned.size()), driver.findElement(By.id("stat-records")).getText().trim());
        long version = Math.max(last.getModelVersion(),
                versions.stream().mapToLong(Long::longValue).max().orElse(0));
        assertEquals(version, headline(driver, "stat-version"), "model version");
        assertEquals(last.getHighSteps(), headline(driver, "stat-high"));
        assertEquals(last.getMidSteps(), headline(driver, "stat-mid"));
        assertEquals(last.getLowSteps(), headline(driver, "stat-low"));
        assertEquals(deadLetters, headline(driver, "stat-dlq"));
        assertEquals(versions.size(), headline(driver, "stat-checkpoints"));
    }

    /** The page loaded nothing from outside this instance (no CDN). */
    private static void assertOnlyLocalResources(ChromeDriver driver, String base) {
        @SuppressWarnings("unchecked")
        List<String> loaded = (List<String>) js(driver,
                "return performance.getEntriesByType('resource').map(function (e) { return e.name; })");
        assertTrue(loaded.stream().anyMatch(u -> u.equals(base + "webjars/echarts/5.3.1/dist/echarts.min.js")),
                "ECharts from the webjar: " + loaded);
        for (String u : loaded) {
            assertTrue(u.startsWith(base), "loaded from elsewhere: " + u);
        }
    }

    private static Series series(Map<String, List<Series>> charts, String chart, String name) {
        return charts.get(chart).stream().filter(s -> s.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(chart + " has no series '" + name + "': " + charts.get(chart)));
    }

    private static long headline(ChromeDriver driver, String id) {
        return Long.parseLong(driver.findElement(By.id(id)).getDomAttribute("data-value"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, List<Series>> charts(ChromeDriver driver) {
        Map<String, List<Map<String, Object>>> raw = (Map<String, List<Map<String, Object>>>) js(driver, """
                var out = {};
                var charts = window.hopeDashboard.charts;
                Object.keys(charts).forEach(function (id) {
                  out[id] = charts[id].getOption().series.map(function (s) {
                    return {name: s.name, data: s.data};
                  });
                });
                return out;""");
        Map<String, List<Series>> out = new java.util.TreeMap<>();
        raw.forEach((id, list) -> out.put(id, list.stream()
                .map(s -> new Series((String) s.get("name"), (List<List<Number>>) s.get("data"))).toList()));
        return out;
    }

    public static Object js(ChromeDriver driver, String script) {
        return ((JavascriptExecutor) driver).executeScript(script);
    }

    public static void awaitScript(ChromeDriver driver, String script, Duration timeout) {
        new WebDriverWait(driver, timeout).withMessage(() -> "page: " + script + "; status: "
                        + driver.findElement(By.id("status")).getText())
                .until(d -> Boolean.TRUE.equals(((JavascriptExecutor) d).executeScript(script)));
    }

    /** Headless Chromium through the system's chromedriver; Selenium Manager (which may download) is not used. */
    public static ChromeDriver browser(List<String> driverLog) {
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        System.setProperty("SE_OFFLINE", "true"); // passed to Selenium Manager, were it ever run
        Logger finder = Logger.getLogger("org.openqa.selenium.remote.service.DriverFinder");
        finder.setLevel(Level.FINE);
        finder.addHandler(new Handler() {
            @Override
            public void publish(LogRecord r) {
                driverLog.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1600",
                "--hide-scrollbars", "--lang=en-US", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps");
        return new ChromeDriver(options);
    }

    private static List<LearningEvent> learningEvents(String bootstrap, String registryUrl, int n) {
        List<ConsumerRecord<String, Object>> records = StreamTestSupport.readAvro(bootstrap, registryUrl,
                "dash.learning", n, Duration.ofSeconds(120));
        return records.stream().map(r -> (LearningEvent) r.value()).toList();
    }

    private static List<CheckpointEvent> checkpointEvents(String bootstrap, String registryUrl, int n) {
        return StreamTestSupport.readAvro(bootstrap, registryUrl, "dash.checkpoints", n, Duration.ofSeconds(30))
                .stream().map(r -> (CheckpointEvent) r.value()).toList();
    }
}

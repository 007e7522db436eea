package org.hopestreams.cli;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's main job: {@code demo} in a child JVM, as a user runs it. It must print the
 * dashboard's address and progress with the facts' scores, learn (scores fall), and stop on
 * SIGTERM (what Ctrl-C sends to the JVM) with nothing left running: no registry child process.
 */
class DemoCommandTest {
    /** A log line as the old console showed them: "12:34:56.789 INFO NetworkClient - ..." or with a date. */
    private static final Pattern LOG_LINE = Pattern.compile("^[0-9T:.+ -]*\\b(TRACE|DEBUG|INFO|WARN|ERROR)\\b [^ ]+ - ");
    private static final Pattern FACT = Pattern.compile("Quelt\\. ([0-9.]+) b/B answer \"([^\"]*)\"");

    @Test
    void theDemoLearnsFactsAndStopsCleanlyOnSigterm(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        // Output to a file: a pipe read by a thread can lose the last lines when the process exits.
        java.nio.file.Path log = dir.resolve("demo.log");
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx1g",
                "-Dai.djl.offline=true", "-Dapicurio.registry.home=" + System.getProperty("apicurio.registry.home")));
        // The test JVM's PyTorch thread settings (the POM's surefire.torch.threads), if any: on a busy 2-core machine
        // the engine's default of a thread per core spins (README "Engine threads")
        for (String engine : List.of("ai.djl.pytorch.num_threads", "ai.djl.pytorch.num_interop_threads")) {
            if (System.getProperty(engine) != null) {
                cmd.add("-D" + engine + "=" + System.getProperty(engine));
            }
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), HopeCli.class.getName(), "demo", "--http-port", "0",
                "--rate", "20", "--report-seconds", "4"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        // A fresh cache: the demo makes its pretrained starting checkpoint, as on a user's first start.
        pb.environment().put("XDG_CACHE_HOME", dir.resolve("cache").toString());
        Process p = pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        java.util.function.Supplier<List<String>> output = () -> {
            try {
                return java.nio.file.Files.readAllLines(log, StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                return List.of();
            }
        };
        List<String> lines = List.of();
        List<ProcessHandle> children = List.of();
        boolean browserChecked = false;
        try {
            List<Double> quelt = new ArrayList<>();
            List<String> answers = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
            while (System.nanoTime() < deadline && (quelt.size() < 5 || !answers.contains("Quelt.")) && p.isAlive()) {
                Thread.sleep(500);
                lines = output.get();
                quelt.clear();
                answers.clear();
                for (String line : lines) {
                    Matcher m = FACT.matcher(line);
                    if (line.startsWith("sent ") && m.find()) {
                        quelt.add(Double.parseDouble(m.group(1)));
                        answers.add(m.group(2));
                    }
                }
            }
            assertTrue(lines.stream().anyMatch(l -> l.contains("pretraining the tiny model")),
                    "the first start makes the pretrained checkpoint:\n" + String.join("\n", lines));
            assertTrue(answers.contains("Quelt."), "after the fact has appeared a few times the model's answer to "
                    + "\"the capital of Zorbia is\" is the fact: " + answers + "\n" + String.join("\n", lines));
            assertTrue(lines.stream().anyMatch(l -> l.contains("dashboard http://127.0.0.1:")),
                    "prints the dashboard's address:\n" + String.join("\n", lines));
            assertTrue(quelt.size() >= 5, "progress lines with the facts' scores:\n" + String.join("\n", lines));
            assertTrue(quelt.get(quelt.size() - 1) < 1.5,
                    "the fact costs little once learned (about 6 bits per byte before): " + quelt);

            String url = lines.stream().filter(l -> l.contains("dashboard http://")).findFirst().orElseThrow()
                    .replaceAll(".*dashboard (http://\\S+/).*", "$1");
            browserChecked = org.hopestreams.serve.DashboardBrowserTest.browserInstalled();
            if (browserChecked) {
                // The running demo's dashboard in headless Chromium: its charts show data.
                org.openqa.selenium.chrome.ChromeDriver browser =
                        org.hopestreams.serve.DashboardBrowserTest.browser(new ArrayList<>());
                try {
                    browser.get(url);
                    org.hopestreams.serve.DashboardBrowserTest.awaitScript(browser,
                            "return window.hopeDashboard && window.hopeDashboard.updates >= 2", java.time.Duration.ofSeconds(60));
                    Object points = org.hopestreams.serve.DashboardBrowserTest.js(browser,
                            "return window.hopeDashboard.charts['chart-bpb'].getOption().series[0].data.length");
                    assertTrue(((Number) points).intValue() > 0, "the bits-per-byte chart shows data");
                    Object names = org.hopestreams.serve.DashboardBrowserTest.js(browser,
                            "return window.hopeDashboard.charts['chart-bpb'].getOption().series.map(s => s.name).join(',')");
                    assertTrue(names.toString().contains("facts") && names.toString().contains("log"),
                            "one line per key class: " + names);
                } finally {
                    browser.quit();
                }
            }
            children = p.descendants().toList();
            assertTrue(children.stream().anyMatch(c -> c.info().commandLine().orElse("").contains("apicurio")),
                    "the registry runs as a child process");
            p.destroy();   // SIGTERM, as Ctrl-C
            assertTrue(p.waitFor(90, TimeUnit.SECONDS), "the demo stops within 90 s of SIGTERM");
        } finally {
            p.destroyForcibly();
        }
        lines = output.get();
        assertTrue(lines.stream().anyMatch(l -> l.contains("hope demo: stopped")), String.join("\n", lines));
        // The console is the demo's own lines: no library's log line, no ERROR; the logs are in the file it names.
        List<String> logLines = lines.stream().filter(l -> LOG_LINE.matcher(l).find() || l.contains("ERROR")).toList();
        assertTrue(logLines.isEmpty(), "no log lines on the demo's console: " + logLines.size() + "\n"
                + String.join("\n", logLines));
        assertTrue(lines.stream().allMatch(l -> l.startsWith("hope demo: ") || l.startsWith("sent ")),
                "only progress lines:\n" + String.join("\n", lines));
        java.nio.file.Path file = java.nio.file.Path.of(lines.stream().filter(l -> l.startsWith("hope demo: logs in "))
                .findFirst().orElseThrow(() -> new AssertionError("names its log file:\n" + String.join("\n", output.get())))
                .replaceAll("hope demo: logs in (\\S+).*", "$1"));
        String logged = java.nio.file.Files.readString(file);
        assertTrue(logged.contains(" org.apache.kafka."), "the libraries' logs are in " + file);
        assertTrue(logged.contains("Bootstrap metadata"), "what the broker prints is in " + file);
        assertTrue(logged.contains("Quarkus") || logged.contains("QUARKUS") || logged.contains("quarkus"),
                "the registry child process's output is in " + file);
        List<String> loggedLines = logged.lines().toList();
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < loggedLines.size(); i++) {
            String l = loggedLines.get(i);
            // Known and harmless: the broker (Kafka 4.x, transactions v2) refuses a transactional producer's first
            // batch to a partition just created (a repartition topic) when a retried batch arrives after a later one
            // ("OutOfOrderSequenceException ... Expected sequence 0 for transactions v2") and logs it at ERROR; the
            // producer's transaction is aborted and retried, nothing is lost or doubled (the crash tests prove the
            // exactly-once outcome). Seen once in a loaded full run; every other ERROR fails the test.
            boolean firstSequenceRefused = l.contains(" ERROR ") && l.contains("Error processing append operation")
                    && i + 1 < loggedLines.size()
                    && loggedLines.get(i + 1).contains("OutOfOrderSequenceException")
                    && loggedLines.get(i + 1).contains("Expected sequence 0");
            if (l.contains(" ERROR ") && !firstSequenceRefused) {
                errors.add(l);
            }
        }
        assertTrue(errors.isEmpty(), "no ERROR in a demo that went well:\n" + errors);
        deleteTree(file.getParent());
        Thread.sleep(500);
        assertTrue(children.stream().noneMatch(ProcessHandle::isAlive),
                "nothing the demo started is left running: " + children.stream().filter(ProcessHandle::isAlive).toList());
        assertEquals(0, p.exitValue() == 143 ? 0 : p.exitValue(), "exit status");
        // Last, so that everything else has been checked: without a browser the dashboard was not, and the test says
        // so (skipped, or failed where HOPE_REQUIRE_TOOLS lists chromium) instead of passing quietly.
        org.hopestreams.RequiredTools.assumeInstalled(org.hopestreams.RequiredTools.CHROMIUM, browserChecked,
                "the demo ran and stopped as it should, but its dashboard was not checked in a browser: "
                        + org.hopestreams.serve.DashboardBrowserTest.NOT_INSTALLED);
    }

    private static void deleteTree(java.nio.file.Path p) throws java.io.IOException {
        try (var walk = java.nio.file.Files.walk(p)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}

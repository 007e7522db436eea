package org.hopestreams.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code hope eval} on a JVM that cannot draw text (seen on a GPU machine's minimal image: the runtime's
 * {@code libfontmanager.so} could not load {@code libharfbuzz.so.0}, and the whole evaluation died at its
 * charts after every run had finished). The fault is real: a child JVM runs from a copy of this runtime whose
 * font library is missing. The results must still come out: the summary, report.md with every table and a
 * line saying why the charts are missing, and no chart cut off mid-file.
 */
class EvalWithoutFontsTest {

    @Test
    void theReportComesOutWithoutItsCharts(@TempDir Path dir) throws Exception {
        Path home = Path.of(System.getProperty("java.home"));
        assumeTrue(Files.isRegularFile(home.resolve("lib/libfontmanager.so"))
                && Files.isRegularFile(home.resolve("lib/server/libjvm.so"))
                && Files.isRegularFile(home.resolve("bin/java")), "a Linux JDK layout (bin/java, lib/server/libjvm.so)");
        Path jdk = runtimeWithoutFonts(home, dir.resolve("jdk"));

        EvalTexts.write(dir, "a.txt", "b.txt", "n.txt");
        Path out = dir.resolve("out");
        List<String> cmd = List.of(jdk.resolve("bin/java").toString(), "-Djava.awt.headless=true", "-Xmx1g",
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), HopeCli.class.getName(),
                "eval", "--quick", "--no-sweep", "--variants", "ppm", "--seeds", "1", "--pretrain-steps", "2",
                "--out", out.toString(), "--domains", dir.resolve("a.txt") + "," + dir.resolve("b.txt"),
                "--pretrain-text", dir.resolve("n.txt").toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "eval did not end");
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("plots skipped: this JVM cannot draw charts"), log);
        assertTrue(log.contains("report: "), log);
        String report = Files.readString(out.resolve("report.md"));
        assertTrue(report.contains("`ppm`"), report);
        assertTrue(report.contains("**Plots not drawn**"), report);
        try (Stream<Path> files = Files.list(out)) {
            assertFalse(files.anyMatch(f -> f.toString().endsWith(".png")), "no chart cut off mid-file");
        }
    }

    /**
     * A runtime that is {@code home} but for its font library: bin/java and lib/server/libjvm.so copied (the JVM
     * takes java.home from where libjvm.so lies), everything else linked, lib/libfontmanager.so left out.
     */
    private static Path runtimeWithoutFonts(Path home, Path to) throws Exception {
        Files.createDirectories(to.resolve("bin"));
        Files.createDirectories(to.resolve("lib/server"));
        Files.copy(home.resolve("bin/java"), to.resolve("bin/java"));
        Files.copy(home.resolve("lib/server/libjvm.so"), to.resolve("lib/server/libjvm.so"));
        try (Stream<Path> top = Files.list(home)) {
            for (Path e : top.toList()) {
                String n = e.getFileName().toString();
                if (!n.equals("bin") && !n.equals("lib")) {
                    Files.createSymbolicLink(to.resolve(n), e);
                }
            }
        }
        try (Stream<Path> lib = Files.list(home.resolve("lib"))) {
            for (Path e : lib.toList()) {
                String n = e.getFileName().toString();
                if (!n.equals("server") && !n.equals("libfontmanager.so")) {
                    Files.createSymbolicLink(to.resolve("lib").resolve(n), e);
                }
            }
        }
        try (Stream<Path> server = Files.list(home.resolve("lib/server"))) {
            for (Path e : server.toList()) {
                if (!e.getFileName().toString().equals("libjvm.so")) {
                    Files.createSymbolicLink(to.resolve("lib/server").resolve(e.getFileName()), e);
                }
            }
        }
        return to;
    }
}

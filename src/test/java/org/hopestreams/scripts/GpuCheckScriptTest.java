package org.hopestreams.scripts;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The parts of {@code scripts/gpu-check.sh} and {@code scripts/gpu-bundle.sh} that run without a GPU: argument
 * handling, the summary table on canned bench output, and the bundle mode's refusals. The GPU steps themselves
 * are run by hand on a GPU machine (README, GPU).
 */
class GpuCheckScriptTest {

    private record Result(int code, String out) {
    }

    private static Result run(String script, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", script));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "script did not end");
        return new Result(p.exitValue(), out);
    }

    @Test
    void dryRunParsesTheCannedBenchIntoTheSummaryTable() throws Exception {
        Result r = run("scripts/gpu-check.sh", "--dry-run", "--presets", "tiny", "--batch-records", "1,4");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("tiny        1          12,345          45,678      20.74"), r.out());
        assertTrue(r.out().contains("tiny        4          40,001               -       6.40"), r.out());
        assertTrue(r.out().contains("crash    not run (dry run)"), r.out());
    }

    @Test
    void badArgumentsExitWithTwoAndNameTheProblem() throws Exception {
        Result r = run("scripts/gpu-check.sh", "--batch-records", "1,x");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("--batch-records '1,x'"), r.out());
        r = run("scripts/gpu-check.sh", "--bogus");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("unknown argument '--bogus'"), r.out());
        r = run("scripts/gpu-check.sh", "--device", "tpu");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("--device 'tpu': expected gpu or cpu"), r.out());
    }

    @Test
    void bundleModeRefusesAFolderThatIsNoBundle(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("app"));
        Result r = run("scripts/gpu-check.sh", "--device", "cpu", "--bundle", dir.toString());
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("no app/hope-streams.jar"), r.out());
    }

    @Test
    void bundleScriptNeedsTheDjlSources() throws Exception {
        Result r = run("scripts/gpu-bundle.sh");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("--djl-src DIR is required"), r.out());
        r = run("scripts/gpu-bundle.sh", "--djl-src", "/nonexistent-djl");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("has no tag v"), r.out());
    }
}

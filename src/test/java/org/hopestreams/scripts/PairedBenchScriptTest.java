package org.hopestreams.scripts;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code scripts/paired-bench.sh} on commands that print canned rates: the pinning (each command sees one core, the
 * cores swapped every round), the medians and ratio, and the refusals. The measurements it is for are README
 * "Speed", "Measuring a change".
 */
class PairedBenchScriptTest {

    private record Result(int code, String out) {
    }

    private static Result run(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", "scripts/paired-bench.sh"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "script did not end");
        return new Result(p.exitValue(), out);
    }

    private static void assumeTwoCoresAndTaskset() throws Exception {
        assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "needs 2 cores");
        Process p = new ProcessBuilder("bash", "-c", "command -v taskset").start();
        assumeTrue(p.waitFor() == 0, "needs taskset");
    }

    @Test
    void printsEachRoundBothMediansAndTheRatio() throws Exception {
        assumeTwoCoresAndTaskset();
        Result r = run("--rounds", "3", "echo '{\"learn_bytes_per_s\": 300.0}'",
                "echo '\"learn_bytes_per_s\": 100'");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("round 1: A (core 0) 300.0  B (core 1) 100 bytes/s"), r.out());
        assertTrue(r.out().contains("round 2: A (core 1) 300.0  B (core 0) 100 bytes/s"), r.out());
        assertTrue(r.out().contains("A median 300 (300 - 300), B median 100 (100 - 100) bytes/s; A / B median 3.000,"
                + " per round 3.000 - 3.000"), r.out());
    }

    @Test
    void eachCommandIsPinnedToOneCore() throws Exception {
        assumeTwoCoresAndTaskset();
        // A command prints a rate only when the cores it may run on are exactly one, the one the round gives it.
        Result r = run("--rounds", "2",
                "taskset -pc $$ | grep -qE ': [01]$' && echo '\"learn_bytes_per_s\": 2'",
                "taskset -pc $$ | grep -qE ': [01]$' && echo '\"learn_bytes_per_s\": 1'");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("A / B median 2.000"), r.out());
    }

    @Test
    void aCommandThatFailsOrPrintsNoRateStopsTheRunAndSaysWhich() throws Exception {
        assumeTwoCoresAndTaskset();
        Result r = run("--rounds", "2", "echo boom; exit 3", "echo '\"learn_bytes_per_s\": 1'");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.out().contains("round 1: command A failed (exit 3)"), r.out());
        assertTrue(r.out().contains("boom"), r.out());
        r = run("--rounds", "1", "echo '\"learn_bytes_per_s\": 1'", "echo no rate here");
        assertEquals(1, r.code(), r.out());
        assertTrue(r.out().contains("round 1: command B failed (exit 0) or printed no learn_bytes_per_s"), r.out());
    }

    @Test
    void badArgumentsExitWithTwo() throws Exception {
        Result r = run("only-one-command");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("usage:"), r.out());
        r = run("--rounds", "x", "a", "b");
        assertEquals(2, r.code(), r.out());
        assertTrue(r.out().contains("--rounds must be a positive whole number, got 'x'"), r.out());
    }
}

package org.hopestreams.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The commands end to end, as a user runs them (tiny preset, small inputs). */
class CommandsTest {
    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        try (PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setOut(ps);
            var cl = HopeCli.commandLine();
            cl.setErr(new PrintWriter(err, true));
            int code = cl.execute(args);
            return new Run(code, buf.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(old);
        }
    }

    static Path repetitiveText(Path dir) throws Exception {
        Path text = dir.resolve("facts.txt");
        Files.writeString(text, "the capital of zorbia is quelt. the code of mira is k3x9pq. ".repeat(120));
        return text;
    }

    @Test
    void learnSavesAndCompleteReadsTheCheckpoint(@TempDir Path dir) throws Exception {
        Path text = repetitiveText(dir);
        Path ckpt = dir.resolve("model.ckpt");
        Run learn = run("learn", "--text", text.toString(), "--preset", "tiny", "--record-bytes", "64",
                "--checkpoint-records", "32", "--warmup", "20", "--save", ckpt.toString(), "--no-progress");
        assertEquals(0, learn.code(), learn.err());
        Matcher m = Pattern.compile("prequential ([0-9.]+) bits/byte").matcher(learn.out());
        assertTrue(m.find(), learn.out());
        assertTrue(Double.parseDouble(m.group(1)) < 4.0, "a repetitive text is learned: " + learn.out());
        assertTrue(learn.out().contains("saved " + ckpt), learn.out());
        assertTrue(learn.out().lines().filter(l -> l.trim().matches("^\\d+ .*")).count() >= 3,
                "one row per LOW period: " + learn.out());

        Run complete = run("complete", "--from", ckpt.toString(), "--prompt", "the capital of zorbia is ",
                "--max-bytes", "5");
        assertEquals(0, complete.code(), complete.err());
        assertTrue(complete.out().startsWith("the capital of zorbia is quelt"), complete.out());

        Run resumed = run("learn", "--text", text.toString(), "--from", ckpt.toString(), "--record-bytes", "64",
                "--max-records", "4", "--no-progress");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("warm-up 20"), "the checkpoint's settings win: " + resumed.out());
    }

    @Test
    void pretrainWritesACheckpointThatLearnStartsFrom(@TempDir Path dir) throws Exception {
        Path text = repetitiveText(dir);
        Path ckpt = dir.resolve("base.ckpt");
        Run pre = run("pretrain", "--text", text.toString(), "--steps", "60", "--batch", "4", "--window", "64",
                "--preset", "tiny", "--out", ckpt.toString());
        assertEquals(0, pre.code(), pre.err());
        Matcher m = Pattern.compile("step +50 +([0-9.]+) bits/byte").matcher(pre.out());
        assertTrue(m.find(), pre.out());
        assertTrue(Double.parseDouble(m.group(1)) < 7.5, pre.out());
        Run learn = run("learn", "--text", text.toString(), "--from", ckpt.toString(), "--record-bytes", "64",
                "--max-records", "8", "--no-progress");
        assertEquals(0, learn.code(), learn.err());
        assertTrue(learn.out().contains("warm-up 0"), learn.out());
    }

    @Test
    void benchReportsRatesAndTheRoofline() {
        Run bench = run("bench", "--presets", "tiny", "--records", "4", "--warmup-seconds", "0");
        assertEquals(0, bench.code(), bench.err());
        assertTrue(bench.out().contains("GFLOP/s"), bench.out());
        assertTrue(Pattern.compile("tiny +37,926 +16 +[0-9,]+ +[0-9,]+").matcher(bench.out()).find(), bench.out());
        assertTrue(bench.out().contains("forward") && bench.out().contains("backward"), bench.out());
        // the B = 1 row again in the reference's format (hope_ref.py bench), one JSON object
        String line = bench.out().lines().filter(l -> l.startsWith("reference-comparable ")).findFirst()
                .orElseThrow(() -> new AssertionError("no reference-comparable line:\n" + bench.out()));
        try {
            com.fasterxml.jackson.databind.JsonNode j = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(line.substring("reference-comparable ".length()));
            assertEquals("tiny", j.get("preset").asText(), line);
            assertEquals(16, j.get("chunk").asInt(), line);
            assertEquals(37_926, j.get("params").asLong(), line);
            assertTrue(j.get("learn_bytes_per_s").asDouble() > 0 && j.get("score_bytes_per_s").asDouble() > 0, line);
            assertTrue(j.get("train_flops_per_byte").asLong() > 0, line);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + line, e);
        }
    }

    /**
     * {@code bench --stream --batch-records 6}: batches of six keys' records through the real broker, registry
     * and topology; every record's LearningEvent arrives (else the bench fails), the input rounded up to whole
     * batches so none waits for its linger.
     */
    @Test
    void streamBenchLearnsInBatchesEndToEnd() {
        Run bench = run("bench", "--stream", "--presets", "tiny", "--records", "8", "--batch-records", "6",
                "--context", "off", "--commit-ms", "200");
        assertEquals(0, bench.code(), bench.out() + bench.err());
        assertTrue(bench.out().contains("preset tiny, 13 records of 256 bytes, 6 keys, hope.batch.records 6"), bench.out());
        assertTrue(Pattern.compile("end to end +[0-9,]+ bytes/s").matcher(bench.out()).find(), bench.out());
        assertTrue(bench.out().contains("between batches"), bench.out());
    }

    @Test
    void badArgumentsGetClearErrors(@TempDir Path dir) throws Exception {
        Run missing = run("learn", "--text", dir.resolve("nope.txt").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("cannot read --text"), missing.err());
        Run preset = run("learn", "--text", repetitiveText(dir).toString(), "--preset", "huge");
        assertEquals(2, preset.code());
        assertTrue(preset.err().contains("unknown preset 'huge'"), preset.err());
        Path bad = dir.resolve("bad.ckpt");
        Files.write(bad, "not a checkpoint at all".getBytes(StandardCharsets.UTF_8));
        Run ckpt = run("complete", "--from", bad.toString(), "--prompt", "x");
        assertEquals(2, ckpt.code());
        assertTrue(ckpt.err().contains(bad.toString()), ckpt.err());
        Run device = run("bench", "--device", "tpu", "--presets", "tiny");
        assertEquals(2, device.code());
        assertTrue(device.err().contains("device 'tpu' is not one of auto, cpu, gpu"), device.err());
    }

    @Test
    void askingForAGpuWhereThereIsNoneExitsTwoAndSaysWhy() {
        org.junit.jupiter.api.Assumptions.assumeFalse(ai.djl.engine.Engine.getInstance().getGpuCount() > 0,
                "this machine has a GPU");
        Run gpu = run("bench", "--device", "gpu", "--presets", "tiny", "--records", "2");
        assertEquals(2, gpu.code(), gpu.out());
        assertTrue(gpu.err().contains("requested but PyTorch sees no GPU"), gpu.err());
        assertTrue(gpu.err().contains("-Pgpu"), "says how to get one: " + gpu.err());
    }
}

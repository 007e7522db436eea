package org.hopestreams.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.hopestreams.learn.InMemoryFastStateStore;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HopeParameters;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code hope bench}: bytes learned per second for each preset (records of 256 bytes), the
 * machine's measured matrix-multiply rate, the model's FLOPs per byte, the ratio of the achieved
 * rate to that roofline, and where a learned record's time goes; with {@code --kan} and {@code --ticks},
 * the same for KAN levels and for extra ticks (one row per preset, KAN setting and T).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure bytes learned per second per preset against the machine's matmul roofline.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--presets", defaultValue = "tiny,small,base", split = ",", description = "Presets (default: ${DEFAULT-VALUE}).")
    List<String> presets;

    @Option(names = "--records", defaultValue = "60", description = "Timed records per preset (default: ${DEFAULT-VALUE}).")
    int records;

    @Option(names = "--warmup-seconds", defaultValue = "3", paramLabel = "S",
            description = "Each row first learns whole batches for at least S seconds, untimed, so that the JVM has "
                    + "compiled the learner's code (JIT compilation on a small host otherwise competes with the "
                    + "engine's threads); at least one batch of at least 5 records (default: ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--record-bytes", defaultValue = "256", description = "Bytes per record (default: ${DEFAULT-VALUE}).")
    int recordBytes;

    @Option(names = "--context", defaultValue = LearnerConfig.DEFAULT_CONTEXT_MODE, paramLabel = "MODE",
            description = "Exact-context level: mix, off, ppm-mix, ppm-key, ppm-global (default: ${DEFAULT-VALUE}).")
    String context;

    @Option(names = "--chunk", defaultValue = "16", description = "Memory chunk length b (default: ${DEFAULT-VALUE}).")
    int chunk;

    @Option(names = "--batch-records", defaultValue = "1,4,8,16,32", split = ",", paramLabel = "B",
            description = "Batch sizes to sweep: B records of B distinct keys learned in one forward and backward "
                    + "(hope.batch.records; default: ${DEFAULT-VALUE}).")
    List<Integer> batchRecords;

    @Option(names = "--kan", defaultValue = HopeConfig.KAN_NONE, split = ",", paramLabel = "LEVELS",
            description = "CMS levels that are KAN, one row each: none, low, all (default: ${DEFAULT-VALUE}).")
    List<String> kan;

    @Option(names = "--kan-grid", defaultValue = "" + HopeConfig.DEFAULT_KAN_GRID, paramLabel = "G",
            description = "Grid intervals of the KAN levels' splines (default: ${DEFAULT-VALUE}).")
    int kanGrid;

    @Option(names = "--ticks", defaultValue = "0", split = ",", paramLabel = "T",
            description = "Most extra ticks per record, one row each (default: ${DEFAULT-VALUE}).")
    List<Integer> ticks;

    @Option(names = "--ticks-threshold", defaultValue = "0", paramLabel = "BPB",
            description = "Bits per byte above which a record ticks (default: ${DEFAULT-VALUE}: every record may, "
                    + "the cost's upper end; ticks per record is printed).")
    double ticksThreshold;

    @Option(names = "--text", paramLabel = "FILE", description = "Text to learn (default: generated English-like text).")
    Path text;

    @Option(names = "--stream", description = "End to end: the first preset through a real in-JVM broker, registry "
            + "and the full topology, beside its model-only rate; one run per --batch-records size (e.g. --batch-records 1,16).")
    boolean stream;

    @Option(names = "--shards", defaultValue = "0", paramLabel = "P",
            description = "With --stream: one model across shards, what a round costs: the input on P partitions learned "
                    + "with hope.shards.enabled off and on (a LOW checkpoint every --checkpoint-ms of stream time); "
                    + "bytes/s both ways, bytes and ms per round.")
    int shards;

    @Option(names = "--restore", description = "Restore time: the first preset learns --records records through the "
            + "in-JVM broker (one partition), stops, loses its state directory and starts again; prints the time to "
            + "the first record learned and the model changelog replayed against one model version.")
    boolean restore;

    @Option(names = "--checkpoint-ms", defaultValue = "5000", description = "With --restore or --shards: a LOW version per this "
            + "much stream time (records are 100 ms apart; default: ${DEFAULT-VALUE}).")
    long checkpointMs;

    @Option(names = "--commit-ms", defaultValue = "1000", description = "With --stream or --restore: "
            + "commit.interval.ms (default: ${DEFAULT-VALUE}).")
    long commitMs;

    @Option(names = "--repartition", defaultValue = "true", negatable = true, fallbackValue = "true",
            description = "With --stream: repartition by context key (default: ${DEFAULT-VALUE}).")
    boolean repartition;

    @Mixin
    EngineOptions engine;

    /** One JSON line per preset's B = 1 row, as the PyTorch reference's bench prints its runs. */
    private final List<String> comparable = new java.util.ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (warmupSeconds < 0) {
            throw new IllegalArgumentException("--warmup-seconds " + warmupSeconds + " must be >= 0");
        }
        Device device = engine.apply();
        byte[] data = text == null ? generatedText((records + 10) * recordBytes) : Files.readAllBytes(text);
        if (data.length < (records + 5L) * recordBytes) {
            throw new IllegalArgumentException("--text has " + data.length + " bytes, the bench needs "
                    + (records + 5L) * recordBytes);
        }
        if (restore) {
            RestoreBench.run(presets.get(0), records, recordBytes, data, device, commitMs, context, checkpointMs);
            return 0;
        }
        if (stream && shards > 0) {
            ShardBench.run(presets.get(0), records, recordBytes, data, device, commitMs, context, shards, checkpointMs);
            return 0;
        }
        if (stream) {
            for (int batch : batchRecords) {
                StreamBench.run(presets.get(0), records, recordBytes, data, device, commitMs, repartition, context, batch);
            }
            return 0;
        }
        double gflops = matmulGflops(device);
        System.out.printf("device %s, %s threads, allocator %s, math kernels %s; matmul roofline %.1f GFLOP/s (best of "
                + "256x128@128x512, 256x512@512x128, 512x512@512x512)%n", device,
                engine.threads == 0 ? "default" : engine.threads, org.hopestreams.model.EngineEnvironment.allocator(),
                org.hopestreams.model.EngineEnvironment.mathKernels(), gflops);
        System.out.printf("%-18s %10s %5s %4s %14s %14s %10s %8s %9s %12s %9s  %s%n", "model", "params", "b", "B",
                "learn bytes/s", "score bytes/s", "ms/record", "speedup", "ticks/rec", "MFLOP/byte", "roofline",
                "time per record (ms)");
        for (String preset : presets) {
            for (String levels : kan) {
                for (int t : ticks) {
                    double[] single = {0};
                    for (int batch : batchRecords) {
                        if (batch < 1) {
                            throw new IllegalArgumentException("--batch-records " + batch + " must be >= 1");
                        }
                        row(preset, levels, t, batch, data, device, gflops, single);
                    }
                }
            }
        }
        for (String line : comparable) {
            // the same keys as an entry of hope_ref.py bench's "runs" (one key's records one at a time, B = 1);
            // comparable to the reference with --context off (the reference has no exact-context level)
            System.out.println("reference-comparable " + line);
        }
        System.out.println("B: records of B distinct keys per forward and backward (hope.batch.records); speedup "
                + "against the preset's first B; time per record: the batch's phases divided by its records; each row "
                + "warmed up for at least " + warmupSeconds + " s before it was timed");
        System.out.println("roofline = (learn bytes/s x FLOP/byte) / matmul GFLOP/s; FLOP/byte = 3 x forward, "
                + "forward = 2 x multiply-adds (projections, CMS, head, memory reads/writes, conv; a KAN level counts its "
                + "base and spline weights, not the B-spline bases; ticks not counted)");
        return 0;
    }

    /**
     * One row: the preset with KAN levels {@code levels}, up to {@code t} ticks per record, records learned in
     * batches of {@code batch} distinct keys; {@code single} holds the rate of the model's first B (the speedup's base).
     */
    private void row(String preset, String levels, int t, int batch, byte[] data, Device device, double gflops,
                     double[] single) throws com.fasterxml.jackson.core.JsonProcessingException {
        HopeConfig c = HopeConfig.preset(preset).withChunk(chunk).withKan(levels, kanGrid);
        String name = preset + (levels.equals(HopeConfig.KAN_NONE) ? "" : "+kan-" + levels) + (t == 0 ? "" : "+ticks" + t);
        LearnerConfig lc = LearnerConfig.defaults().withWarmup(0).withContextMode(context)
                .withTicks(t, ticksThreshold, LearnerConfig.DEFAULT_TICKS_MIN_GAIN);
        try (Learner l = Learner.create(c, lc, 0, new InMemoryFastStateStore(), device)) {
            int n = Math.max(records, batch) / batch * batch;   // whole batches
            int[] next = {0};
            // warm: at least one batch of at least 5 records, and at least --warmup-seconds (JIT compilation)
            long warmUntil = System.nanoTime() + (long) (warmupSeconds * 1e9);
            do {
                learnBatch(l, data, batch, Math.max(5, batch), next);
            } while (System.nanoTime() < warmUntil);
            Map<String, Double> before = l.phaseSeconds();
            long ticks0 = l.ticksTaken();
            long t0 = System.nanoTime();
            learnBatch(l, data, batch, n, next);
            double learnSecs = (System.nanoTime() - t0) / 1e9;
            double ticksPerRecord = (double) (l.ticksTaken() - ticks0) / n;
            double scoreBps = Double.NaN;      // measured on the sweep's first B only
            if (single[0] == 0) {
                long t1 = System.nanoTime();
                for (int i = 0; i < Math.min(n, records); i++) {
                    l.score("k" + i % batch, record(data, i + 5));
                }
                scoreBps = Math.min(n, records) * (double) recordBytes / ((System.nanoTime() - t1) / 1e9);
            }
            String scoreRate = Double.isNaN(scoreBps) ? "" : String.format("%,.0f", scoreBps);
            double bytes = (double) n * recordBytes;
            double flops = flopsPerByte(c);
            double achieved = bytes / learnSecs * flops / 1e9;
            if (single[0] == 0) {
                single[0] = bytes / learnSecs;
            }
            StringBuilder phases = new StringBuilder();
            l.phaseSeconds().forEach((k, v) -> phases.append(String.format("%s %.1f  ", k,
                    (v - before.get(k)) * 1000 / n)));
            if (batch == 1 && levels.equals(HopeConfig.KAN_NONE) && t == 0) {
                Map<String, Object> run = new java.util.LinkedHashMap<>();
                run.put("preset", preset);
                run.put("chunk", chunk);
                run.put("params", HopeParameters.count(c, null));
                run.put("learn_bytes_per_s", Math.round(bytes / learnSecs * 10) / 10.0);
                run.put("ms_per_record", Math.round(learnSecs * 1000 / n * 100) / 100.0);
                run.put("score_bytes_per_s", Double.isNaN(scoreBps) ? null : Math.round(scoreBps * 10) / 10.0);
                run.put("train_flops_per_byte", (long) flops);
                run.put("achieved_GFLOPs", Math.round(achieved * 1000) / 1000.0);
                run.put("context", context);
                run.put("threads", engine.threads == 0 ? "default" : engine.threads);
                comparable.add(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(run));
            }
            System.out.printf("%-18s %,10d %5d %4d %,14.0f %14s %10.2f %7.2fx %9.2f %12.2f %8.1f%%  %s%n", name,
                    HopeParameters.count(c, null), chunk, batch, bytes / learnSecs, scoreRate, learnSecs * 1000 / n,
                    bytes / learnSecs / single[0], ticksPerRecord, flops / 1e6, 100 * achieved / gflops,
                    phases.toString().trim());
        }
    }

    /** Learns {@code n} records in batches of {@code batch} distinct keys, records taken in turn from the data. */
    private void learnBatch(Learner l, byte[] data, int batch, int n, int[] next) {
        int per = data.length / recordBytes;
        for (int done = 0; done < n; done += batch) {
            List<Learner.BatchItem> items = new java.util.ArrayList<>(batch);
            for (int r = 0; r < batch && done + r < n; r++) {
                int i = next[0]++;
                items.add(new Learner.BatchItem("k" + r, record(data, i % per), i));
            }
            if (items.size() == 1) {
                l.learn(items.get(0).key(), items.get(0).bytes(), items.get(0).streamTimeMs());
            } else {
                l.learnBatch(items);
            }
        }
    }

    private byte[] record(byte[] data, int i) {
        return java.util.Arrays.copyOfRange(data, i * recordBytes, (i + 1) * recordBytes);
    }

    /**
     * Training FLOPs per byte, 3 × forward with forward = 2 × multiply-adds (the reference's
     * accounting): projections q, k, v, gates, Wo, CMS MLPs, the tied head, the memory's reads,
     * writes and intra-chunk terms, and the conv.
     */
    static double flopsPerByte(HopeConfig c) {
        double d = c.d();
        double h = c.heads();
        double dh = c.dHead();
        double b = c.chunk();
        double cms = 0;
        for (int l = 0; l < c.cmsLevels(); l++) {
            cms += c.kanLevel(l) ? 2 * d * c.kanHidden() * (c.kanGrid() + 4) : 2 * d * c.hidden();
        }
        double mm = c.blocks() * (3 * d * h * dh + 3 * h * d + h * dh * d + cms) + HopeConfig.VOCAB * d;
        double mem = c.memory() ? c.blocks() * h * (2 * dh * dh + dh * dh + dh * dh + 2 * b * dh / 2 + dh * dh / b * 2) : 0;
        double conv = c.blocks() * c.convK() * d;
        return 3 * (2 * (mm + mem) + conv);
    }

    /** Best measured matrix-multiply rate in GFLOP/s over three shapes. */
    static double matmulGflops(Device device) {
        long[][] shapes = {{256, 128, 512}, {256, 512, 128}, {512, 512, 512}};
        double best = 0;
        try (NDManager m = NDManager.newBaseManager(device)) {
            for (long[] s : shapes) {
                NDArray a = m.randomNormal(new Shape(s[0], s[1]), DataType.FLOAT32);
                NDArray bm = m.randomNormal(new Shape(s[1], s[2]), DataType.FLOAT32);
                for (int i = 0; i < 20; i++) {
                    try (NDArray r = a.matMul(bm)) {
                        r.getFloat(0, 0);
                    }
                }
                int reps = 200;
                long t = System.nanoTime();
                for (int i = 0; i < reps; i++) {
                    try (NDArray r = a.matMul(bm)) {
                        if (i == reps - 1) {
                            r.getFloat(0, 0);
                        }
                    }
                }
                double secs = (System.nanoTime() - t) / 1e9;
                best = Math.max(best, 2.0 * s[0] * s[1] * s[2] * reps / secs / 1e9);
            }
        }
        return best;
    }

    /** Deterministic English-like text: sentences of common words. */
    static byte[] generatedText(int bytes) {
        String[] words = ("the of and to in is was that for it with as on be at by this had not are but from or have "
                + "an they which one you were her all she there would their we him been has when who will more no if "
                + "out so said what up its about into than them can only other new some could time these two may then "
                + "do first any my now such like our over man me even most made after also did many before must "
                + "through back years where much your way well down should because each just those people how too "
                + "little state good very make world still own see men work long get here between both life being "
                + "under never day same another know while last might us great old year off come since against go").split(" ");
        SplittableRandom r = new SplittableRandom(42);
        StringBuilder sb = new StringBuilder(bytes + 64);
        while (sb.length() < bytes) {
            int n = 5 + r.nextInt(12);
            for (int i = 0; i < n; i++) {
                String w = words[r.nextInt(words.length)];
                sb.append(i == 0 ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : w);
                sb.append(i == n - 1 ? ". " : " ");
            }
        }
        return sb.substring(0, bytes).getBytes(StandardCharsets.US_ASCII);
    }
}

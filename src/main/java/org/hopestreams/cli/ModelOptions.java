package org.hopestreams.cli;

import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.model.HopeConfig;
import picocli.CommandLine.Option;

/** Model shape and learning rates for commands that start a new model. */
final class ModelOptions {
    @Option(names = "--preset", defaultValue = "small", paramLabel = "tiny|small|base",
            description = "Model size (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--chunk", paramLabel = "B", description = "Memory chunk length b (default: the preset's, 16).")
    Integer chunk;

    @Option(names = "--memory", defaultValue = "true", paramLabel = "true|false", arity = "1",
            description = "Titans memory on, or the conv path alone (default: ${DEFAULT-VALUE}).")
    boolean memory;

    @Option(names = "--self-modifying", description = "k and v from per-key fast memories (HOPE §8).")
    boolean selfModifying;

    @Option(names = "--kan", defaultValue = HopeConfig.KAN_NONE, paramLabel = "none|low|all",
            description = "CMS levels that are KAN layer pairs instead of MLPs (docs/kan-ticks.md; default: ${DEFAULT-VALUE}).")
    String kan;

    @Option(names = "--kan-grid", defaultValue = "" + HopeConfig.DEFAULT_KAN_GRID, paramLabel = "G",
            description = "Grid intervals of the KAN levels' splines (default: ${DEFAULT-VALUE}).")
    int kanGrid;

    @Option(names = "--ticks", defaultValue = "0", paramLabel = "T",
            description = "Most extra ticks on a surprising record (0 = off; default: ${DEFAULT-VALUE}).")
    int ticks;

    @Option(names = "--ticks-threshold", defaultValue = "" + LearnerConfig.DEFAULT_TICKS_THRESHOLD, paramLabel = "BPB",
            description = "Bits per byte above which a record takes ticks (default: ${DEFAULT-VALUE}).")
    double ticksThreshold;

    @Option(names = "--ticks-min-gain", defaultValue = "" + LearnerConfig.DEFAULT_TICKS_MIN_GAIN, paramLabel = "BPB",
            description = "Bits per byte a tick's loss must fall for another to follow (default: ${DEFAULT-VALUE}).")
    double ticksMinGain;

    @Option(names = "--seed", defaultValue = "0", description = "Initialisation seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--lr", defaultValue = "3e-3", description = "AdamW rate of HIGH, and of MID/LOW unless given (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--lr-mid", description = "AdamW rate of MID.")
    Double lrMid;

    @Option(names = "--lr-low", description = "AdamW rate of LOW.")
    Double lrLow;

    @Option(names = "--window-records", defaultValue = "16", description = "MID window in records (default: ${DEFAULT-VALUE}).")
    int windowRecords;

    @Option(names = "--warmup", defaultValue = "400",
            description = "Records during which every level steps every record (default: ${DEFAULT-VALUE}; 0 from a pretrained checkpoint).")
    int warmup;

    @Option(names = "--context", defaultValue = LearnerConfig.DEFAULT_CONTEXT_MODE, paramLabel = "MODE",
            description = "Exact-context level: mix, off, ppm-mix, ppm-key, ppm-global (default: ${DEFAULT-VALUE}).")
    String context;

    @Option(names = "--context-overflow", defaultValue = LearnerConfig.DEFAULT_CONTEXT_OVERFLOW, paramLabel = "POLICY",
            description = "What a full context model does: prune, clear or prune-global (global prunes, keys clear) (default: ${DEFAULT-VALUE}).")
    String contextOverflow;

    @Option(names = "--max-record-bytes", defaultValue = "65536", description = "Hard cap on a record (default: ${DEFAULT-VALUE}).")
    int maxRecordBytes;

    HopeConfig hopeConfig() {
        HopeConfig c = HopeConfig.preset(preset).withMemory(memory).withSelfModifying(selfModifying).withKan(kan, kanGrid);
        return chunk == null ? c : c.withChunk(chunk);
    }

    LearnerConfig learnerConfig() {
        return LearnerConfig.defaults().withContextMode(context).withContextOverflow(contextOverflow)
                .withRates(lr, lrMid == null ? lr : lrMid, lrLow == null ? lr : lrLow)
                .withWindow(windowRecords, 0).withWarmup(warmup).withMaxRecordBytes(maxRecordBytes)
                .withTicks(ticks, ticksThreshold, ticksMinGain);
    }
}

package org.hopestreams.stream;

import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.store.StateSnapshot;

import java.util.Map;

/**
 * What the configuration given at start does to a stored model (the stores' or {@link
 * HopeStreamsConfig#MODEL_INIT}'s): the learning rates, the MID windows and the LOW checkpoint period
 * in force are the configured ones, so an operator can change them by restarting; the model's shape
 * stays with the stored model, whose weights only fit that shape, and an explicitly configured
 * {@link HopeStreamsConfig#MODEL_PRESET} or {@link HopeStreamsConfig#MODEL_KAN} that differs is an error
 * rather than a silent choice. Ticks are a learner setting: the configured ones apply.
 */
final class StartSettings {
    private StartSettings() {
    }

    /** Fails when the configuration names a preset or KAN levels other than the stored model's. */
    static void checkShape(StateSnapshot stored, HopeStreamsConfig config, String where) {
        checkShape(stored.meta().get("model.preset"), config, HopeStreamsConfig.MODEL_PRESET, where);
        // absent in models stored before KAN levels existed, and in models without them
        checkShape(stored.meta().getOrDefault("model.kan", HopeConfig.KAN_NONE), config, HopeStreamsConfig.MODEL_KAN, where);
    }

    private static void checkShape(String stored, HopeStreamsConfig config, String key, String where) {
        Object given = config.originals().get(key);
        if (given != null && !given.toString().equals(stored)) {
            throw new IllegalStateException(key + " is '" + given + "' but the model in " + where + " is '" + stored
                    + "': a model's shape cannot change; give '" + stored
                    + "' or leave the key out (or start a new application id for a new model)");
        }
    }

    /**
     * The stored learner settings with the configured windows and checkpoint period, and the rates
     * that were given explicitly: a rate left out keeps the stored one, which for a pretrained
     * checkpoint is pretraining's final rate (rate continuity, docs/eval.md).
     */
    static LearnerConfig apply(LearnerConfig stored, HopeStreamsConfig config) {
        LearnerConfig given = config.learnerConfig();
        return stored.withRates(rate(stored.lrHigh(), config, HopeStreamsConfig.LR_HIGH),
                        rate(stored.lrMid(), config, HopeStreamsConfig.LR_MID),
                        rate(stored.lrLow(), config, HopeStreamsConfig.LR_LOW))
                .withContextOf(given)
                .withTicksOf(given)
                .withWindow(given.windowRecords(), given.windowMillis())
                .withCheckpointMillis(given.checkpointMillis());
    }

    private static double rate(double stored, HopeStreamsConfig config, String key) {
        return config.originals().containsKey(key) ? config.getDouble(key) : stored;
    }

    /** "key old → new" for every setting that changes; empty when none does. */
    static String changes(LearnerConfig before, LearnerConfig after) {
        StringBuilder sb = new StringBuilder();
        Map<String, String> a = after.toMap();
        before.toMap().forEach((k, v) -> {
            if (!v.equals(a.get(k))) {
                sb.append(sb.isEmpty() ? "" : ", ").append(k).append(' ').append(v).append(" -> ").append(a.get(k));
            }
        });
        return sb.toString();
    }
}

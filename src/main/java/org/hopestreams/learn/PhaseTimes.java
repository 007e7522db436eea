package org.hopestreams.learn;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a learner's time goes, phase by phase (for {@code bench}). Each phase reads a result back
 * to the host, so on a GPU the times are not hidden by asynchronous launches. Not thread-safe.
 */
final class PhaseTimes {
    enum Phase { FORWARD, BACKWARD, GRADIENTS, STATE, UPDATE, TICKS }

    private final long[] nanos = new long[Phase.values().length];
    private long last;

    void start() {
        last = System.nanoTime();
    }

    void lap(Phase phase) {
        long now = System.nanoTime();
        nanos[phase.ordinal()] += now - last;
        last = now;
    }

    Map<String, Double> seconds() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Phase p : Phase.values()) {
            out.put(p.name().toLowerCase(java.util.Locale.ROOT), nanos[p.ordinal()] / 1e9);
        }
        return out;
    }
}

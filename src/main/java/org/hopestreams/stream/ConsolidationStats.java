package org.hopestreams.stream;

import java.util.concurrent.atomic.LongAdder;

/**
 * Process-wide cost of one model across shards (read by {@code bench --stream --shards}): publications
 * (a task's delta: time to take it and chunk it, payload bytes), merges (the consolidator closing a
 * round: time to read, merge and chunk the deltas, the version's payload bytes) and adoptions (a task
 * taking a version's chunks and rebasing on it).
 */
public final class ConsolidationStats {
    public static final LongAdder PUBLISHES = new LongAdder();
    public static final LongAdder PUBLISH_NANOS = new LongAdder();
    public static final LongAdder PUBLISH_BYTES = new LongAdder();
    public static final LongAdder MERGES = new LongAdder();
    public static final LongAdder MERGE_NANOS = new LongAdder();
    public static final LongAdder MERGE_BYTES = new LongAdder();
    public static final LongAdder ADOPTIONS = new LongAdder();
    public static final LongAdder ADOPT_NANOS = new LongAdder();

    private ConsolidationStats() {
    }

    /** A copy: publishes, ns, bytes, merges, ns, bytes, adoptions, ns. */
    public static long[] snapshot() {
        return new long[] {PUBLISHES.sum(), PUBLISH_NANOS.sum(), PUBLISH_BYTES.sum(), MERGES.sum(), MERGE_NANOS.sum(),
                MERGE_BYTES.sum(), ADOPTIONS.sum(), ADOPT_NANOS.sum()};
    }
}

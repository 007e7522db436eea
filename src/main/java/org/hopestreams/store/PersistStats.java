package org.hopestreams.store;

import java.util.concurrent.atomic.LongAdder;

/**
 * Process-wide cost of persisting learner state: commit-time model writes and per-record fast-memory
 * writes (count, time spent encoding and putting into the store, bytes). Read by the benchmark
 * and the metrics.
 */
public final class PersistStats {
    public static final LongAdder MODEL_COMMITS = new LongAdder();
    public static final LongAdder MODEL_NANOS = new LongAdder();
    public static final LongAdder MODEL_BYTES = new LongAdder();
    /** Of MODEL_NANOS: copying the changed groups out of the live model (the rest is encoding and store puts). */
    public static final LongAdder MODEL_COPY_NANOS = new LongAdder();
    /** Of MODEL_NANOS: encoding the groups into chunks (the rest is the store puts: RocksDB and changelog). */
    public static final LongAdder MODEL_ENCODE_NANOS = new LongAdder();
    public static final LongAdder FAST_PUTS = new LongAdder();
    public static final LongAdder FAST_NANOS = new LongAdder();
    public static final LongAdder FAST_BYTES = new LongAdder();

    private PersistStats() {
    }

    /** A copy of the counters: model commits, ns, bytes, fast puts, ns, bytes, model copy ns, model encode ns. */
    public static long[] snapshot() {
        return new long[] {MODEL_COMMITS.sum(), MODEL_NANOS.sum(), MODEL_BYTES.sum(), FAST_PUTS.sum(),
                FAST_NANOS.sum(), FAST_BYTES.sum(), MODEL_COPY_NANOS.sum(), MODEL_ENCODE_NANOS.sum()};
    }
}

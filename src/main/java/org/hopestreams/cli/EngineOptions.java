package org.hopestreams.cli;

import ai.djl.Device;
import org.hopestreams.model.DeviceChoice;
import picocli.CommandLine.Option;

/** Where tensors run. Must be applied before the first tensor is made: threads are fixed at engine start. */
final class EngineOptions {
    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu",
            description = "Tensor device: auto takes a GPU when the CUDA build and a GPU are present (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
            description = "PyTorch intra-op threads; 0: for run, one when records are learned one at a time "
                    + "(hope.batch.records 1) and the cores shared among the stream threads otherwise; elsewhere the "
                    + "engine's default, one per core (default: ${DEFAULT-VALUE}).")
    int threads;

    Device apply() {
        applyThreads();
        return DeviceChoice.parse(device).resolve();
    }

    /** Sets the PyTorch thread counts (before the engine starts); the device is left to the caller. */
    void applyThreads() {
        if (threads < 0) {
            throw new IllegalArgumentException("--threads " + threads + " must be >= 0");
        }
        if (threads > 0) {
            set(threads);
        }
    }

    /**
     * As {@link #applyThreads()} for a stream of {@code streamThreads} learner threads that learn batches of
     * {@code batchRecords}; {@code --threads 0} then takes {@link #autoThreads}.
     *
     * @return the intra-op threads set, and why
     */
    String applyThreadsForStream(int batchRecords, int streamThreads) {
        applyThreads();
        if (threads > 0) {
            return threads + " (--threads)";
        }
        int cores = Runtime.getRuntime().availableProcessors();
        int n = autoThreads(batchRecords, streamThreads, cores);
        set(n);
        return n + " (auto: hope.batch.records " + batchRecords + ", " + streamThreads + " stream thread"
                + (streamThreads == 1 ? "" : "s") + ", " + cores + " cores)";
    }

    /**
     * Intra-op threads for learners: one when records are learned one at a time (a record's arrays are too small
     * to split across threads: {@code small} at B = 1 learned 7,700-8,400 bytes/s on one thread and 7,150-7,290
     * on two, once warm, and the second thread spins beside the stream's own threads), else the cores shared
     * among the stream threads (B = 16: 21,300 bytes/s on two threads against 14,300 on one). README "Engine
     * threads".
     */
    static int autoThreads(int batchRecords, int streamThreads, int cores) {
        if (batchRecords <= 1) {
            return 1;
        }
        return Math.max(1, cores / Math.max(1, streamThreads));
    }

    private static void set(int n) {
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(n));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    }
}

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
            description = "PyTorch intra-op threads; 0 keeps the engine's default, one per core (default: ${DEFAULT-VALUE}).")
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
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
    }
}

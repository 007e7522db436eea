package org.hopestreams.model;

import ai.djl.Device;
import ai.djl.engine.Engine;

import java.util.Locale;

/** The tensor device setting: {@code auto} takes the first GPU when one is usable, else the CPU. */
public enum DeviceChoice {
    AUTO, CPU, GPU;

    public static DeviceChoice parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("device '" + s + "' is not one of auto, cpu, gpu", e);
        }
    }

    /**
     * The device to use; {@code gpu} without a usable GPU is an error, not a silent fallback. Starts the
     * engine, after warning once about known-bad thread settings in the environment, tuning the C allocator and
     * letting MKL choose its kernels by the CPU's features ({@link EngineEnvironment}).
     */
    public Device resolve() {
        EngineEnvironment.warnOnce();
        EngineEnvironment.tuneAllocatorOnce();
        int gpus = Engine.getEngine("PyTorch").getGpuCount();
        EngineEnvironment.tuneMathKernelsOnce();
        return switch (this) {
            case CPU -> Device.cpu();
            case AUTO -> gpus > 0 ? Device.gpu() : Device.cpu();
            case GPU -> {
                if (gpus == 0) {
                    throw new IllegalStateException("device 'gpu' was requested but PyTorch sees no GPU: build with "
                            + "-Pgpu (CUDA 12.4 native) on a machine with an NVIDIA driver, or use auto/cpu");
                }
                yield Device.gpu();
            }
        };
    }
}

package org.hopestreams.stream;

/**
 * The tensor device of the tests that run the application in child processes ({@code -Dhope.test.device},
 * default {@code cpu}), and how closely two runs must agree. On the CPU the engine is deterministic, so a
 * disturbed run must end bit for bit where the uninterrupted one did (tolerance 0). GPU kernels are not
 * bit-exact from run to run (atomic adds in backward passes sum in any order), so on a GPU two runs may
 * differ by rounding that compounds over the steps: every stored float, bits per byte and surprise of a
 * record must then agree within {@code -Dhope.test.tolerance} (absolute, default {@value #GPU_TOLERANCE});
 * counters, checkpoints, keys and every non-float value must still be equal.
 */
final class TestDevice {
    static final String PROPERTY = "hope.test.device";
    static final String TOLERANCE_PROPERTY = "hope.test.tolerance";
    static final String GPU_TOLERANCE = "1e-3";

    private TestDevice() {
    }

    /** {@code cpu} (the default), {@code gpu} or {@code auto}: the value of {@link HopeStreamsConfig#DEVICE}. */
    static String device() {
        return System.getProperty(PROPERTY, "cpu");
    }

    /** Largest absolute difference allowed between two runs' floats: 0 on the CPU. */
    static double tolerance() {
        return Double.parseDouble(System.getProperty(TOLERANCE_PROPERTY, device().equals("cpu") ? "0" : GPU_TOLERANCE));
    }
}

package org.hopestreams.model;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Environment variables that make PyTorch's CPU threads (OpenMP, in the CPU native library) slow for this
 * learner, which makes hundreds of small engine calls per record: each parallel region is short, so how idle
 * threads wait and where they run matter more than arithmetic. Checked once per process, before the engine
 * starts ({@link DeviceChoice#resolve}); what is found is logged as one WARN line. The thread counts
 * themselves are set by {@code --threads} (system properties {@code ai.djl.pytorch.num_threads} and
 * {@code num_interop_threads}), which take precedence over {@code OMP_NUM_THREADS}. README "Engine threads".
 */
public final class EngineEnvironment {
    private static final Logger LOG = LoggerFactory.getLogger(EngineEnvironment.class);
    private static final AtomicBoolean CHECKED = new AtomicBoolean();

    private EngineEnvironment() {
    }

    /** Logs {@link #problems} of this process's environment once (later calls do nothing). */
    public static void warnOnce() {
        if (CHECKED.compareAndSet(false, true)) {
            List<String> found = problems(System.getenv(), Runtime.getRuntime().availableProcessors());
            if (!found.isEmpty()) {
                LOG.warn("engine threads: {}; unset them (README \"Engine threads\")", String.join("; ", found));
            }
        }
    }

    /** The known-bad settings in {@code env} on a machine of {@code cores} cores, each with why; empty if none. */
    public static List<String> problems(Map<String, String> env, int cores) {
        List<String> out = new ArrayList<>();
        String wait = value(env, "OMP_WAIT_POLICY");
        if (wait.equals("passive")) {
            out.add("OMP_WAIT_POLICY=PASSIVE puts idle OpenMP threads to sleep, so every small engine call waits for"
                    + " them to wake");
        }
        if (value(env, "GOMP_SPINCOUNT").equals("0")) {
            out.add("GOMP_SPINCOUNT=0 puts idle OpenMP threads to sleep at once (as OMP_WAIT_POLICY=PASSIVE)");
        }
        for (String name : List.of("OMP_NUM_THREADS", "MKL_NUM_THREADS")) {
            String v = value(env, name);
            if (!v.isEmpty() && threads(v) > cores) {
                out.add(name + "=" + env.get(name) + " asks for more threads than the " + cores
                        + " cores: they preempt one another");
            }
        }
        String bind = value(env, "OMP_PROC_BIND");
        if (!bind.isEmpty() && !bind.equals("false")) {
            out.add("OMP_PROC_BIND=" + env.get("OMP_PROC_BIND") + " pins threads to fixed cores: processes that each"
                    + " pin pile onto the same cores");
        }
        for (String name : List.of("GOMP_CPU_AFFINITY", "KMP_AFFINITY")) {
            if (!value(env, name).isEmpty()) {
                out.add(name + " pins threads to fixed cores: processes that each pin pile onto the same cores");
            }
        }
        return out;
    }

    private static String value(Map<String, String> env, String name) {
        String v = env.get(name);
        return v == null ? "" : v.trim().toLowerCase(Locale.ROOT);
    }

    /** The first count of an OpenMP thread list ("4" or "4,2"); 0 when it is not a number. */
    private static int threads(String v) {
        try {
            return Integer.parseInt(v.split(",")[0].trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}

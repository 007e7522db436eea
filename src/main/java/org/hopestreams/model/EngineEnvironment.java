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
    private static volatile String allocator;

    /** System property (or environment variable {@code HOPE_ENGINE_MALLOC}): {@code tuned} (default) or {@code system}. */
    public static final String MALLOC_PROPERTY = "hope.engine.malloc";
    /** glibc mallopt parameters (malloc.h). */
    private static final int M_TRIM_THRESHOLD = -1;
    private static final int M_MMAP_THRESHOLD = -3;
    /** The largest mmap threshold glibc accepts on 64-bit (HEAP_MAX_SIZE / 2). */
    private static final int MMAP_THRESHOLD = 32 << 20;
    private static final int TRIM_THRESHOLD = 1 << 30;

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

    /**
     * Tunes glibc's allocator for the engine's tensors, once per process (README "Engine allocator"): PyTorch's CPU
     * allocator takes every tensor from malloc and gives it back at once, and glibc serves a block over its mmap
     * threshold (128 KiB at first) with a fresh mmap, returned to the kernel on free, so every activation and
     * gradient of a record is page-faulted and zeroed anew (a batch of 16 records of {@code small}: an 8 MiB
     * elementwise product took 15 ms instead of well under one). Raising the mmap threshold to 32 MiB and the trim
     * threshold to 1 GiB keeps freed blocks in the process for the next record: measured on a 2-core host,
     * {@code small} learned 4,060-4,310 → 5,190-5,370 bytes/s at B = 1 and 4,100 → 8,480 at B = 16 (about the
     * same as tcmalloc). The cost: memory freed by the engine stays with the process (its peak, not its sum).
     * Skipped with {@code hope.engine.malloc=system}, where another allocator is preloaded
     * ({@code LD_PRELOAD}) or glibc's malloc is set by the environment ({@code GLIBC_TUNABLES}, {@code MALLOC_*_}),
     * and where the C library is not glibc.
     *
     * @return what was done, in words (also {@link #allocator()})
     */
    public static synchronized String tuneAllocatorOnce() {
        if (allocator == null) {
            allocator = tuneAllocator(System.getenv());
            LOG.debug("engine allocator: {}", allocator);
        }
        return allocator;
    }

    /** What {@link #tuneAllocatorOnce} did, or null before it ran. */
    public static String allocator() {
        return allocator;
    }

    static String tuneAllocator(Map<String, String> env) {
        String choice = System.getProperty(MALLOC_PROPERTY, env.getOrDefault("HOPE_ENGINE_MALLOC", "tuned"))
                .trim().toLowerCase(Locale.ROOT);
        if (choice.equals("system")) {
            return "system (" + MALLOC_PROPERTY + "=system)";
        }
        if (!choice.equals("tuned")) {
            throw new IllegalArgumentException(MALLOC_PROPERTY + " '" + choice + "' is not one of tuned, system");
        }
        String preload = env.getOrDefault("LD_PRELOAD", "");
        if (preload.contains("malloc")) {
            return "system (LD_PRELOAD=" + preload + ")";
        }
        String tunables = env.getOrDefault("GLIBC_TUNABLES", "");
        if (tunables.contains("malloc") || env.keySet().stream().anyMatch(k -> k.startsWith("MALLOC_") && k.endsWith("_"))) {
            return "system (glibc malloc set by the environment)";
        }
        try {
            com.sun.jna.NativeLibrary c = com.sun.jna.NativeLibrary.getInstance("c");
            c.getFunction("gnu_get_libc_version");      // glibc only: musl and others have no mallopt thresholds
            com.sun.jna.Function mallopt = c.getFunction("mallopt");
            int mmap = mallopt.invokeInt(new Object[] {M_MMAP_THRESHOLD, MMAP_THRESHOLD});
            int trim = mallopt.invokeInt(new Object[] {M_TRIM_THRESHOLD, TRIM_THRESHOLD});
            if (mmap != 1 || trim != 1) {
                return "system (glibc refused mallopt: mmap threshold " + mmap + ", trim threshold " + trim + ")";
            }
            return "tuned (glibc mmap threshold " + (MMAP_THRESHOLD >> 20) + " MiB, trim threshold "
                    + (TRIM_THRESHOLD >> 30) + " GiB)";
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return "system (not glibc: " + e.getMessage() + ")";
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
        if (value(env, "LD_PRELOAD").contains("jemalloc")) {
            out.add("LD_PRELOAD=" + env.get("LD_PRELOAD") + ": jemalloc with its default settings made batched learning"
                    + " slow here (small, B = 16: 1,520 bytes/s against 8,480 with glibc tuned; README \"Engine allocator\")");
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

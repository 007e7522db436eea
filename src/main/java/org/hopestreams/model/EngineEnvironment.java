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
    private static volatile String mathKernels;

    /** System property (or environment variable {@code HOPE_ENGINE_MKL}): {@code auto} (default) or {@code system}. */
    public static final String MKL_PROPERTY = "hope.engine.mkl";
    /** MKL's own answer to "is this a genuine Intel CPU", cached on first use (libtorch's statically linked MKL). */
    private static final String MKL_VENDOR_CHECK = "mkl_serv_intel_cpu_true";

    /** System property (or environment variable {@code HOPE_ENGINE_MALLOC}): {@code tuned} (default) or {@code system}. */
    public static final String MALLOC_PROPERTY = "hope.engine.malloc";
    /** glibc mallopt parameters (malloc.h). */
    private static final int M_TRIM_THRESHOLD = -1;
    private static final int M_TOP_PAD = -2;
    private static final int M_MMAP_THRESHOLD = -3;
    /** The largest mmap threshold glibc accepts on 64-bit (HEAP_MAX_SIZE / 2). */
    private static final int MMAP_THRESHOLD = 32 << 20;
    private static final int TRIM_THRESHOLD = 1 << 30;
    /**
     * Free space kept at the top of an arena. Threads other than the process's first (the JVM runs {@code main} and
     * every other Java thread there) allocate from glibc's per-thread arenas, made of 64 MiB heaps; glibc deletes a
     * heap whose memory is all free, and shrinks one, whenever the free space exceeds this pad (the trim threshold
     * does not apply there), so a batch's activations were unmapped after each batch and page-faulted anew in the
     * next. Twice the heap size keeps every heap.
     */
    private static final int TOP_PAD = 128 << 20;

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
     * threshold to 1 GiB keeps freed blocks in the process for the next record, and a top pad of 128 MiB keeps the
     * per-thread arenas' heaps (every Java thread's, {@link #TOP_PAD}): measured on a 2-core host,
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
        if (setting(env, MALLOC_PROPERTY, "HOPE_ENGINE_MALLOC", "tuned").equals("system")) {
            return "system (" + MALLOC_PROPERTY + "=system)";
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
            int pad = mallopt.invokeInt(new Object[] {M_TOP_PAD, TOP_PAD});
            if (mmap != 1 || trim != 1 || pad != 1) {
                return "system (glibc refused mallopt: mmap threshold " + mmap + ", trim threshold " + trim
                        + ", top pad " + pad + ")";
            }
            return "tuned (glibc mmap threshold " + (MMAP_THRESHOLD >> 20) + " MiB, trim threshold "
                    + (TRIM_THRESHOLD >> 30) + " GiB, top pad " + (TOP_PAD >> 20) + " MiB)";
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return "system (not glibc: " + e.getMessage() + ")";
        }
    }

    /**
     * Lets MKL (linked into PyTorch's CPU library; it does the engine's matrix products) choose its kernels by what
     * the CPU can do instead of who made it, once per process, before the first product (README "Engine math
     * kernels"). MKL runs its optimised code paths only on CPUs that say "GenuineIntel"; on an AMD CPU it takes a
     * generic path: on this project's AMD EPYC hosts (AVX-512) a 256×128 by 128×512 product took 380-410 µs instead
     * of 176 µs, and {@code bench}'s matmul roofline read 169 instead of 398 GFLOP/s (2 threads). MKL asks once,
     * through {@code mkl_serv_intel_cpu_true}, and keeps the answer in a word of its own data, initially -1 (not
     * asked yet); this writes 1 there, as the common {@code LD_PRELOAD} workaround (a library whose
     * {@code mkl_serv_intel_cpu_true} returns 1) does. MKL then picks among its Intel code paths by the CPU's feature
     * flags (AVX2, AVX-512…), so a CPU only runs instructions it has. Done only where all of these hold: Linux on
     * x86-64, a CPU that is not GenuineIntel, the function's first instructions exactly as in the PyTorch build this
     * project pins (load the cached word, test it, return it when set), and MKL not asked yet (so one process never
     * mixes two kernel families). Skipped with {@code hope.engine.mkl=system} or where the user set MKL's own
     * dispatch ({@code MKL_CBWR}, {@code MKL_ENABLE_INSTRUCTIONS}, {@code MKL_DEBUG_CPU_TYPE}). Call after the engine
     * is loaded.
     *
     * @return what was done, in words (also {@link #mathKernels()})
     */
    public static synchronized String tuneMathKernelsOnce() {
        if (mathKernels == null) {
            mathKernels = tuneMathKernels(System.getenv(), cpuVendor());
            LOG.info("Engine: allocator {}; math kernels {}", allocator, mathKernels);
        }
        return mathKernels;
    }

    /** What {@link #tuneMathKernelsOnce} did, or null before it ran. */
    public static String mathKernels() {
        return mathKernels;
    }

    static String tuneMathKernels(Map<String, String> env, String vendor) {
        if (setting(env, MKL_PROPERTY, "HOPE_ENGINE_MKL", "auto").equals("system")) {
            return "MKL as built (" + MKL_PROPERTY + "=system)";
        }
        for (String name : List.of("MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE")) {
            if (env.containsKey(name)) {
                return "MKL as built (" + name + " set by the environment)";
            }
        }
        String arch = System.getProperty("os.arch", "");
        if (!System.getProperty("os.name", "").startsWith("Linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return "MKL as built (not Linux on x86-64)";
        }
        if (vendor.isEmpty() || vendor.equals("GenuineIntel")) {
            return "MKL as built (" + (vendor.isEmpty() ? "CPU vendor unknown" : "an Intel CPU") + ")";
        }
        try {
            com.sun.jna.Pointer word = mklVendorWord();
            if (word == null) {
                return "MKL as built (its vendor check was not recognised in this PyTorch build)";
            }
            int cached = word.getInt(0);
            if (cached != -1) {
                return "MKL as built (MKL had already chosen its kernels: vendor check " + cached + ")";
            }
            word.setInt(0, 1);
            return "MKL by CPU features (" + vendor + " CPU; MKL's vendor check set to pass)";
        } catch (UnsatisfiedLinkError | RuntimeException | java.io.IOException e) {
            return "MKL as built (" + e.getMessage() + ")";
        }
    }

    /**
     * MKL's cached vendor answer (-1 not asked yet, 0 not Intel, 1 Intel), or null where PyTorch's CPU library is
     * not loaded or its vendor check is not the expected code.
     */
    static Integer mklVendorCheck() throws java.io.IOException {
        com.sun.jna.Pointer word = mklVendorWord();
        return word == null ? null : word.getInt(0);
    }

    /**
     * The address of the word in which {@code mkl_serv_intel_cpu_true} caches its answer, read from the function's
     * first instructions: {@code mov eax, [rip + d]} (8B 05 d32), {@code test eax, eax} (85 C0), {@code js}
     * (78 01), {@code ret} (C3); the word is at the end of the first instruction plus d. Null where the CPU
     * library is not loaded, lacks the function, or starts otherwise.
     */
    private static com.sun.jna.Pointer mklVendorWord() throws java.io.IOException {
        String library = loadedLibrary("libtorch_cpu.so");
        if (library == null) {
            return null;
        }
        com.sun.jna.Pointer fn;
        try {
            fn = com.sun.jna.NativeLibrary.getInstance(library).getGlobalVariableAddress(MKL_VENDOR_CHECK);
        } catch (UnsatisfiedLinkError e) {
            return null;
        }
        byte[] code = fn.getByteArray(0, 11);
        int[] expect = {0x8B, 0x05, -1, -1, -1, -1, 0x85, 0xC0, 0x78, 0x01, 0xC3};
        for (int i = 0; i < expect.length; i++) {
            if (expect[i] >= 0 && (code[i] & 0xFF) != expect[i]) {
                return null;
            }
        }
        int displacement = java.nio.ByteBuffer.wrap(code, 2, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
        return fn.share(6L + displacement);
    }

    /** The path of a shared library this process has mapped whose file name is {@code name}, or null. */
    private static String loadedLibrary(String name) throws java.io.IOException {
        java.nio.file.Path maps = java.nio.file.Path.of("/proc/self/maps");
        if (!java.nio.file.Files.isReadable(maps)) {
            return null;
        }
        try (var lines = java.nio.file.Files.lines(maps)) {
            return lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
                    .filter(path -> path.endsWith("/" + name))
                    .findFirst().orElse(null);
        }
    }

    /** The CPU's vendor id ({@code vendor_id} of /proc/cpuinfo), or empty where unknown. */
    static String cpuVendor() {
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("vendor_id"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse("");
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return "";
        }
    }

    /**
     * An engine setting: the system property {@code property}, else the environment variable {@code variable}, else
     * {@code fallback}; one of {@code fallback} and {@code system}, whatever its case.
     */
    private static String setting(Map<String, String> env, String property, String variable, String fallback) {
        String choice = System.getProperty(property, env.getOrDefault(variable, fallback)).trim().toLowerCase(Locale.ROOT);
        if (!choice.equals(fallback) && !choice.equals("system")) {
            throw new IllegalArgumentException(property + " '" + choice + "' is not one of " + fallback + ", system");
        }
        return choice;
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

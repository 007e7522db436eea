package org.hopestreams.model;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class EngineEnvironmentTest {
    @Test
    void aCleanEnvironmentAndHarmlessSettingsAreNotReported() {
        assertEquals(List.of(), EngineEnvironment.problems(Map.of(), 2));
        assertEquals(List.of(), EngineEnvironment.problems(Map.of("OMP_WAIT_POLICY", "active", "OMP_NUM_THREADS", "2",
                "OMP_PROC_BIND", "false", "PATH", "/usr/bin"), 2));
    }

    @Test
    void passiveWaitingIsReportedWhateverItsCase() {
        List<String> found = EngineEnvironment.problems(Map.of("OMP_WAIT_POLICY", "PASSIVE"), 2);
        assertEquals(1, found.size(), found.toString());
        assertTrue(found.get(0).startsWith("OMP_WAIT_POLICY=PASSIVE"), found.get(0));
        assertEquals(1, EngineEnvironment.problems(Map.of("OMP_WAIT_POLICY", " passive "), 2).size());
        assertEquals(1, EngineEnvironment.problems(Map.of("GOMP_SPINCOUNT", "0"), 2).size());
    }

    @Test
    void moreThreadsThanCoresAndPinningAreReported() {
        List<String> found = EngineEnvironment.problems(Map.of("OMP_NUM_THREADS", "8,2", "MKL_NUM_THREADS", "3",
                "OMP_PROC_BIND", "close", "GOMP_CPU_AFFINITY", "0-1"), 2);
        assertEquals(4, found.size(), found.toString());
        assertTrue(found.get(0).contains("OMP_NUM_THREADS=8,2") && found.get(0).contains("2 cores"), found.get(0));
        assertTrue(found.get(2).startsWith("OMP_PROC_BIND=close pins"), found.get(2));
    }

    @Test
    void jemallocPreloadedIsReported() {
        List<String> found = EngineEnvironment.problems(Map.of("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"), 2);
        assertEquals(1, found.size(), found.toString());
        assertTrue(found.get(0).contains("jemalloc"), found.get(0));
        assertEquals(List.of(), EngineEnvironment.problems(Map.of("LD_PRELOAD", "libtcmalloc_minimal.so.4"), 2));
    }

    @Test
    void anAllocatorChosenByTheUserIsLeftAlone() {
        assertTrue(EngineEnvironment.tuneAllocator(Map.of("LD_PRELOAD", "/usr/lib/libtcmalloc_minimal.so.4"))
                .startsWith("system (LD_PRELOAD="));
        assertTrue(EngineEnvironment.tuneAllocator(Map.of("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=4194304"))
                .startsWith("system (glibc malloc set by the environment"));
        assertTrue(EngineEnvironment.tuneAllocator(Map.of("MALLOC_ARENA_MAX_", "2"))
                .startsWith("system (glibc malloc set by the environment"));
        assertTrue(EngineEnvironment.tuneAllocator(Map.of("HOPE_ENGINE_MALLOC", "system")).startsWith("system ("));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EngineEnvironment.tuneAllocator(Map.of("HOPE_ENGINE_MALLOC", "fast")));
        assertTrue(e.getMessage().contains("'fast' is not one of tuned, system"), e.getMessage());
    }

    /** glibc's mallinfo2: how much of the heap is in mmapped blocks (hblkhd). */
    public static class MallInfo2 extends com.sun.jna.Structure implements com.sun.jna.Structure.ByValue {
        public long arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;

        @Override
        protected List<String> getFieldOrder() {
            return List.of("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                    "keepcost");
        }
    }

    /** Tunes the allocator and returns glibc's mallinfo2 (the test is skipped where there is none). */
    private static com.sun.jna.Function tunedWithMallinfo2(com.sun.jna.NativeLibrary c) {
        com.sun.jna.Function mallinfo2 = null;
        try {
            mallinfo2 = c.getFunction("mallinfo2");
        } catch (UnsatisfiedLinkError e) {
            assumeTrue(false, "not glibc 2.33 or later: " + e.getMessage());
        }
        String done = EngineEnvironment.tuneAllocator(Map.of());
        assertTrue(done.startsWith("tuned"), done);
        return mallinfo2;
    }

    /**
     * Tuned, a block of the size of a batch's activations (16 MiB) comes from the heap, not from a fresh mmap that
     * free() hands back to the kernel (the page faults that made batched learning slow).
     */
    @Test
    void tunedGlibcServesLargeBlocksFromTheHeap() {
        com.sun.jna.NativeLibrary c = com.sun.jna.NativeLibrary.getInstance("c");
        com.sun.jna.Function mallinfo2 = tunedWithMallinfo2(c);
        com.sun.jna.Function malloc = c.getFunction("malloc");
        com.sun.jna.Function free = c.getFunction("free");
        long size = 16L << 20;
        MallInfo2 before = (MallInfo2) mallinfo2.invoke(MallInfo2.class, new Object[0]);
        com.sun.jna.Pointer block = (com.sun.jna.Pointer) malloc.invoke(com.sun.jna.Pointer.class, new Object[] {size});
        MallInfo2 during = (MallInfo2) mallinfo2.invoke(MallInfo2.class, new Object[0]);
        free.invoke(Void.class, new Object[] {block});
        assertTrue(during.hblkhd - before.hblkhd < size, "mmapped bytes grew by " + (during.hblkhd - before.hblkhd));
    }

    /**
     * Tuned, memory that a Java thread (a per-thread glibc arena of 64 MiB heaps) frees stays with the arena for the
     * next batch: without the top pad glibc deleted the heap once all of it was free, and the next batch
     * page-faulted it anew.
     */
    @Test
    void tunedGlibcKeepsAJavaThreadsFreedHeaps() throws Exception {
        com.sun.jna.NativeLibrary c = com.sun.jna.NativeLibrary.getInstance("c");
        com.sun.jna.Function mallinfo2 = tunedWithMallinfo2(c);
        com.sun.jna.Function malloc = c.getFunction("malloc");
        com.sun.jna.Function free = c.getFunction("free");
        long[] arena = new long[3];
        Thread t = new Thread(() -> {          // a fresh Java thread: not the process's first, so not glibc's main arena
            java.util.List<com.sun.jna.Pointer> blocks = new java.util.ArrayList<>();
            arena[0] = ((MallInfo2) mallinfo2.invoke(MallInfo2.class, new Object[0])).arena;
            for (int i = 0; i < 40; i++) {      // 160 MiB: more than two 64 MiB heaps
                com.sun.jna.Pointer b = (com.sun.jna.Pointer) malloc.invoke(com.sun.jna.Pointer.class,
                        new Object[] {4L << 20});
                b.setMemory(0, 4L << 20, (byte) 1);
                blocks.add(b);
            }
            arena[1] = ((MallInfo2) mallinfo2.invoke(MallInfo2.class, new Object[0])).arena;
            for (int i = blocks.size() - 1; i >= 0; i--) {
                free.invoke(Void.class, new Object[] {blocks.get(i)});
            }
            arena[2] = ((MallInfo2) mallinfo2.invoke(MallInfo2.class, new Object[0])).arena;
        });
        t.start();
        t.join();
        long grown = arena[1] - arena[0];
        long kept = arena[2] - arena[0];
        assertTrue(grown >= 150L << 20, "the arena grew by " + (grown >> 20) + " MiB");
        assertTrue(kept >= grown - (16L << 20), "after free the arena kept " + (kept >> 20) + " of " + (grown >> 20)
                + " MiB");
    }
}

package org.hopestreams.stream;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fault injection for the crash tests: with {@code -Dhope.crash.at=<point>:<n>} the process kills
 * itself with SIGKILL the n-th time it reaches {@code point}: record, window-close, checkpoint,
 * commit, and for one model across shards publish (a delta half sent), merge (a global version
 * half sent by the consolidator) and adopt (a version taken into the slow levels, its state not yet
 * written). Several points, comma-separated, each count on their own. Without the property (always,
 * outside the crash tests) a call is one string check.
 */
public final class CrashPoints {
    public static final String PROPERTY = "hope.crash.at";
    private static final String SPEC = System.getProperty(PROPERTY, "");
    private static final ConcurrentHashMap<String, AtomicInteger> HITS = new ConcurrentHashMap<>();

    private CrashPoints() {
    }

    public static void hit(String point) {
        if (SPEC.isEmpty() || !SPEC.contains(point + ":")) {
            return;
        }
        int n = -1;
        for (String one : SPEC.split(",")) {
            if (one.strip().startsWith(point + ":")) {
                n = Integer.parseInt(one.strip().substring(point.length() + 1));
            }
        }
        if (HITS.computeIfAbsent(point, p -> new AtomicInteger()).incrementAndGet() == n) {
            System.err.println("hope.crash.at: SIGKILL at " + point + " #" + n);
            try {
                new ProcessBuilder("kill", "-9", Long.toString(ProcessHandle.current().pid())).start().waitFor();
                Thread.sleep(10_000);
            } catch (Exception e) {
                Runtime.getRuntime().halt(137);
            }
            Runtime.getRuntime().halt(137);
        }
    }
}

package org.hopestreams.stream;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fault injection for the crash test: with {@code -Dhope.crash.at=<point>:<n>} the process kills
 * itself with SIGKILL the n-th time it reaches {@code point} (record, window-close, checkpoint,
 * commit). Without the property (always, outside the crash test) a call is one map lookup.
 */
public final class CrashPoints {
    public static final String PROPERTY = "hope.crash.at";
    private static final String SPEC = System.getProperty(PROPERTY, "");
    private static final ConcurrentHashMap<String, AtomicInteger> HITS = new ConcurrentHashMap<>();

    private CrashPoints() {
    }

    public static void hit(String point) {
        if (SPEC.isEmpty() || !SPEC.startsWith(point + ":")) {
            return;
        }
        int n = Integer.parseInt(SPEC.substring(point.length() + 1));
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

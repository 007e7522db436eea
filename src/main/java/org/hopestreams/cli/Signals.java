package org.hopestreams.cli;

import sun.misc.Signal;

/**
 * SIGINT (Ctrl-C) and SIGTERM handled as a request to stop, not as the start of JVM shutdown: the
 * command then closes what it runs in order and returns. (With shutdown hooks alone, every library's
 * hook runs at once; the in-JVM broker's temp-dir hook deletes its logs while it is still closing.)
 */
final class Signals {
    private Signals() {
    }

    static void onStop(Runnable action) {
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Signal.handle(new Signal(name), s -> action.run());
            } catch (IllegalArgumentException e) {
                // Signal not available here (or reserved by the JVM's -Xrs): shutdown hooks still stop the JVM.
            }
        }
    }
}

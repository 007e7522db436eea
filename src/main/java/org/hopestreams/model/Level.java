package org.hopestreams.model;

/**
 * The three parameter levels of the Continuum Memory System (ARCHITECTURE.md §1). The fast level,
 * the per-key Titans memory, is state rather than parameters and has no entry here.
 */
public enum Level {
    /** CMS level 1: one optimizer step per record. */
    HIGH,
    /** CMS level 2: one step per window, on the gradient summed over the window. */
    MID,
    /** CMS level 3 and everything outside the CMS (embeddings, projections, gates, conv, norms, M0). */
    LOW;

    /** The level of a parameter, from its name: {@code blocks.<i>.cms.<l>.…} is CMS level l. */
    public static Level ofParameter(String name) {
        String[] parts = name.split("\\.");
        for (int i = 0; i + 1 < parts.length; i++) {
            if (parts[i].equals("cms")) {
                return ofCmsLevel(Integer.parseInt(parts[i + 1]));
            }
        }
        return LOW;
    }

    /** The level that updates CMS level {@code l} (0 = HIGH, 1 = MID, 2 and above = LOW). */
    public static Level ofCmsLevel(int l) {
        return l == 0 ? HIGH : l == 1 ? MID : LOW;
    }
}

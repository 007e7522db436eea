package org.hopestreams.learn;

/**
 * The parts of a learner's state that change together, so that a store writes only what a record
 * or a step changed (ARCHITECTURE.md §3): every accepted record changes {@link #META},
 * {@link #HIGH} and the MID and LOW accumulators; a MID window close changes the MID weights; a LOW
 * consolidation the LOW weights. Fast states are per key and stored apart.
 */
public enum StateGroup {
    /** Both configurations, counters and clocks (not the rejected count: a rejected record changes nothing). */
    META,
    /** HIGH parameters, AdamW moments and accumulator. */
    HIGH,
    /** MID parameters and AdamW moments. */
    MID_WEIGHTS,
    /** MID gradient accumulator. */
    MID_ACC,
    /** LOW parameters and AdamW moments. */
    LOW_WEIGHTS,
    /** LOW gradient accumulator. */
    LOW_ACC,
    /** The exact-context level's global model and mixer (changes with every record when the level is on). */
    CONTEXT
}

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
    /**
     * The exact-context level's global model as a base: the whole model, written again only when the journal
     * would grow past a fraction of it or the model changed whole ({@link org.hopestreams.context.ContextJournal}).
     * A store written before journals holds the mixer here too.
     */
    CONTEXT,
    /**
     * The exact-context level's mixer and the journal of the global model's deltas since the base in
     * {@link #CONTEXT} (changes with every record when the level is on; written with every commit that learned).
     */
    CONTEXT_JOURNAL
}

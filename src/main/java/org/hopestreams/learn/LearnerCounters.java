package org.hopestreams.learn;

/** The learner's counters and clocks: all part of its checkpointed state. Not thread-safe. */
final class LearnerCounters {
    long records;
    long rejected;
    long version;
    /** Current stream-time window index; {@code Long.MIN_VALUE} before the first timed record. */
    long window = Long.MIN_VALUE;
    /** Current stream-time LOW period index; {@code Long.MIN_VALUE} before the first timed record. */
    long lowWindow = Long.MIN_VALUE;
    /** LOW consolidations taken (checkpoints, not warm-up steps). */
    long consolidations;
    /** Extra ticks taken on surprising records. */
    long ticks;
    final long[] steps = new long[3];
    final long[] adamSteps = new long[3];
    final long[] accumulated = new long[3];

    LearnerCounters copy() {
        LearnerCounters c = new LearnerCounters();
        c.records = records;
        c.rejected = rejected;
        c.version = version;
        c.window = window;
        c.lowWindow = lowWindow;
        c.consolidations = consolidations;
        c.ticks = ticks;
        System.arraycopy(steps, 0, c.steps, 0, 3);
        System.arraycopy(adamSteps, 0, c.adamSteps, 0, 3);
        System.arraycopy(accumulated, 0, c.accumulated, 0, 3);
        return c;
    }
}

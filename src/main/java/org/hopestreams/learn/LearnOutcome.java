package org.hopestreams.learn;

/**
 * What one record did to the learner.
 *
 * @param accepted      whether the record was learned; if not, nothing changed
 * @param reason        why it was rejected ({@code null} when accepted)
 * @param bytes         bytes in the record
 * @param bitsPerByte   prequential score: bits per byte before learning from this record (NaN if rejected)
 * @param surprise      mean memory residual norm per block, before clipping
 * @param levelSteps    optimizer steps taken so far by HIGH, MID, LOW
 * @param modelVersion  the LOW version (number of LOW steps)
 * @param tickBits      the network's bits per byte of the record at each extra tick it took (empty: none; see
 *                      {@link LearnerConfig#ticksMax})
 */
public record LearnOutcome(boolean accepted, String reason, int bytes, double bitsPerByte, double[] surprise,
                           long[] levelSteps, long modelVersion, double[] tickBits) {

    public LearnOutcome(boolean accepted, String reason, int bytes, double bitsPerByte, double[] surprise,
                        long[] levelSteps, long modelVersion) {
        this(accepted, reason, bytes, bitsPerByte, surprise, levelSteps, modelVersion, new double[0]);
    }

    /** Extra ticks the record took. */
    public int ticks() {
        return tickBits.length;
    }

    static LearnOutcome rejected(String reason, int bytes, long[] steps, long version) {
        return new LearnOutcome(false, reason, bytes, Double.NaN, new double[0], steps, version);
    }
}

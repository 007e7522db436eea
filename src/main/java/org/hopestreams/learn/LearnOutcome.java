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
 */
public record LearnOutcome(boolean accepted, String reason, int bytes, double bitsPerByte, double[] surprise,
                           long[] levelSteps, long modelVersion) {

    static LearnOutcome rejected(String reason, int bytes, long[] steps, long version) {
        return new LearnOutcome(false, reason, bytes, Double.NaN, new double[0], steps, version);
    }
}

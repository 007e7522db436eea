package org.hopestreams.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The metric functions on hand-made matrices and traces (bits per byte: lower is better). */
class EvalMetricsTest {
    // after segment 0 (learned A), 1 (B), 2 (C)
    static final double[][] R = {
            {2.0, 5.0, 6.0},
            {3.0, 2.5, 6.0},
            {3.5, 3.0, 2.0},
    };
    static final int[] ONCE = {0, 1, 2};

    @Test
    void finalAverageIsTheMeanOfTheLastRow() {
        assertEquals((3.5 + 3.0 + 2.0) / 3, EvalMetrics.finalAverage(R), 1e-12);
    }

    @Test
    void backwardTransferIsGemOnBits() {
        // j < T: A: 3.5 - 2.0 = 1.5; B: 3.0 - 2.5 = 0.5 -> mean 1.0 (positive = forgot)
        assertEquals(1.0, EvalMetrics.backwardTransfer(R, ONCE), 1e-12);
        // a model that got better on old domains has negative BWT
        double[][] better = {{2.0, 5.0}, {1.5, 2.0}};
        assertEquals(-0.5, EvalMetrics.backwardTransfer(better, new int[] {0, 1}), 1e-12);
        // revisits: the last training of each domain counts. Schedule A B A: A last at 2 (final) is left out; B at 1
        double[][] revisit = {{2.0, 5.0}, {3.0, 2.0}, {1.8, 2.6}};
        assertEquals(0.6, EvalMetrics.backwardTransfer(revisit, new int[] {0, 1, 0}), 1e-12);
        // only one segment: nothing to measure
        assertTrue(Double.isNaN(EvalMetrics.backwardTransfer(new double[][] {{1.0}}, new int[] {0})));
    }

    @Test
    void forgettingIsFinalMinusBestEarlier() {
        // A: best earlier 2.0, final 3.5 -> 1.5; B: best earlier 2.5 -> 0.5; C: earlier best 6.0, final 2.0 -> 0
        assertArrayEquals(new double[] {1.5, 0.5, 0.0}, EvalMetrics.forgetting(R), 1e-12);
    }

    @Test
    void recoveryCountsBytesUntilWithinFivePercentOfTheBest() {
        double[] bpb = {4.0, 3.0, 2.2, 2.0};
        int[] bytes = {100, 100, 100, 100};
        // window 1: best 2.0 -> threshold 2.1; reached at the 4th record (2.2 > 2.1)
        assertEquals(400, EvalMetrics.recoveryBytes(bpb, bytes, 2.0, 0.05, 1));
        // looser best: 2.2 <= 1.05 * 2.1 = 2.205 at the 3rd record
        assertEquals(300, EvalMetrics.recoveryBytes(bpb, bytes, 2.1, 0.05, 1));
        // running mean over 2 records: (2.2 + 2.0) / 2 = 2.1 <= 2.1 at the 4th
        assertEquals(400, EvalMetrics.recoveryBytes(bpb, bytes, 2.0, 0.05, 2));
        // never
        assertEquals(-1, EvalMetrics.recoveryBytes(bpb, bytes, 1.0, 0.05, 1));
        // already there at the first record
        assertEquals(100, EvalMetrics.recoveryBytes(bpb, bytes, 4.0, 0.05, 1));
        // best running mean over 2 records of a trace
        assertEquals(2.1, EvalMetrics.bestRunningMean(bpb, bytes, 2), 1e-12);
    }

    @Test
    void halfLifeInterpolatesBetweenDelays() {
        double[] d = {0, 10, 30};
        assertEquals(5.0, EvalMetrics.halfLife(d, new double[] {4, 0, 0}), 1e-12);
        // 4 -> 3 -> 1: half (2) between 10 and 30 at 10 + (3 - 2) / (3 - 1) * 20 = 20
        assertEquals(20.0, EvalMetrics.halfLife(d, new double[] {4, 3, 1}), 1e-12);
        assertEquals(Double.POSITIVE_INFINITY, EvalMetrics.halfLife(d, new double[] {4, 3, 2.5}));
        assertTrue(Double.isNaN(EvalMetrics.halfLife(d, new double[] {0, 0, 0})));
        assertTrue(Double.isNaN(EvalMetrics.halfLife(d, new double[] {1e-12, 0, 0})), "a rounding error is no gain");
        assertThrows(IllegalArgumentException.class, () -> EvalMetrics.halfLife(d, new double[] {1}));
    }

    @Test
    void confidenceIntervalUsesStudentT() {
        // mean 2, sd 1, n 3: half = 4.303 * 1 / sqrt(3)
        EvalMetrics.Ci ci = EvalMetrics.ci95(new double[] {1, 2, 3});
        assertEquals(2.0, ci.mean(), 1e-12);
        assertEquals(4.303 / Math.sqrt(3), ci.half(), 1e-9);
        assertEquals(3, ci.n());
        // n = 2: t = 12.706, sd = sqrt(2) -> half = 12.706 * sqrt(2) / sqrt(2)
        assertEquals(12.706, EvalMetrics.ci95(new double[] {1, 3}).half(), 1e-9);
        // large n tends to 1.96; non-finite values are left out
        assertEquals(1.96, EvalMetrics.tQuantile975(100), 0);
        EvalMetrics.Ci one = EvalMetrics.ci95(new double[] {5, Double.NaN, Double.POSITIVE_INFINITY});
        assertEquals(5.0, one.mean(), 0);
        assertTrue(Double.isNaN(one.half()));
        assertEquals("5.00", one.format("%.2f"));
        assertEquals("2.00 ± 2.48", ci.format("%.2f"));
    }
}

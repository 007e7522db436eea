package org.hopestreams.context;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MixerTest {
    /** Random log-distributions, one row per input. */
    private static double[][] inputs(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[][] lp = new double[n][256];
        for (double[] row : lp) {
            double sum = 0;
            for (int b = 0; b < 256; b++) {
                row[b] = Math.exp(3 * r.nextDouble());
                sum += row[b];
            }
            for (int b = 0; b < 256; b++) {
                row[b] = Math.log(row[b] / sum);
            }
        }
        return lp;
    }

    private static double codeLength(Mixer m, double[][] lp, int set, int y) {
        double[] p = new double[256];
        m.mix(lp, set, p);
        return -Math.log(p[y]);
    }

    @Test
    void gradientMatchesCentralFiniteDifferencesInDoublePrecision() {
        double[][] lp = inputs(3, 7);
        double[] w = {0.7, -0.2, 1.3, 0.1, 0.2, 0.3};
        Mixer m = Mixer.of(2, 0.01, w);
        double[] p = new double[256];
        m.mix(lp, 1, p);
        double[] g = m.gradient(lp, p, 42);
        double h = 1e-6;
        for (int i = 0; i < 3; i++) {
            double[] plus = w.clone();
            double[] minus = w.clone();
            plus[3 + i] += h;
            minus[3 + i] -= h;
            double fd = (codeLength(Mixer.of(2, 0.01, plus), lp, 1, 42) - codeLength(Mixer.of(2, 0.01, minus), lp, 1, 42))
                    / (2 * h);
            assertEquals(fd, g[i], 1e-7 * Math.max(1, Math.abs(fd)), "weight " + i);
        }
    }

    @Test
    void twoAddedSetsMixAsTheirSumAndTheGradientOfEitherSetMatchesFiniteDifferences() {
        double[][] lp = inputs(3, 11);
        double[] w = {0.7, -0.2, 1.3, 0.1, 0.2, 0.3, -0.4, 0.5, 0.25};
        Mixer m = Mixer.of(3, 0.01, w);
        double[] pair = new double[256];
        m.mix(lp, 0, 2, pair);
        double[] sum = new double[256];
        Mixer.of(1, 0.01, new double[] {0.7 - 0.4, -0.2 + 0.5, 1.3 + 0.25}).mix(lp, 0, sum);
        for (int b = 0; b < 256; b++) {
            assertEquals(sum[b], pair[b], 1e-15, "byte " + b);
        }
        double[] g = m.gradient(lp, pair, 42);
        double h = 1e-6;
        for (int set : new int[] {0, 2}) {
            for (int i = 0; i < 3; i++) {
                double[] plus = w.clone();
                double[] minus = w.clone();
                plus[set * 3 + i] += h;
                minus[set * 3 + i] -= h;
                double fd = (pairCodeLength(Mixer.of(3, 0.01, plus), lp, 42) - pairCodeLength(Mixer.of(3, 0.01, minus), lp, 42))
                        / (2 * h);
                assertEquals(fd, g[i], 1e-7 * Math.max(1, Math.abs(fd)), "set " + set + " weight " + i);
            }
        }
        // a step moves both sets by the same amount and leaves the third alone
        m.learn(lp, 0, 2, pair, 42);
        double[] after = m.weights();
        for (int i = 0; i < 3; i++) {
            assertEquals(w[i] - 0.01 * g[i], after[i], 1e-15);
            assertEquals(w[3 + i], after[3 + i], 0.0);
            assertEquals(w[6 + i] - 0.01 * g[i], after[6 + i], 1e-15);
        }
        assertThrows(IllegalArgumentException.class, () -> m.mix(lp, 1, 1, pair), "a set added to itself");
        assertThrows(IllegalArgumentException.class, () -> m.mix(lp, 1, 3, pair));
    }

    private static double pairCodeLength(Mixer m, double[][] lp, int y) {
        double[] p = new double[256];
        m.mix(lp, 0, 2, p);
        return -Math.log(p[y]);
    }

    @Test
    void oneHotWeightsReproduceAnInputAndLearningFindsTheBetterOne() {
        double[][] lp = inputs(2, 3);
        Mixer pick = Mixer.of(1, 0, new double[] {1, 0});
        double[] p = new double[256];
        pick.mix(lp, 0, p);
        for (int b = 0; b < 256; b++) {
            assertEquals(Math.exp(lp[0][b]), p[b], 1e-12);
        }
        // Input 1 puts most of its mass on the bytes that occur; the mixer learns to trust it.
        SplittableRandom r = new SplittableRandom(5);
        Mixer m = new Mixer(1, 0.02, new double[] {0.5, 0.5});
        double[][] x = new double[2][256];
        for (int b = 0; b < 256; b++) {
            x[0][b] = Math.log(1.0 / 256);
            x[1][b] = Math.log(b < 4 ? 0.2425 : 0.03 / 252);
        }
        double first = 0;
        double last = 0;
        for (int i = 0; i < 2000; i++) {
            int y = r.nextInt(4);
            m.mix(x, 0, p);
            double bits = -Math.log(p[y]) / Math.log(2);
            first += i < 100 ? bits : 0;
            last += i >= 1900 ? bits : 0;
            m.learn(x, 0, p, y);
        }
        assertTrue(last < first, "code length falls as the mixer learns: " + first + " -> " + last);
        assertTrue(m.weights()[1] > m.weights()[0]);
    }

    @Test
    void badShapesAreRefused() {
        Mixer m = new Mixer(4, 0.01, new double[] {0.5, 0.5});
        assertThrows(IllegalArgumentException.class, () -> m.mix(inputs(3, 1), 0, new double[256]));
        assertThrows(IllegalArgumentException.class, () -> m.mix(inputs(2, 1), 4, new double[256]));
        assertThrows(IllegalArgumentException.class, () -> Mixer.of(2, 0.01, new double[] {Double.NaN, 1}));
    }
}

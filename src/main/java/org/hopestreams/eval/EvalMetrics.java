package org.hopestreams.eval;

import java.util.Arrays;

/**
 * Continual-learning metrics on scores in bits per byte (lower is better).
 *
 * <p>{@code r[i][j]}: held-out bits per byte of domain j after segment i (i = 0..S-1, rows after
 * each segment; the score before any learning is not a row here); {@code schedule[i]}: the domain
 * learned in segment i.
 */
public final class EvalMetrics {
    private static final double[] T975 = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
            2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060,
            2.056, 2.052, 2.048, 2.045, 2.042};

    /** Bits below which a gain counts as nothing (rounding of a difference of two scores). */
    public static final double NOTHING = 1e-6;

    private EvalMetrics() {
    }

    /** Mean of the final row: the final average held-out bits per byte. */
    public static double finalAverage(double[][] r) {
        return Arrays.stream(r[r.length - 1]).average().orElse(Double.NaN);
    }

    /** The last segment that learned domain j, or -1. */
    public static int lastTrained(int[] schedule, int j, int before) {
        int last = -1;
        for (int i = 0; i < before; i++) {
            if (schedule[i] == j) {
                last = i;
            }
        }
        return last;
    }

    /**
     * Backward transfer as in GEM (Lopez-Paz and Ranzato 2017) on bits per byte: the mean over every
     * domain last learned before the final segment of R[T][j] − R[last(j)][j]. With bits per byte
     * a positive value means the later segments made those domains worse (forgetting); negative,
     * better. For a schedule learning each domain once (0, 1, ..., T) this is GEM's mean over j < T
     * of R[T][j] − R[j][j]. NaN when no domain qualifies.
     */
    public static double backwardTransfer(double[][] r, int[] schedule) {
        int t = r.length - 1;
        double sum = 0;
        int n = 0;
        for (int j = 0; j < r[t].length; j++) {
            int last = lastTrained(schedule, j, t + 1);
            if (last >= 0 && last < t) {
                sum += r[t][j] - r[last][j];
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /**
     * Forgetting of each domain (Chaudhry et al. 2018, on bits per byte): the final score minus the
     * best (lowest) score after any earlier segment, final − min over i &lt; T of R[i][j]; ≥ 0, 0 when
     * the final score is the best so far. NaN for one row.
     */
    public static double[] forgetting(double[][] r) {
        int t = r.length - 1;
        double[] f = new double[r[t].length];
        for (int j = 0; j < f.length; j++) {
            double best = Double.POSITIVE_INFINITY;
            for (int i = 0; i < t; i++) {
                best = Math.min(best, r[i][j]);
            }
            f[j] = t == 0 ? Double.NaN : Math.max(0, r[t][j] - best);
        }
        return f;
    }

    /**
     * Bytes of a returning domain's second visit until its prequential score is back within
     * {@code tol} (0.05 = 5 %) of its previous best: the running mean over the last {@code window}
     * records (fewer at the start) must reach (1 + tol) · previousBest. Returns the bytes learned
     * up to and including that record, or -1 if it never does.
     */
    public static long recoveryBytes(double[] bpb, int[] bytes, double previousBest, double tol, int window) {
        long total = 0;
        for (int i = 0; i < bpb.length; i++) {
            total += bytes[i];
            int from = Math.max(0, i - window + 1);
            double bits = 0;
            long n = 0;
            for (int k = from; k <= i; k++) {
                bits += bpb[k] * bytes[k];
                n += bytes[k];
            }
            if (bits / n <= (1 + tol) * previousBest) {
                return total;
            }
        }
        return -1;
    }

    /** The best (lowest) running mean over {@code window} records of a prequential trace (NaN if empty). */
    public static double bestRunningMean(double[] bpb, int[] bytes, int window) {
        double best = Double.NaN;
        for (int i = 0; i < bpb.length; i++) {
            int from = Math.max(0, i - window + 1);
            if (i - from + 1 < Math.min(window, bpb.length)) {
                continue;
            }
            double bits = 0;
            long n = 0;
            for (int k = from; k <= i; k++) {
                bits += bpb[k] * bytes[k];
                n += bytes[k];
            }
            double m = bits / n;
            if (!(m >= best)) {
                best = m;
            }
        }
        return best;
    }

    /**
     * Retention half-life: the delay at which {@code values} (e.g. the bits of the answers saved by
     * learning, measured at ascending {@code delays}) first falls to half its value at the first
     * delay, interpolated linearly between the two measured delays around it. +Infinity if it never
     * does within the measured delays, NaN if the first value is not above {@link #NOTHING} (nothing
     * was learned: a difference of two equal scores can come out as a rounding error).
     */
    public static double halfLife(double[] delays, double[] values) {
        if (delays.length != values.length || delays.length == 0) {
            throw new IllegalArgumentException("half-life needs as many delays as values, at least one");
        }
        double base = values[0];
        if (!(base > NOTHING)) {
            return Double.NaN;
        }
        double half = base / 2;
        for (int i = 1; i < values.length; i++) {
            if (values[i] <= half) {
                double a = values[i - 1];
                double b = values[i];
                return delays[i - 1] + (a - half) / (a - b) * (delays[i] - delays[i - 1]);
            }
        }
        return Double.POSITIVE_INFINITY;
    }

    /** A mean with the half-width of its 95 % confidence interval (t-distribution, n − 1 degrees of freedom). */
    public record Ci(double mean, double half, int n) {
        public String format(String fmt) {
            if (Double.isNaN(mean)) {
                return "n/a";
            }
            return Double.isNaN(half) ? String.format(java.util.Locale.ROOT, fmt, mean)
                    : String.format(java.util.Locale.ROOT, fmt + " ± " + fmt.replace("+", ""), mean, half);
        }
    }

    /** Mean and 95 % t-interval half-width of the finite values (half NaN for fewer than two). */
    public static Ci ci95(double[] xs) {
        double[] x = Arrays.stream(xs).filter(Double::isFinite).toArray();
        int n = x.length;
        if (n == 0) {
            return new Ci(Double.NaN, Double.NaN, 0);
        }
        double mean = Arrays.stream(x).average().orElseThrow();
        if (n < 2) {
            return new Ci(mean, Double.NaN, n);
        }
        double ss = 0;
        for (double v : x) {
            ss += (v - mean) * (v - mean);
        }
        double sd = Math.sqrt(ss / (n - 1));
        return new Ci(mean, tQuantile975(n - 1) * sd / Math.sqrt(n), n);
    }

    /** The 0.975 quantile of Student's t with {@code df} degrees of freedom (table to 30, then 1.96). */
    public static double tQuantile975(int df) {
        if (df < 1) {
            throw new IllegalArgumentException("degrees of freedom " + df + " must be >= 1");
        }
        return df <= T975.length ? T975[df - 1] : 1.96;
    }
}

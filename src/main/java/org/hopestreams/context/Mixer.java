package org.hopestreams.context;

import java.util.Arrays;

/**
 * Geometric mixing of byte distributions, learned online (the 256-symbol form of PAQ's logistic
 * mixing): p(b) ∝ exp(Σ_i w_i · ln p_i(b)), with one weight vector per selector value (for example
 * how long a context matched), so the mix trusts an exact context where it has one and the network
 * where it has none. After each byte the weights of the selected set take one gradient step on the
 * byte's code length: ∂(−ln p(y))/∂w_i = Σ_b p(b) ln p_i(b) − ln p_i(y).
 *
 * <p>Not thread-safe; {@link #copy} for another owner.
 */
public final class Mixer {
    private final int inputs;
    private final int sets;
    private final double rate;
    private final double[] weights;
    /** Running mean of each weight's squared gradient (RMS-normalised steps), and steps taken per set. */
    private final double[] meanSquare;
    private final double[] steps;
    static final String RULE = System.getProperty("ctx.rule", "sgd");
    static final double BETA = 0.999;

    /** A mixer whose every set starts at {@code initial} (one weight per input). */
    public Mixer(int sets, double rate, double[] initial) {
        this(sets, rate, initial.length, tile(sets, initial), new double[sets * initial.length], new double[sets]);
    }

    private Mixer(int sets, double rate, int inputs, double[] weights, double[] meanSquare, double[] steps) {
        if (sets < 1 || inputs < 1 || !(rate >= 0) || weights.length != sets * inputs) {
            throw new IllegalArgumentException("mixer: " + sets + " sets of " + inputs + " inputs at rate " + rate
                    + " with " + weights.length + " weights, expected >= 1 set and input, rate >= 0, sets x inputs weights");
        }
        for (double w : weights) {
            if (!Double.isFinite(w)) {
                throw new IllegalArgumentException("mixer weight " + w + " is not finite");
            }
        }
        this.sets = sets;
        this.inputs = inputs;
        this.rate = rate;
        this.weights = weights;
        this.meanSquare = meanSquare;
        this.steps = steps;
    }

    private static double[] tile(int sets, double[] initial) {
        double[] w = new double[Math.multiplyExact(Math.max(sets, 0), initial.length)];
        for (int s = 0; s < sets; s++) {
            System.arraycopy(initial, 0, w, s * initial.length, initial.length);
        }
        return w;
    }

    /** A mixer with these weights (sets x inputs, set-major) and no step history. */
    public static Mixer of(int sets, double rate, double[] weights) {
        int inputs = weights.length / Math.max(sets, 1);
        return new Mixer(sets, rate, inputs, weights.clone(), new double[weights.length], new double[Math.max(sets, 0)]);
    }

    /** Everything the mixer learned, as {@link #restore} takes it: weights, then mean squares, then steps per set. */
    public double[] state() {
        double[] out = new double[weights.length * 2 + steps.length];
        System.arraycopy(weights, 0, out, 0, weights.length);
        System.arraycopy(meanSquare, 0, out, weights.length, weights.length);
        System.arraycopy(steps, 0, out, weights.length * 2, steps.length);
        return out;
    }

    /** The mixer of {@link #state()}. */
    public static Mixer restore(int sets, int inputs, double rate, double[] state) {
        int n = sets * inputs;
        if (state.length != 2 * n + sets) {
            throw new IllegalArgumentException("mixer state of " + state.length + " values, expected " + (2 * n + sets)
                    + " for " + sets + " sets of " + inputs + " inputs");
        }
        return new Mixer(sets, rate, inputs, java.util.Arrays.copyOfRange(state, 0, n),
                java.util.Arrays.copyOfRange(state, n, 2 * n), java.util.Arrays.copyOfRange(state, 2 * n, state.length));
    }

    public int inputs() {
        return inputs;
    }

    public int sets() {
        return sets;
    }

    /** All weights, set-major (a copy). */
    public double[] weights() {
        return weights.clone();
    }

    /**
     * The mixed distribution of {@code logProbs} (inputs x 256 natural-log probabilities) under the
     * weights of {@code set}, into {@code out}.
     */
    public void mix(double[][] logProbs, int set, double[] out) {
        check(logProbs, set);
        int base = set * inputs;
        double max = Double.NEGATIVE_INFINITY;
        for (int b = 0; b < 256; b++) {
            double z = 0;
            for (int i = 0; i < inputs; i++) {
                z += weights[base + i] * logProbs[i][b];
            }
            out[b] = z;
            max = Math.max(max, z);
        }
        double sum = 0;
        for (int b = 0; b < 256; b++) {
            out[b] = Math.exp(out[b] - max);
            sum += out[b];
        }
        for (int b = 0; b < 256; b++) {
            out[b] /= sum;
        }
    }

    /** The gradient of −ln mixed(y) with respect to the weights of the set (one per input). */
    public double[] gradient(double[][] logProbs, double[] mixed, int y) {
        double[] g = new double[inputs];
        for (int i = 0; i < inputs; i++) {
            double expected = 0;
            for (int b = 0; b < 256; b++) {
                expected += mixed[b] * logProbs[i][b];
            }
            g[i] = expected - logProbs[i][y];
        }
        return g;
    }

    /** One step on the code length of byte {@code y}, given the distribution {@link #mix} returned for it. */
    public void learn(double[][] logProbs, int set, double[] mixed, int y) {
        double[] g = gradient(logProbs, mixed, y);
        int base = set * inputs;
        if (RULE.equals("sgd")) {
            for (int i = 0; i < inputs; i++) {
                weights[base + i] -= rate * g[i];
            }
            return;
        }
        steps[set]++;
        double correction = 1 - Math.pow(BETA, steps[set]);
        for (int i = 0; i < inputs; i++) {
            meanSquare[base + i] = BETA * meanSquare[base + i] + (1 - BETA) * g[i] * g[i];
            weights[base + i] -= rate * g[i] / (Math.sqrt(meanSquare[base + i] / correction) + 1e-8);
        }
    }

    private void check(double[][] logProbs, int set) {
        if (set < 0 || set >= sets || logProbs.length != inputs) {
            throw new IllegalArgumentException("mixer of " + sets + " sets and " + inputs + " inputs asked for set "
                    + set + " with " + logProbs.length + " inputs");
        }
    }

    public Mixer copy() {
        return new Mixer(sets, rate, inputs, weights.clone(), meanSquare.clone(), steps.clone());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Mixer m && m.sets == sets && m.inputs == inputs && m.rate == rate
                && Arrays.equals(m.state(), state());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(weights);
    }
}

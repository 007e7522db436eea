package org.hopestreams.context;

import java.util.Arrays;

/**
 * Geometric mixing of byte distributions, learned online (the 256-symbol form of PAQ's logistic
 * mixing): p(b) ∝ exp(Σ_i w_i · ln p_i(b)), with one weight vector per selector value (for example
 * how long a context matched), so the mix trusts an exact context where it has one and the network
 * where it has none. After each byte the weights of the selected set take one gradient step on the
 * byte's code length: ∂(−ln p(y))/∂w_i = Σ_b p(b) ln p_i(b) − ln p_i(y). (Plain SGD: an
 * RMS-normalised step was measured and lost, docs/eval.md.)
 *
 * <p>Not thread-safe; {@link #copy} for another owner.
 */
public final class Mixer {
    private final int inputs;
    private final int sets;
    private final double rate;
    private final double[] weights;

    /** A mixer whose every set starts at {@code initial} (one weight per input). */
    public Mixer(int sets, double rate, double[] initial) {
        this(sets, rate, initial.length, tile(sets, initial));
    }

    private Mixer(int sets, double rate, int inputs, double[] weights) {
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
    }

    private static double[] tile(int sets, double[] initial) {
        double[] w = new double[Math.multiplyExact(Math.max(sets, 0), initial.length)];
        for (int s = 0; s < sets; s++) {
            System.arraycopy(initial, 0, w, s * initial.length, initial.length);
        }
        return w;
    }

    /** A mixer with these weights (sets x inputs, set-major). */
    public static Mixer of(int sets, double rate, double[] weights) {
        return new Mixer(sets, rate, weights.length / Math.max(sets, 1), weights.clone());
    }

    /** Everything the mixer learned (its weights), as {@link #restore} takes it. */
    public double[] state() {
        return weights.clone();
    }

    /** The mixer of {@link #state()}, checked against its shape. */
    public static Mixer restore(int sets, int inputs, double rate, double[] state) {
        if (state.length != sets * inputs) {
            throw new IllegalArgumentException("mixer state of " + state.length + " values, expected " + sets * inputs
                    + " for " + sets + " sets of " + inputs + " inputs");
        }
        return new Mixer(sets, rate, inputs, state.clone());
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
        mix(logProbs, set, -1, out);
    }

    /**
     * As {@link #mix(double[][], int, double[])} under the sum of the weights of {@code set} and of
     * {@code addSet} (-1: none): two selectors' weight sets added, as one linear gate of both.
     */
    public void mix(double[][] logProbs, int set, int addSet, double[] out) {
        check(logProbs, set, addSet);
        double[] w = new double[inputs];
        for (int i = 0; i < inputs; i++) {
            w[i] = weights[set * inputs + i] + (addSet < 0 ? 0 : weights[addSet * inputs + i]);
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int b = 0; b < 256; b++) {
            double z = 0;
            for (int i = 0; i < inputs; i++) {
                z += w[i] * logProbs[i][b];
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

    /** The gradient of −ln mixed(y) with respect to the (summed) weights that mixed it, one per input. */
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
        learn(logProbs, set, -1, mixed, y);
    }

    /** As {@link #learn(double[][], int, double[], int)} for a mix of two sets: both take the same step. */
    public void learn(double[][] logProbs, int set, int addSet, double[] mixed, int y) {
        check(logProbs, set, addSet);
        double[] g = gradient(logProbs, mixed, y);
        for (int i = 0; i < inputs; i++) {
            weights[set * inputs + i] -= rate * g[i];
            if (addSet >= 0) {
                weights[addSet * inputs + i] -= rate * g[i];
            }
        }
    }

    private void check(double[][] logProbs, int set, int addSet) {
        if (set < 0 || set >= sets || addSet < -1 || addSet >= sets || addSet == set || logProbs.length != inputs) {
            throw new IllegalArgumentException("mixer of " + sets + " sets and " + inputs + " inputs asked for sets "
                    + set + " + " + addSet + " with " + logProbs.length + " inputs");
        }
    }

    public Mixer copy() {
        return new Mixer(sets, rate, inputs, weights.clone());
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

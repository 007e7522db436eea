package org.hopestreams.learn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import org.hopestreams.model.Autograd;
import org.hopestreams.model.Level;

import java.util.List;
import java.util.Map;

/**
 * One level's AdamW and gradient accumulator (MODEL.md: per-level AdamW whose moments are state).
 *
 * <p>Moments and the accumulator are flat vectors over the level's parameters in order, owned by
 * the learner's long-lived manager; all arithmetic runs on views in the caller's scoped manager.
 * Not thread-safe: the learner's thread owns it.
 */
final class LevelOptimizer {
    final Level level;
    final List<String> names;
    final long[] sizes;
    final NDArray m;
    final NDArray v;
    final NDArray acc;
    /** AdamW step count (bias correction). */
    long t;
    /** Records summed into {@link #acc} since the last step. */
    long accumulated;
    /** The level's slow copy of its weights (flat), or null when consolidation keeps none. */
    NDArray anchor;

    LevelOptimizer(Level level, List<String> names, long[] sizes, NDArray m, NDArray v, NDArray acc) {
        this.level = level;
        this.names = names;
        this.sizes = sizes;
        this.m = m;
        this.v = v;
        this.acc = acc;
    }

    /** Adds a record's (clipped) gradient to the accumulator. */
    void accumulate(NDArray grad, NDManager scope) {
        accumulate(grad, 1, scope);
    }

    /** Adds the (clipped) gradient summed over {@code records} records of a batch to the accumulator. */
    void accumulate(NDArray grad, int records, NDManager scope) {
        Autograd.view(acc, scope).addi(grad);
        accumulated += records;
    }

    /** One step on the accumulated sum, then zero it. */
    void stepAccumulated(Map<String, NDArray> params, LearnerConfig cfg, NDManager scope) {
        NDArray sum = Autograd.view(acc, scope);
        step(params, sum.duplicate(), cfg, scope);
        sum.subi(sum);
        accumulated = 0;
    }

    /** One AdamW step with gradient {@code grad} (flat) on the level's parameters. */
    void step(Map<String, NDArray> params, NDArray grad, LearnerConfig cfg, NDManager scope) {
        step(params, grad, cfg.lr(level), cfg, scope);
    }

    /** As {@link #step(Map, NDArray, LearnerConfig, NDManager)} with learning rate {@code lr}. */
    void step(Map<String, NDArray> params, NDArray grad, double lr, LearnerConfig cfg, NDManager scope) {
        t++;
        NDArray mv = Autograd.view(m, scope);
        NDArray vv = Autograd.view(v, scope);
        mv.muli(cfg.beta1()).addi(grad.mul(1 - cfg.beta1()));
        vv.muli(cfg.beta2()).addi(grad.mul(grad).muli(1 - cfg.beta2()));   // g·g: square is a slow pow
        double bc1 = 1 - Math.pow(cfg.beta1(), t);
        double bc2 = 1 - Math.pow(cfg.beta2(), t);
        NDArray update = mv.div(vv.div(bc2).sqrt().add(LearnerConfig.ADAM_EPS)).mul(lr / bc1);
        subtract(params, update, cfg.weightDecay() > 0 ? 1 - lr * cfg.weightDecay() : 1, scope);
    }

    /** Each of the level's weights times {@code decay} (1: unchanged) minus its piece of the flat {@code delta}. */
    private void subtract(Map<String, NDArray> params, NDArray delta, double decay, NDManager scope) {
        NDList pieces = delta.split(offsets());
        for (int i = 0; i < names.size(); i++) {
            NDArray p = Autograd.view(params.get(names.get(i)), scope);
            if (decay != 1) {
                p.muli(decay);
            }
            p.subi(pieces.get(i).reshape(p.getShape()));
        }
    }

    /** The level's weights as one flat vector (a new array in {@code scope}). */
    NDArray flatWeights(Map<String, NDArray> params, NDManager scope) {
        NDList parts = new NDList();
        for (String n : names) {
            parts.add(Autograd.view(params.get(n), scope).reshape(-1));
        }
        return parts.size() == 1 ? parts.get(0).duplicate() : NDArrays.concat(parts);
    }

    /**
     * The anchor consolidation: the anchor moves {@code absorb} of the way to the weights (it keeps
     * some of what the level learned since the last consolidation), then the weights move {@code pull}
     * of the way back to the anchor (the level forgets some of its drift).
     */
    void consolidateAnchor(Map<String, NDArray> params, double absorb, double pull, NDManager scope) {
        NDArray w = flatWeights(params, scope);
        NDArray a = Autograd.view(anchor, scope);
        a.addi(w.sub(a).mul(absorb));
        subtract(params, w.sub(a).mul(pull), 1, scope);
    }

    private long[] offsets() {
        long[] idx = new long[sizes.length - 1];
        long o = 0;
        for (int i = 0; i < idx.length; i++) {
            o += sizes[i];
            idx[i] = o;
        }
        return idx;
    }
}

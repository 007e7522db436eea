package org.hopestreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * One chunk of the Titans fast memory in its chunked form (MODEL.md "Chunked form").
 *
 * <p>Within a chunk of n tokens every residual is taken at the chunk-start memory
 * Mc = M0 + ΔM; a read adds the causal intra-chunk delta term
 * o_t = Mc q_t + Σ_{i&lt;t} θ_i (v_i − Mc k_i)(k_iᵀ q_t); at the chunk's end
 * S = η_c S − Σ θ_i r_i k_iᵀ and ΔM = α_c ΔM + S, with α_c = Π α_t and η_c = mean η_t.
 * With n = 1 this is exactly the per-token recurrence.
 *
 * <p>Shapes: q, k (B, H, n, din); v (B, H, n, dout); θ, α, η (B, H, n); M0 (H, dout, din) or
 * broadcastable; ΔM, S (B, H, dout, din). Stateless: every array it makes belongs to the manager
 * of its inputs.
 */
public final class TitansMemory {
    private TitansMemory() {
    }

    /** The memory after a chunk, the chunk's reads, and the summed residual norm (detached). */
    public record Chunk(NDArray out, NDArray dM, NDArray s, NDArray surpriseSum, long residuals) {
    }

    /**
     * Runs one chunk. {@code selfTarget}: the written value is the memory's own reading of v
     * (v̂ = Mc v, the self-modifying k/v memories) instead of v itself. {@code mask}: the
     * n × n {@link #strictLowerMask}, made once per record by the caller.
     */
    public static Chunk chunk(NDArray q, NDArray k, NDArray v, NDArray theta, NDArray alpha, NDArray eta,
                              NDArray m0, NDArray dM, NDArray s, double clip, boolean selfTarget,
                              NDArray mask) {
        long n = q.getShape().get(2);
        NDArray mt = m0.add(dM).transpose(0, 1, 3, 2);
        NDArray target = selfTarget ? v.matMul(mt) : v;
        NDArray e = target.sub(k.matMul(mt));                       // −r_i = v_i − Mc k_i
        NDArray norms = e.norm(2, new int[] {-1}, true);
        NDArray surprise = norms.stopGradient().sum();
        if (clip > 0) {
            NDArray c = HopeModel.scalar(e, clip);
            e = e.mul(c).div(norms.maximum(c));                    // clip(r, c) = r · c / max(|r|, c)
        }
        NDArray te = e.mul(theta.expandDims(-1));
        NDArray out = q.matMul(mt);
        if (n > 1) {
            NDArray a = q.matMul(k.transpose(0, 1, 3, 2)).mul(mask);
            out = out.add(a.matMul(te));
        }
        NDArray ac = alpha.prod(new int[] {-1}, true).expandDims(-1);
        NDArray ec = eta.mean(new int[] {-1}, true).expandDims(-1);
        NDArray s2 = s.mul(ec).add(te.transpose(0, 1, 3, 2).matMul(k));
        NDArray dM2 = dM.mul(ac).add(s2);
        long count = q.getShape().get(0) * q.getShape().get(1) * n;
        return new Chunk(out, dM2, s2, surprise, count);
    }

    /** [t, i] = 1 iff i &lt; t. */
    public static NDArray strictLowerMask(NDManager manager, long n, DataType type) {
        int m = Math.toIntExact(n);
        double[] v = new double[m * m];
        for (int t = 0; t < m; t++) {
            for (int i = 0; i < t; i++) {
                v[t * m + i] = 1;
            }
        }
        try (NDArray borrowed = manager.create(v, new Shape(n, n))) {
            return borrowed.toType(type, false).duplicate();   // toType(same, true) aliases
        }
    }
}

package org.hopestreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
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

    /**
     * A whole record's memory pass, the production path: the same equations as {@link #chunk},
     * chunk after chunk, arranged for few engine calls (per-call overhead, not arithmetic, bounds
     * small-batch speed): inputs are split once, chunk gates and the masked intra-chunk products of
     * every full chunk are computed in one batched call each, and the memory is carried transposed
     * so that no chunk transposes it. Shapes as in {@link #chunk}, with T tokens.
     */
    public static Chunk sequence(NDArray q, NDArray k, NDArray v, NDArray theta, NDArray alpha, NDArray eta,
                                 NDArray m0, NDArray dM, NDArray s, int b, double clip) {
        Shape shape = q.getShape();
        long bsz = shape.get(0);
        long h = shape.get(1);
        long t = shape.get(2);
        long dh = shape.get(3);
        long full = t / b;
        long[] cuts = new long[Math.toIntExact((t - 1) / b)];
        for (int i = 0; i < cuts.length; i++) {
            cuts[i] = (long) (i + 1) * b;
        }
        // Per chunk, reads are [q | A] @ [Mcᵀ ; θe] in one product, A the masked intra-chunk q kᵀ;
        // the θ gate and the clip share one scale: θe_clipped = e · (θ c / max(|e|, c)).
        NDList ks = k.split(cuts, 2);
        NDList vs = v.split(cuts, 2);
        NDList kts = k.transpose(0, 1, 3, 2).split(cuts, 3);
        NDArray c = clip > 0 ? HopeModel.scalar(q, clip) : null;
        NDList scales = (c == null ? theta : theta.mul(c)).expandDims(-1).split(cuts, 2);
        NDList acs = new NDList();
        NDList ecs = new NDList();
        NDList reads = new NDList();
        if (full > 0) {
            long n = full * b;
            NDArray a = alpha.get(":, :, 0:" + n).reshape(bsz, h, full, b).prod(new int[] {-1}, false);
            NDArray e = eta.get(":, :, 0:" + n).reshape(bsz, h, full, b).mean(new int[] {-1}, false);
            acs.addAll(a.expandDims(2).split(full, 3));
            ecs.addAll(e.expandDims(2).split(full, 3));
            NDArray qf = q.get(":, :, 0:" + n).reshape(bsz, h, full, b, dh);
            NDArray kf = k.get(":, :, 0:" + n).reshape(bsz, h, full, b, dh);
            NDArray masked = qf.matMul(kf.transpose(0, 1, 2, 4, 3))
                    .mul(strictLowerMask(q.getManager(), b, q.getDataType()));
            reads.addAll(NDArrays.concat(new NDList(qf, masked), 4).reshape(bsz, h, n, dh + b).split(full, 2));
        }
        if (t > full * b) {
            String rest = ":, :, " + full * b + ":";
            acs.add(alpha.get(rest).prod(new int[] {-1}, true).expandDims(-1));
            ecs.add(eta.get(rest).mean(new int[] {-1}, true).expandDims(-1));
            NDArray qr = q.get(rest);
            NDArray masked = qr.matMul(kts.get(kts.size() - 1))
                    .mul(strictLowerMask(q.getManager(), t - full * b, q.getDataType()));
            reads.add(NDArrays.concat(new NDList(qr, masked), 3));
        }
        NDArray m0t = m0.transpose(0, 2, 1);
        NDArray dMt = dM.transpose(0, 1, 3, 2);
        NDArray st = s.transpose(0, 1, 3, 2);
        NDList outs = new NDList();
        NDList norms = new NDList();
        for (int i = 0; i < ks.size(); i++) {
            NDArray mt = m0t.add(dMt);                                  // Mcᵀ
            NDArray e = vs.get(i).sub(ks.get(i).matMul(mt));            // −r = v − Mc k
            NDArray nrm = e.norm(2, new int[] {-1}, true);
            norms.add(nrm);
            NDArray te = e.mul(c == null ? scales.get(i) : scales.get(i).div(nrm.maximum(c)));
            outs.add(reads.get(i).matMul(NDArrays.concat(new NDList(mt, te), 2)));
            st = st.mul(ecs.get(i)).add(kts.get(i).matMul(te));         // Sᵀ = η_c Sᵀ + kᵀ (θ e)
            dMt = dMt.mul(acs.get(i)).add(st);                          // ΔMᵀ = α_c ΔMᵀ + Sᵀ
        }
        NDArray surprise = NDArrays.concat(norms, 2).stopGradient().sum();
        NDArray o = outs.size() == 1 ? outs.get(0) : NDArrays.concat(outs, 2);
        return new Chunk(o, dMt.transpose(0, 1, 3, 2), st.transpose(0, 1, 3, 2), surprise, bsz * h * t);
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

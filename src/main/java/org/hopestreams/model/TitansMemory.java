package org.hopestreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtSymbolBlock;

import java.util.Optional;

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

    /**
     * The memory after a chunk, the chunk's reads, and the summed residual norm (detached);
     * {@code rowSurprise}: the summed residual norm of each row (B), only from the padded form of
     * {@link #sequence} (else null).
     */
    public record Chunk(NDArray out, NDArray dM, NDArray s, NDArray surpriseSum, long residuals, NDArray rowSurprise) {
        public Chunk(NDArray out, NDArray dM, NDArray s, NDArray surpriseSum, long residuals) {
            this(out, dM, s, surpriseSum, residuals, null);
        }
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
        return sequence(q, k, v, theta, alpha, eta, m0, dM, s, b, clip, null);
    }

    /**
     * As {@link #sequence(NDArray, NDArray, NDArray, NDArray, NDArray, NDArray, NDArray, NDArray, NDArray, int,
     * double)} for a batch of rows padded at their ends: row r holds {@code lengths[r]} tokens (null: every row
     * is full). A padded token writes nothing (θ = 0), forgets nothing (α = 1) and does not count in its chunk's
     * momentum (η_c is the mean over the row's own tokens); a chunk that holds none of a row's tokens leaves the
     * row's ΔM and S as they were. Reads are causal, so padding never changes a real token's read. So each row
     * gets what it would get alone, up to rounding. {@link Chunk#rowSurprise} sums each row's real residuals.
     */
    public static Chunk sequence(NDArray q, NDArray k, NDArray v, NDArray theta, NDArray alpha, NDArray eta,
                                 NDArray m0, NDArray dM, NDArray s, int b, double clip, long[] lengths) {
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
        NDManager mgr = q.getManager();
        NDArray valid = null;          // (B, 1, T): 1 on a row's own tokens, 0 on padding
        long[] counts = null;          // per row and chunk: the row's tokens in the chunk
        double[][] keepRows = null;    // per chunk and row: 1 where the chunk holds some of the row's tokens; null if all do
        boolean[] partial = null;      // per chunk: some row has no token in it
        if (lengths != null) {
            int chunks = Math.toIntExact((t + b - 1) / b);
            double[] mask = new double[Math.toIntExact(bsz * t)];
            counts = new long[Math.toIntExact(bsz * chunks)];
            double[][] rowsKept = new double[chunks][Math.toIntExact(bsz)];
            partial = new boolean[chunks];
            boolean anyPartial = false;
            for (int r = 0; r < bsz; r++) {
                for (int i = 0; i < lengths[r]; i++) {
                    mask[Math.toIntExact(r * t + i)] = 1;
                }
                for (int c = 0; c < chunks; c++) {
                    long n = Math.max(0, Math.min(lengths[r], (long) (c + 1) * b) - (long) c * b);
                    n = Math.min(n, Math.min(t, (long) (c + 1) * b) - (long) c * b);
                    counts[r * chunks + c] = n;
                    rowsKept[c][r] = n > 0 ? 1 : 0;
                    partial[c] |= n == 0;
                    anyPartial |= n == 0;
                }
            }
            keepRows = anyPartial ? rowsKept : null;
            valid = constant(mgr, mask, new Shape(bsz, 1, t), q.getDataType());
            double[] inv = new double[mask.length];
            for (int i = 0; i < inv.length; i++) {
                inv[i] = 1 - mask[i];
            }
            theta = theta.mul(valid);
            alpha = alpha.mul(valid).add(constant(mgr, inv, new Shape(bsz, 1, t), q.getDataType()));
            eta = eta.mul(valid);
        }
        // Per chunk, reads are [q | A] @ [Mcᵀ ; θe] in one product, A the masked intra-chunk q kᵀ;
        // the θ gate and the clip share one scale: θe_clipped = e · (θ c / max(|e|, c)).
        // The chunk loop runs on 3-D arrays, rows and heads in one batch dimension (B·H, …), so that each
        // product is one batched matmul (bmm): a 4-D matMul adds two expands, two reshapes and a view, and
        // as many backward nodes, to each of the loop's three products.
        long bh = bsz * h;
        NDArray q3 = q.reshape(bh, t, dh);
        NDArray k3 = k.reshape(bh, t, dh);
        // One row at a time the scripted loop measured 5 - 10 % faster a record, in batches 3 - 16 % slower (README
        // "The memory as TorchScript"): batches keep the loop below.
        Optional<PtSymbolBlock> script = bsz == 1 ? ScriptedMemory.module(q.getDevice()) : Optional.empty();
        if (script.isPresent()) {
            return scripted(script.get(), q3, k3, v.reshape(bh, t, dh), theta, alpha, eta, m0, dM, s, b, clip, lengths,
                    counts, keepRows, valid);
        }
        NDArray[] keep = null;         // per chunk (B·H, 1, 1): 1 where the chunk holds some of the row's tokens
        if (keepRows != null) {
            keep = new NDArray[keepRows.length];
            for (int c = 0; c < keepRows.length; c++) {
                if (partial[c]) {
                    double[] perHead = new double[Math.toIntExact(bh)];
                    for (int i = 0; i < perHead.length; i++) {
                        perHead[i] = keepRows[c][Math.toIntExact(i / h)];
                    }
                    keep[c] = constant(mgr, perHead, new Shape(bh, 1, 1), q.getDataType());
                }
            }
        }
        NDList ks = k3.split(cuts, 1);
        NDList vs = v.reshape(bh, t, dh).split(cuts, 1);
        NDList kts = k3.transpose(0, 2, 1).split(cuts, 2);
        NDArray c = clip > 0 ? HopeModel.scalar(q, clip) : null;
        NDList scales = (c == null ? theta : theta.mul(c)).reshape(bh, t, 1).split(cuts, 1);
        NDArray[] gates = chunkGates(alpha, eta, b, lengths, counts);
        long chunks = (t + b - 1) / b;
        NDList acs = gates[0].reshape(bh, 1, chunks).split(chunks, 2);
        NDList ecs = gates[1].reshape(bh, 1, chunks).split(chunks, 2);
        NDList reads = new NDList();
        if (full > 0) {
            long n = full * b;
            NDArray qf = q3.get(":, 0:" + n).reshape(bh, full, b, dh);
            NDArray kf = k3.get(":, 0:" + n).reshape(bh, full, b, dh);
            NDArray masked = qf.matMul(kf.transpose(0, 1, 3, 2))
                    .mul(strictLowerMask(q.getManager(), b, q.getDataType()));
            reads.addAll(NDArrays.concat(new NDList(qf, masked), 3).reshape(bh, n, dh + b).split(full, 1));
        }
        if (t > full * b) {
            NDArray qr = q3.get(":, " + full * b + ":");
            NDArray masked = qr.batchMatMul(kts.get(kts.size() - 1))
                    .mul(strictLowerMask(q.getManager(), t - full * b, q.getDataType()));
            reads.add(NDArrays.concat(new NDList(qr, masked), 2));
        }
        NDArray m0t = m0.transpose(0, 2, 1).broadcast(new Shape(bsz, h, dh, dh)).reshape(bh, dh, dh);
        NDArray dMt = dM.transpose(0, 1, 3, 2).reshape(bh, dh, dh);
        NDArray st = s.transpose(0, 1, 3, 2).reshape(bh, dh, dh);
        NDList outs = new NDList();
        NDList norms = new NDList();
        for (int i = 0; i < ks.size(); i++) {
            NDArray mt = m0t.add(dMt);                                  // Mcᵀ
            NDArray e = vs.get(i).sub(ks.get(i).batchMatMul(mt));       // −r = v − Mc k
            NDArray nrm = e.norm(2, new int[] {-1}, true);
            norms.add(nrm);
            NDArray te = e.mul(c == null ? scales.get(i) : scales.get(i).div(nrm.maximum(c)));
            outs.add(reads.get(i).batchMatMul(NDArrays.concat(new NDList(mt, te), 1)));
            NDArray st2 = st.mul(ecs.get(i)).add(kts.get(i).batchMatMul(te));   // Sᵀ = η_c Sᵀ + kᵀ (θ e)
            NDArray dMt2 = dMt.mul(acs.get(i)).add(st2);                         // ΔMᵀ = α_c ΔMᵀ + Sᵀ
            if (keep != null && keep[i] != null) {                          // rows with no token here keep theirs
                NDArray drop = keep[i].neg().add(HopeModel.scalar(keep[i], 1));
                st2 = st2.mul(keep[i]).add(st.mul(drop));
                dMt2 = dMt2.mul(keep[i]).add(dMt.mul(drop));
            }
            st = st2;
            dMt = dMt2;
        }
        return finish(outs.size() == 1 ? outs.get(0) : NDArrays.concat(outs, 1), dMt, st, NDArrays.concat(norms, 1),
                bsz, h, lengths, valid);
    }

    /** The memory pass's results from the loop's (B·H, …) arrays: reads, ΔMᵀ, Sᵀ and residual norms (B·H, T, 1). */
    private static Chunk finish(NDArray reads, NDArray dMt, NDArray st, NDArray normsCat, long bsz, long h,
                                long[] lengths, NDArray valid) {
        long t = reads.getShape().get(1);
        long dh = reads.getShape().get(2);
        NDArray allNorms = normsCat.stopGradient().reshape(bsz, h, t, 1);
        NDArray o = reads.reshape(bsz, h, t, dh);
        NDArray dMOut = dMt.reshape(bsz, h, dh, dh).transpose(0, 1, 3, 2);
        NDArray sOut = st.reshape(bsz, h, dh, dh).transpose(0, 1, 3, 2);
        if (lengths != null) {
            NDArray rows = allNorms.squeeze(-1).mul(valid).sum(new int[] {1, 2});
            long real = 0;
            for (long l : lengths) {
                real += l * h;
            }
            return new Chunk(o, dMOut, sOut, rows.sum(), real, rows);
        }
        return new Chunk(o, dMOut, sOut, allNorms.sum(), bsz * h * t);
    }

    /**
     * The chunk loop of {@link #sequence} as the TorchScript module ({@link ScriptedMemory}): the gates and scales
     * made here as for the loop in Java, the loop itself (the intra-chunk products of every full chunk in one
     * batched product, then chunk after chunk) in the module.
     */
    private static Chunk scripted(PtSymbolBlock module, NDArray q3, NDArray k3, NDArray v3, NDArray theta,
                                  NDArray alpha, NDArray eta, NDArray m0, NDArray dM, NDArray s, int b, double clip,
                                  long[] lengths, long[] counts, double[][] keepRows, NDArray valid) {
        NDManager mgr = q3.getManager();
        DataType type = q3.getDataType();
        long bsz = dM.getShape().get(0);
        long h = dM.getShape().get(1);
        long bh = q3.getShape().get(0);
        long t = q3.getShape().get(1);
        long dh = q3.getShape().get(2);
        long chunks = (t + b - 1) / b;
        NDArray[] gates = chunkGates(alpha, eta, b, lengths, counts);
        NDArray ac = gates[0].reshape(bh, chunks, 1, 1);
        NDArray ec = gates[1].reshape(bh, chunks, 1, 1);
        NDArray c = clip > 0 ? HopeModel.scalar(q3, clip) : mgr.zeros(new Shape(0), type);
        NDArray scale = (clip > 0 ? theta.mul(c) : theta).reshape(bh, t, 1);
        NDArray keep = mgr.zeros(new Shape(0), type);
        if (keepRows != null) {
            double[] all = new double[Math.toIntExact(bh * chunks)];      // (B·H, chunks): row r·H + head, chunk c
            for (int i = 0; i < all.length; i++) {
                all[i] = keepRows[Math.toIntExact(i % chunks)][Math.toIntExact(i / chunks / h)];
            }
            keep = constant(mgr, all, new Shape(bh, chunks, 1, 1), type);
        }
        NDArray m0t = m0.transpose(0, 2, 1).broadcast(new Shape(bsz, h, dh, dh)).reshape(bh, dh, dh);
        NDArray dMt = dM.transpose(0, 1, 3, 2).reshape(bh, dh, dh);
        NDArray st = s.transpose(0, 1, 3, 2).reshape(bh, dh, dh);
        NDList out = ScriptedMemory.run(module, new NDList(q3, k3, v3, scale, ac, ec, m0t, dMt, st, c, keep,
                strictLowerMask(mgr, b, type)));
        return finish(out.get(0), out.get(1), out.get(2), out.get(3), bsz, h, lengths, valid);
    }

    /**
     * Each chunk's gates, (B, H, chunks) each, full chunks first: α_c = Π α_t over the chunk and η_c the mean of η_t
     * over the row's own tokens in it ({@code counts}, when rows are padded; a chunk without any counts as one).
     */
    private static NDArray[] chunkGates(NDArray alpha, NDArray eta, int b, long[] lengths, long[] counts) {
        Shape shape = alpha.getShape();
        long bsz = shape.get(0);
        long h = shape.get(1);
        long t = shape.get(2);
        long full = t / b;
        NDManager mgr = alpha.getManager();
        NDList as = new NDList();
        NDList es = new NDList();
        if (full > 0) {
            long n = full * b;
            as.add(alpha.get(":, :, 0:" + n).reshape(bsz, h, full, b).prod(new int[] {-1}, false));
            es.add(lengths == null ? eta.get(":, :, 0:" + n).reshape(bsz, h, full, b).mean(new int[] {-1}, false)
                    : eta.get(":, :, 0:" + n).reshape(bsz, h, full, b).sum(new int[] {-1}, false)
                            .div(chunkCounts(mgr, counts, bsz, 0, full, alpha.getDataType())));
        }
        if (t > full * b) {
            String rest = ":, :, " + full * b + ":";
            as.add(alpha.get(rest).prod(new int[] {-1}, true));
            es.add(lengths == null ? eta.get(rest).mean(new int[] {-1}, true)
                    : eta.get(rest).sum(new int[] {-1}, true)
                            .div(chunkCounts(mgr, counts, bsz, full, 1, alpha.getDataType())));
        }
        return new NDArray[] {as.size() == 1 ? as.get(0) : NDArrays.concat(as, 2),
                es.size() == 1 ? es.get(0) : NDArrays.concat(es, 2)};
    }

    /** A constant (no gradient) array of {@code type}, in the engine's own memory. */
    static NDArray constant(NDManager manager, double[] values, Shape shape, DataType type) {
        try (NDArray borrowed = manager.create(values, shape)) {
            return borrowed.toType(type, false).duplicate();   // toType(same, true) aliases
        }
    }

    /** Tokens per row in chunks {@code first} .. {@code first + n - 1}, at least 1, as (B, 1, n). */
    private static NDArray chunkCounts(NDManager manager, long[] counts, long bsz, long first, long n, DataType type) {
        int chunks = counts.length / Math.toIntExact(bsz);
        double[] v = new double[Math.toIntExact(bsz * n)];
        for (int r = 0; r < bsz; r++) {
            for (int c = 0; c < n; c++) {
                v[Math.toIntExact(r * n + c)] = Math.max(1, counts[Math.toIntExact(r * chunks + first + c)]);
            }
        }
        return constant(manager, v, new Shape(bsz, 1, n), type);
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

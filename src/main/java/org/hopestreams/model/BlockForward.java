package org.hopestreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One block's forward over a batch of records (MODEL.md): RMSNorm, causal depthwise conv whose
 * tail is carried state, per-head Titans memory read before write, {@code x += Wo (o + c)}, then
 * the CMS chain {@code x += CMS(z) − z}. Single use: construct, {@link #run}, then read the new
 * state and statistics.
 */
final class BlockForward {
    private final HopeConfig c;
    private final NDManager m;
    private final Map<String, NDArray> p;
    private final String prefix;
    private final Map<String, NDArray> state;
    private final Map<String, NDArray> next = new LinkedHashMap<>();
    private NDArray surpriseSum;
    private long surpriseCount;
    /** Tokens of each row when rows are padded at their ends (null: every row is full). */
    private final long[] lengths;
    private NDArray rowSurprise;

    BlockForward(HopeConfig c, NDManager m, Map<String, NDArray> p, String prefix, Map<String, NDArray> state) {
        this(c, m, p, prefix, state, null);
    }

    BlockForward(HopeConfig c, NDManager m, Map<String, NDArray> p, String prefix, Map<String, NDArray> state,
                 long[] lengths) {
        if (lengths != null && c.memory() && c.selfModifying()) {
            throw new IllegalArgumentException("padded rows are not supported with self-modifying projections");
        }
        this.lengths = lengths;
        this.c = c;
        this.m = m;
        this.p = p;
        this.prefix = prefix;
        this.state = state;
    }

    private NDArray param(String name) {
        NDArray a = p.get(prefix + name);
        if (a == null) {
            throw new IllegalStateException("missing parameter " + prefix + name);
        }
        return a;
    }

    NDArray run(NDArray x) {
        long t = x.getShape().get(1);
        int k = c.convK();
        NDArray hc = NDArrays.concat(new NDList(state.get("tail"), HopeModel.rmsNorm(x, param("norm1.g"))), 1);
        if (lengths == null) {
            next.put("tail", hc.get(":, " + t + ":"));
        } else {
            // Each row's tail: the last K-1 normed inputs of its own tokens (hc starts with the K-1 carried ones).
            NDList tails = new NDList();
            for (int r = 0; r < lengths.length; r++) {
                tails.add(hc.get(r + ":" + (r + 1) + ", " + lengths[r] + ":" + (lengths[r] + k - 1)));
            }
            next.put("tail", NDArrays.concat(tails, 0));
        }
        // Depthwise causal conv, one engine call: out[t] = Σ_j w[:, j] · hc[t + j] (cross-correlation).
        NDArray convW = param("conv_w").reshape(c.d(), 1, k);
        NDArray hcT = hc.transpose(0, 2, 1);
        NDArray conv = hcT.getNDArrayInternal().convolution(hcT, convW, null, new Shape(1), new Shape(0),
                new Shape(1), c.d()).singletonOrThrow().transpose(0, 2, 1);
        NDArray mixed = c.memory() ? conv.add(memory(conv)) : conv;
        x = x.add(HopeModel.linear(mixed, param("wo")));
        NDArray z = HopeModel.rmsNorm(x, param("norm2.g"));
        NDArray y = z;
        for (int l = 0; l < c.cmsLevels(); l++) {
            y = y.add(cmsLevel(l, HopeModel.rmsNorm(y, param("cms." + l + ".norm.g"))));
        }
        return x.add(y.sub(z));
    }

    /** CMS level l's update of its normed input: W2·SiLU(W1·u), or a KAN layer pair (RMS-normed between). */
    private NDArray cmsLevel(int l, NDArray u) {
        String q = "cms." + l + ".";
        if (c.kanLevel(l)) {
            NDArray hidden = KanLayer.forward(u, param(q + "base1"), param(q + "spline1"), c.kanGrid());
            return KanLayer.forward(HopeModel.rmsNorm(hidden, null), param(q + "base2"), param(q + "spline2"), c.kanGrid());
        }
        return HopeModel.linear(HopeModel.silu(HopeModel.linear(u, param(q + "w1"))), param(q + "w2"));
    }

    /** The memory reads o (B, T, H·dh) of conv outputs (B, T, d); records the new ΔM and S. */
    private NDArray memory(NDArray conv) {
        long bsz = conv.getShape().get(0);
        long t = conv.getShape().get(1);
        int h = c.heads();
        NDArray q = heads(HopeModel.linear(conv, param("wq"))).normalize(2, -1, HopeModel.EPS);
        NDArray g = HopeModel.linear(conv, param("wg")).add(param("bg")).reshape(bsz, t, 3, h).transpose(2, 0, 3, 1);
        NDArray theta = Activation.sigmoid(g.get(0)).mul(HopeModel.scalar(g, c.thetaMax()));
        NDArray alpha = Activation.sigmoid(g.get(1));
        NDArray eta = Activation.sigmoid(g.get(2));
        SelfModifyingProjections kv = c.selfModifying()
                ? new SelfModifyingProjections(c, param("wk"), param("wv"), state) : null;
        NDArray kAll = kv == null ? heads(HopeModel.linear(conv, param("wk"))).normalize(2, -1, HopeModel.EPS) : null;
        NDArray vAll = kv == null ? HopeModel.rmsNorm(heads(HopeModel.linear(conv, param("wv"))), null) : null;
        NDArray m0 = param("M0");
        NDArray dM = state.get("dM");
        NDArray s = state.get("S");
        int b = c.chunk();
        NDArray o;
        if (kv == null) {
            TitansMemory.Chunk r = TitansMemory.sequence(q, kAll, vAll, theta, alpha, eta, m0, dM, s, b, c.innerClip(),
                    lengths);
            o = r.out();
            dM = r.dM();
            s = r.s();
            surpriseSum = r.surpriseSum();
            surpriseCount = r.residuals();
            rowSurprise = r.rowSurprise();
        } else {
            NDArray fullMask = TitansMemory.strictLowerMask(m, Math.min(b, t), conv.getDataType());
            NDList outs = new NDList();
            for (long c0 = 0; c0 < t; c0 += b) {
                long c1 = Math.min(t, c0 + b);
                String span = c0 + ":" + c1;
                NDArray convC = conv.get(":, " + span);
                NDArray kc = heads(kv.readKeys(convC)).normalize(2, -1, HopeModel.EPS);
                NDArray vc = HopeModel.rmsNorm(heads(kv.readValues(convC)), null);
                kv.write(convC, vc.transpose(0, 2, 1, 3).reshape(bsz, c1 - c0, (long) h * c.dHead()),
                        theta.get(":, :, " + span), alpha.get(":, :, " + span), eta.get(":, :, " + span));
                NDArray mask = c1 - c0 == Math.min(b, t) ? fullMask
                        : fullMask.get("0:" + (c1 - c0) + ", 0:" + (c1 - c0));
                TitansMemory.Chunk r = TitansMemory.chunk(q.get(":, :, " + span), kc, vc, theta.get(":, :, " + span),
                        alpha.get(":, :, " + span), eta.get(":, :, " + span), m0, dM, s, c.innerClip(), false, mask);
                outs.add(r.out());
                dM = r.dM();
                s = r.s();
                surpriseSum = surpriseSum == null ? r.surpriseSum() : surpriseSum.add(r.surpriseSum());
                surpriseCount += r.residuals();
            }
            o = outs.size() == 1 ? outs.get(0) : NDArrays.concat(outs, 2);
        }
        next.put("dM", dM);
        next.put("S", s);
        if (kv != null) {
            kv.putState(next);
        }
        return o.transpose(0, 2, 1, 3).reshape(bsz, t, (long) h * c.dHead());
    }

    /** (B, T, H·dh) → (B, H, T, dh). */
    private NDArray heads(NDArray x) {
        long bsz = x.getShape().get(0);
        long t = x.getShape().get(1);
        return x.reshape(bsz, t, c.heads(), c.dHead()).transpose(0, 2, 1, 3);
    }

    Map<String, NDArray> newState() {
        return next;
    }

    /** The summed residual norms to read on the host: (B) per row when rows are padded, else a scalar; null without memory. */
    NDArray surpriseSums() {
        return lengths != null ? rowSurprise : surpriseSum;
    }

    /** Each row's mean residual norm from {@link #surpriseSums} read on the host ({@code sums} null: zeros). */
    double[] meanSurprise(double[] sums, int rows) {
        double[] out = new double[rows];
        if (sums == null) {
            return out;
        }
        for (int r = 0; r < rows; r++) {
            if (lengths != null) {
                out[r] = sums[r] / (lengths[r] * c.heads());
            } else {
                out[r] = surpriseCount == 0 ? 0 : sums[0] / surpriseCount;
            }
        }
        return out;
    }

    /** Unpadded rows: the mean residual norm, read on the host now. */
    double meanSurprise() {
        NDArray sums = surpriseSums();
        return meanSurprise(sums == null ? null : new double[] {sums.toType(DataType.FLOAT64, false).getDouble()}, 1)[0];
    }
}

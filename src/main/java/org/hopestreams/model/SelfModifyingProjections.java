package org.hopestreams.model;

import ai.djl.ndarray.NDArray;

import java.util.Map;

/**
 * The self-modifying k and v projections (HOPE §8, option {@code selfModifying}): each is a fast
 * linear memory W = W0 + ΔW per key, with the learned projection W0 as its prior, written by the
 * same chunked delta rule as the main memory with a target it generates itself, v̂ = Wc v
 * (keys: the l2-normalised conv outputs; gates: the main memory's, averaged over heads).
 *
 * <p>Keys and values of a chunk are read at the chunk-start W, so the whole chunk's k and v exist
 * before the main memory runs; q stays a fixed projection (the paper's ablation).
 */
final class SelfModifyingProjections {
    private final HopeConfig c;
    private final NDArray wk;
    private final NDArray wv;
    private NDArray kM;
    private NDArray kS;
    private NDArray vM;
    private NDArray vS;

    SelfModifyingProjections(HopeConfig c, NDArray wk, NDArray wv, Map<String, NDArray> state) {
        this.c = c;
        this.wk = wk;
        this.wv = wv;
        this.kM = state.get("kM");
        this.kS = state.get("kS");
        this.vM = state.get("vM");
        this.vS = state.get("vS");
    }

    /** Keys (B, n, H·dh) of conv outputs (B, n, d) at the chunk-start memory. */
    NDArray readKeys(NDArray conv) {
        return conv.matMul(wk.add(kM).transpose(0, 2, 1));
    }

    NDArray readValues(NDArray conv) {
        return conv.matMul(wv.add(vM).transpose(0, 2, 1));
    }

    /** Writes one chunk: conv (B, n, d), values (B, n, H·dh), gates (B, H, n). */
    void write(NDArray conv, NDArray values, NDArray theta, NDArray alpha, NDArray eta) {
        NDArray keys = conv.normalize(2, -1, HopeModel.EPS).expandDims(1);
        NDArray v = values.expandDims(1);
        NDArray th = theta.mean(new int[] {1}, true);
        NDArray al = alpha.mean(new int[] {1}, true);
        NDArray et = eta.mean(new int[] {1}, true);
        NDArray mask = TitansMemory.strictLowerMask(conv.getManager(), conv.getShape().get(1), conv.getDataType());
        TitansMemory.Chunk k = TitansMemory.chunk(keys, keys, v, th, al, et, wk.expandDims(0), kM.expandDims(1),
                kS.expandDims(1), c.innerClip(), true, mask);
        TitansMemory.Chunk w = TitansMemory.chunk(keys, keys, v, th, al, et, wv.expandDims(0), vM.expandDims(1),
                vS.expandDims(1), c.innerClip(), true, mask);
        kM = k.dM().squeeze(1);
        kS = k.s().squeeze(1);
        vM = w.dM().squeeze(1);
        vS = w.s().squeeze(1);
    }

    void putState(Map<String, NDArray> next) {
        next.put("kM", kM);
        next.put("kS", kS);
        next.put("vM", vM);
        next.put("vS", vS);
    }
}

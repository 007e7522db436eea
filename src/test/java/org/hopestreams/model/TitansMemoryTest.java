package org.hopestreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MODEL.md checks of the chunked memory: b = 1 equals the per-token recurrence written literally;
 * b &gt; 1 equals the chunked equations computed token by token; with a non-zero prior M0 and a
 * non-zero carried ΔM and S, with and without the residual clip.
 */
class TitansMemoryTest {
    private static final int B = 2;
    private static final int H = 2;
    private static final int T = 37;
    private static final int DH = 8;

    private NDManager m;
    private NDArray q;
    private NDArray k;
    private NDArray v;
    private NDArray th;
    private NDArray al;
    private NDArray et;
    private NDArray m0;
    private NDArray dM;
    private NDArray s;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager(ai.djl.Device.cpu());
        m.getEngine().setRandomSeed(1);
        q = m.randomNormal(new Shape(B, H, T, DH), DataType.FLOAT64).normalize(2, -1, 1e-6);
        k = m.randomNormal(new Shape(B, H, T, DH), DataType.FLOAT64).normalize(2, -1, 1e-6);
        v = m.randomNormal(new Shape(B, H, T, DH), DataType.FLOAT64).mul(3);
        th = m.randomUniform(0f, 0.9f, new Shape(B, H, T), DataType.FLOAT64);
        al = m.randomUniform(0f, 1f, new Shape(B, H, T), DataType.FLOAT64);
        et = m.randomUniform(0f, 1f, new Shape(B, H, T), DataType.FLOAT64);
        m0 = m.randomNormal(new Shape(H, DH, DH), DataType.FLOAT64).mul(0.5);
        dM = m.randomNormal(new Shape(B, H, DH, DH), DataType.FLOAT64);
        s = m.randomNormal(new Shape(B, H, DH, DH), DataType.FLOAT64).mul(0.1);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** The production path, {@link TitansMemory#sequence}. */
    private NDArray[] chunked(int b, double clip) {
        TitansMemory.Chunk r = TitansMemory.sequence(q, k, v, th, al, et, m0, dM, s, b, clip);
        return new NDArray[] {r.out(), r.dM(), r.s()};
    }

    /** The single-chunk step used by the self-modifying projections, chunk after chunk. */
    private NDArray[] chunkByChunk(int b, double clip) {
        NDList outs = new NDList();
        NDArray d = dM;
        NDArray st = s;
        for (int c0 = 0; c0 < T; c0 += b) {
            int c1 = Math.min(T, c0 + b);
            String span = ":, :, " + c0 + ":" + c1;
            TitansMemory.Chunk r = TitansMemory.chunk(q.get(span), k.get(span), v.get(span), th.get(span),
                    al.get(span), et.get(span), m0, d, st, clip, false,
                    TitansMemory.strictLowerMask(m, c1 - c0, DataType.FLOAT64));
            outs.add(r.out());
            d = r.dM();
            st = r.s();
        }
        return new NDArray[] {NDArrays.concat(outs, 2), d, st};
    }

    /** M = M0 + ΔM; o = M q; r = clip(M k − v); S = η S − θ r kᵀ; ΔM = α ΔM + S. */
    private NDArray[] perToken(double clip) {
        NDList outs = new NDList();
        NDArray d = dM;
        NDArray st = s;
        for (int t = 0; t < T; t++) {
            NDArray mem = m0.add(d);
            outs.add(mem.matMul(col(q, t)));
            NDArray r = clipRows(mem.matMul(col(k, t)).sub(col(v, t)), clip);
            st = st.mul(gate(et, t)).sub(r.matMul(col(k, t).transpose(0, 1, 3, 2)).mul(gate(th, t)));
            d = d.mul(gate(al, t)).add(st);
        }
        return new NDArray[] {NDArrays.concat(outs, 3).transpose(0, 1, 3, 2), d, st};
    }

    /** Chunked equations token by token: reads see the in-chunk writes, residuals the chunk start. */
    private NDArray[] naiveChunks(int b, double clip) {
        NDList outs = new NDList();
        NDArray d = dM;
        NDArray st = s;
        for (int c0 = 0; c0 < T; c0 += b) {
            int c1 = Math.min(T, c0 + b);
            NDArray mc = m0.add(d);
            NDArray mi = mc;
            NDArray prodA = null;
            NDArray sumE = null;
            for (int t = c0; t < c1; t++) {
                outs.add(mi.matMul(col(q, t)));
                NDArray r = clipRows(mc.matMul(col(k, t)).sub(col(v, t)), clip);
                mi = mi.sub(r.matMul(col(k, t).transpose(0, 1, 3, 2)).mul(gate(th, t)));
                prodA = prodA == null ? gate(al, t) : prodA.mul(gate(al, t));
                sumE = sumE == null ? gate(et, t) : sumE.add(gate(et, t));
            }
            st = st.mul(sumE.div(c1 - c0)).add(mi.sub(mc));
            d = d.mul(prodA).add(st);
        }
        return new NDArray[] {NDArrays.concat(outs, 3).transpose(0, 1, 3, 2), d, st};
    }

    private static NDArray col(NDArray x, int t) {
        return x.get(":, :, " + t).expandDims(-1);
    }

    private static NDArray gate(NDArray g, int t) {
        return g.get(":, :, " + t).expandDims(-1).expandDims(-1);
    }

    private static NDArray clipRows(NDArray r, double clip) {
        if (clip <= 0) {
            return r;
        }
        NDArray n = r.norm(2, new int[] {-2}, true);
        return r.mul(n.maximum(clip).pow(-1).mul(clip));
    }

    private static double maxErr(NDArray[] a, NDArray[] b) {
        double e = 0;
        for (int i = 0; i < a.length; i++) {
            e = Math.max(e, a[i].sub(b[i]).abs().max().getDouble());
        }
        return e;
    }

    @ParameterizedTest(name = "b=1 equals the per-token recurrence, clip={0}")
    @CsvSource({"0", "2"})
    void chunkOfOneIsThePerTokenRecurrence(double clip) {
        double err = maxErr(chunked(1, clip), perToken(clip));
        assertTrue(err < 1e-12, "max error " + err);
        double stepErr = maxErr(chunkByChunk(1, clip), perToken(clip));
        assertTrue(stepErr < 1e-12, "chunk-by-chunk max error " + stepErr);
    }

    @ParameterizedTest(name = "b={0} equals the naive chunk equations, clip={1}")
    @CsvSource({"4, 0", "4, 2", "16, 0", "16, 2"})
    void chunkedEqualsNaiveChunkEquations(int b, double clip) {
        double err = maxErr(chunked(b, clip), naiveChunks(b, clip));
        assertTrue(err < 1e-12, "max error " + err);
        double stepErr = maxErr(chunkByChunk(b, clip), naiveChunks(b, clip));
        assertTrue(stepErr < 1e-12, "chunk-by-chunk max error " + stepErr);
        double differs = maxErr(chunked(b, clip), perToken(clip));
        assertTrue(differs > 1e-6, "b=" + b + " should differ from the per-token recurrence, got " + differs);
    }

    @ParameterizedTest(name = "retention returns the memory to M0 (b={0})")
    @CsvSource({"1", "16"})
    void retentionDecaysDeltaToZero(int b) {
        th = th.zerosLike();
        s = s.zerosLike();
        al = al.onesLike().mul(0.5);
        NDArray[] r = chunked(b, 2);
        double err = r[1].sub(dM.mul(Math.pow(0.5, T))).abs().max().getDouble();
        assertTrue(err < 1e-12, "ΔM should shrink by Πα, error " + err);
    }
}

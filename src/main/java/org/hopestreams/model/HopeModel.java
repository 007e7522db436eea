package org.hopestreams.model;

import org.hopestreams.context.KeyContext;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The HOPE-lite forward pass (MODEL.md): byte embedding, blocks of causal conv + Titans fast
 * memory + CMS chain, tied output head.
 *
 * <p>Stateless and thread-safe: parameters and fast state are arguments, and every array it makes
 * belongs to the manager passed in, which the caller closes. Whether gradients flow is the
 * caller's choice (parameters that require gradients, inside a gradient collector).
 */
public final class HopeModel {
    static final double EPS = 1e-6;

    private final HopeConfig config;

    public HopeModel(HopeConfig config) {
        this.config = config;
    }

    public HopeConfig config() {
        return config;
    }

    /** Per-block engine state for a batch: part name → (B, …) array. */
    public record BatchState(List<Map<String, NDArray>> blocks) {
    }

    /** Logits (B, T, 256), the state after the last input, and per block the mean residual norm. */
    public record Output(NDArray logits, BatchState state, double[] surprise) {
    }

    /**
     * The host values of a forward pass, read together on first use: the rows' new fast states, each row's surprise
     * per block, each row's loss, and whatever else the caller adds ({@link #readWith}) before that, e.g. gradient
     * norms after the backward pass, in one device-to-host transfer where they share an element type (issue 12: one
     * host read per record or batch, not one per state array, block and level).
     */
    public static final class HostRead {
        private final BatchState engineState;
        private final List<BlockForward> blocks;
        private final int[] lastInputs;
        private final NDArray loss;
        private List<FastState> states;
        private double[][] surprise;
        private double[] losses;

        private HostRead(BatchState engineState, List<BlockForward> blocks, int[] lastInputs, NDArray loss) {
            this.engineState = engineState;
            this.blocks = blocks;
            this.lastInputs = lastInputs;
            this.loss = loss;
        }

        /**
         * Reads the forward's host values and {@code extra} (any shapes; the model's element type for one transfer)
         * now, unless they were read already (then only {@code extra} is read); returns each extra array's values.
         */
        public synchronized double[][] readWith(List<NDArray> extra) {
            if (states != null) {
                return HostTensor.readAll(extra).stream().map(HostTensor::toDoubles).toArray(double[][]::new);
            }
            List<String> names = new ArrayList<>();
            List<NDArray> arrays = new ArrayList<>();
            for (int b = 0; b < engineState.blocks().size(); b++) {
                for (Map.Entry<String, NDArray> e : engineState.blocks().get(b).entrySet()) {
                    names.add("blocks." + b + "." + e.getKey());
                    arrays.add(e.getValue());
                }
            }
            List<Integer> sums = new ArrayList<>();
            for (BlockForward f : blocks) {
                NDArray a = f.surpriseSums();
                sums.add(a == null ? -1 : arrays.size());
                if (a != null) {
                    arrays.add(a);
                }
            }
            int lossAt = arrays.size();
            if (loss != null) {
                arrays.add(loss);
            }
            int extraAt = arrays.size();
            arrays.addAll(extra);
            List<HostTensor> host = HostTensor.readAll(arrays);
            int rows = lastInputs.length;
            List<FastState> out = new ArrayList<>(rows);
            for (int r = 0; r < rows; r++) {
                Map<String, HostTensor> t = new LinkedHashMap<>();
                for (int i = 0; i < names.size(); i++) {
                    t.put(names.get(i), host.get(i).row(r));
                }
                out.add(new FastState(t, lastInputs[r]));
            }
            double[][] sp = new double[rows][blocks.size()];
            for (int b = 0; b < blocks.size(); b++) {
                double[] m = blocks.get(b).meanSurprise(sums.get(b) < 0 ? null : host.get(sums.get(b)).toDoubles(), rows);
                for (int r = 0; r < rows; r++) {
                    sp[r][b] = m[r];
                }
            }
            losses = loss == null ? new double[0] : host.get(lossAt).toDoubles();
            surprise = sp;
            states = out;
            double[][] ex = new double[extra.size()][];
            for (int i = 0; i < ex.length; i++) {
                ex[i] = host.get(extraAt + i).toDoubles();
            }
            return ex;
        }

        List<FastState> states() {
            readWith(List.of());
            return states;
        }

        double[][] surprise() {
            readWith(List.of());
            return surprise;
        }

        double[] losses() {
            readWith(List.of());
            return losses;
        }
    }

    /**
     * The mean cross-entropy (nats) of a record, its new fast state, the surprise per block and the
     * log-probabilities of every byte (1, T, 256) that the loss was taken from. The host values (state, surprise,
     * {@link #nats}) are read on first use, in one transfer with what {@link #readWith} adds.
     */
    public static final class RecordLoss {
        private final NDArray lossNats;
        private final int targets;
        private final NDArray logProbs;
        private final HostRead host;
        private final KeyContext context;

        RecordLoss(NDArray lossNats, int targets, NDArray logProbs, HostRead host, KeyContext context) {
            this.lossNats = lossNats;
            this.targets = targets;
            this.logProbs = logProbs;
            this.host = host;
            this.context = context;
        }

        public NDArray lossNats() {
            return lossNats;
        }

        public int targets() {
            return targets;
        }

        public NDArray logProbs() {
            return logProbs;
        }

        public FastState state() {
            return host.states().get(0).withContext(context);
        }

        public double[] surprise() {
            return host.surprise()[0];
        }

        /** The loss in nats, read on the host. */
        public double nats() {
            return host.losses()[0];
        }

        /** See {@link HostRead#readWith}. */
        public double[][] readWith(List<NDArray> extra) {
            return host.readWith(extra);
        }
    }

    /**
     * Loss of one record continuing {@code state}: every byte is a target, the first predicted from
     * the key's last byte (START for a new key). Returns the mean loss in nats as a scalar array.
     */
    public RecordLoss recordLoss(NDManager m, Map<String, NDArray> p, byte[] record, FastState state) {
        int n = record.length;
        int[] targets = unsigned(record);
        int[] inputs = new int[n];
        inputs[0] = state.lastInput();
        System.arraycopy(targets, 0, inputs, 1, n - 1);
        Forwarded out = forwardLazy(m, p, new int[][] {inputs}, toEngine(m, List.of(state)));
        NDArray logProbs = out.logits().logSoftmax(-1);
        NDArray loss = crossEntropyOfLogProbs(logProbs, new int[][] {targets});
        return new RecordLoss(loss, n, logProbs, new HostRead(out.state(), out.blocks(), new int[] {targets[n - 1]}, loss),
                state.context());
    }

    /**
     * Losses of a batch of records of distinct keys, record r continuing {@code states.get(r)}, in one
     * forward: rows padded at their ends to the longest record; padding adds no loss, no gradient
     * and no change of fast state (see {@link TitansMemory#sequence(NDArray, NDArray, NDArray, NDArray, NDArray,
     * NDArray, NDArray, NDArray, NDArray, int, double, long[])}).
     *
     * @param total     the sum over records of each record's mean loss (nats): its gradient is the sum of the
     *                  records' gradients
     * @param rowNats   each record's mean loss (nats), (B)
     * @param logProbs  (B, T, 256) log-probabilities; row r's first {@code lengths[r]} are its own
     * @param host      the host values, read on first use: each record's new fast state, its surprise per block
     *                  (the mean residual norm) and its loss ({@link #states}, {@link #surprise}, {@link #nats})
     */
    public record BatchLoss(NDArray total, NDArray rowNats, NDArray logProbs, long[] lengths, HostRead host,
                            List<KeyContext> contexts) {
        /** Each record's new fast state (host). */
        public List<FastState> states() {
            List<FastState> out = new ArrayList<>(host.states());
            for (int r = 0; r < out.size(); r++) {
                out.set(r, out.get(r).withContext(contexts.get(r)));
            }
            return out;
        }

        /** Per record, per block, the mean residual norm. */
        public double[][] surprise() {
            return host.surprise();
        }

        /** Each record's mean loss in nats (host). */
        public double[] nats() {
            return host.losses();
        }
    }

    public BatchLoss batchLoss(NDManager m, Map<String, NDArray> p, List<byte[]> records, List<FastState> states) {
        int rows = records.size();
        int t = 0;
        for (byte[] r : records) {
            t = Math.max(t, r.length);
        }
        int[][] inputs = new int[rows][t];
        int[][] targets = new int[rows][t];
        long[] lengths = new long[rows];
        double[] weights = new double[rows * t];     // 1 / length on a record's own tokens, 0 on padding
        for (int r = 0; r < rows; r++) {
            byte[] rec = records.get(r);
            int n = rec.length;
            lengths[r] = n;
            inputs[r][0] = states.get(r).lastInput();
            for (int i = 0; i < n; i++) {
                targets[r][i] = rec[i] & 0xff;
                if (i + 1 < n) {
                    inputs[r][i + 1] = rec[i] & 0xff;
                }
                weights[r * t + i] = 1.0 / n;
            }
        }
        BatchState engineStates = toEngine(m, states);
        NDArray emb = p.get("emb");
        NDArray ids = m.create(inputs).toType(DataType.INT64, false);
        NDArray x = ids.getNDArrayInternal().embedding(ids, emb, SparseFormat.DENSE).singletonOrThrow();
        List<Map<String, NDArray>> next = new ArrayList<>();
        List<BlockForward> blocks = new ArrayList<>();
        for (int b = 0; b < config.blocks(); b++) {
            BlockForward f = new BlockForward(config, m, p, "blocks." + b + ".", engineStates.blocks().get(b), lengths);
            x = f.run(x);
            next.add(f.newState());
            blocks.add(f);
        }
        NDArray head = emb.get("0:" + HopeConfig.VOCAB);
        NDArray logProbs = rmsNorm(x, p.get("norm_f.g")).matMul(head.transpose()).logSoftmax(-1);
        NDArray tgt = m.create(targets).toType(DataType.INT64, false).expandDims(-1);
        NDArray picked = logProbs.gather(tgt, -1).squeeze(-1);                          // (B, T)
        NDArray w = TitansMemory.constant(m, weights, new ai.djl.ndarray.types.Shape(rows, t), logProbs.getDataType());
        NDArray rowNats = picked.mul(w).sum(new int[] {1}).neg();
        int[] last = new int[rows];
        List<KeyContext> contexts = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
            last[r] = targets[r][(int) lengths[r] - 1];
            contexts.add(states.get(r).context());
        }
        return new BatchLoss(rowNats.sum(), rowNats, logProbs, lengths,
                new HostRead(new BatchState(next), blocks, last, rowNats), contexts);
    }

    /** Mean next-byte cross-entropy (nats) of logits (B, T, 256) against targets (B, T). */
    public NDArray crossEntropy(NDArray logits, int[][] targets) {
        return crossEntropyOfLogProbs(logits.logSoftmax(-1), targets);
    }

    private NDArray crossEntropyOfLogProbs(NDArray logProbs, int[][] targets) {
        NDManager m = logProbs.getManager();
        NDArray tgt = m.create(targets).toType(DataType.INT64, false);
        // each target's log-probability picked by index (a one-hot product read and wrote all 256 per byte)
        return logProbs.gather(tgt.expandDims(-1), -1).sum().neg().div(scalar(logProbs, tgt.size()));
    }

    /**
     * A 0-d array of {@code like}'s type holding {@code value}, in the engine's own memory.
     *
     * <p>Why not {@code x.mul(2.0)}: DJL makes the scalar of such an op from a Java buffer and
     * closes it at once, but autograd keeps the scalar for the backward pass (mul, div, pow,
     * maximum save their other operand), so the backward read memory the garbage collector had
     * freed: sporadic NaN gradients. Every op that records gradients takes its scalars from here.
     */
    public static NDArray scalar(NDArray like, double value) {
        try (NDArray borrowed = like.getManager().create(value)) {
            return borrowed.toType(like.getDataType(), false).duplicate();   // toType(same, true) aliases
        }
    }

    /** Forward of inputs (B, T) of ids 0..256, row r continuing {@code states.get(r)}. */
    public Output forward(NDManager m, Map<String, NDArray> p, int[][] inputs, List<FastState> states) {
        return forward(m, p, inputs, toEngine(m, states));
    }

    private Output forward(NDManager m, Map<String, NDArray> p, int[][] inputs, BatchState state) {
        Forwarded f = forwardLazy(m, p, inputs, state);
        double[] surprise = new double[config.blocks()];
        for (int b = 0; b < config.blocks(); b++) {
            surprise[b] = f.blocks().get(b).meanSurprise();
        }
        return new Output(f.logits(), f.state(), surprise);
    }

    /** A forward whose per-block statistics are still on the engine. */
    private record Forwarded(NDArray logits, BatchState state, List<BlockForward> blocks) {
    }

    private Forwarded forwardLazy(NDManager m, Map<String, NDArray> p, int[][] inputs, BatchState state) {
        NDArray emb = p.get("emb");
        NDArray ids = m.create(inputs).toType(DataType.INT64, false);
        NDArray x = ids.getNDArrayInternal().embedding(ids, emb, SparseFormat.DENSE).singletonOrThrow();
        List<Map<String, NDArray>> next = new ArrayList<>();
        List<BlockForward> blocks = new ArrayList<>();
        for (int b = 0; b < config.blocks(); b++) {
            BlockForward f = new BlockForward(config, m, p, "blocks." + b + ".", state.blocks().get(b));
            x = f.run(x);
            next.add(f.newState());
            blocks.add(f);
        }
        NDArray head = emb.get("0:" + HopeConfig.VOCAB);
        NDArray logits = rmsNorm(x, p.get("norm_f.g")).matMul(head.transpose());
        return new Forwarded(logits, new BatchState(next), blocks);
    }

    static NDArray rmsNorm(NDArray x, NDArray gain) {
        NDArray y = x.div(x.mul(x).mean(new int[] {-1}, true).add(scalar(x, EPS)).sqrt());   // x·x: square is a slow pow
        return gain == null ? y : y.mul(gain);
    }

    /** x Wᵀ in one engine call (torch linear). */
    static NDArray linear(NDArray x, NDArray w) {
        return x.getNDArrayInternal().linear(x, w, null).singletonOrThrow();
    }

    static NDArray silu(NDArray x) {
        return x.mul(Activation.sigmoid(x));
    }

    /** Engine arrays of host fast states, stacked along a new batch dimension. */
    private BatchState toEngine(NDManager m, List<FastState> rows) {
        List<Map<String, NDArray>> blocks = new ArrayList<>();
        for (int b = 0; b < config.blocks(); b++) {
            Map<String, NDArray> parts = new LinkedHashMap<>();
            for (String part : FastState.partShapes(config).keySet()) {
                NDList list = new NDList();
                for (FastState row : rows) {
                    list.add(row.part(b, part).toNDArray(m).expandDims(0));
                }
                parts.put(part, list.size() == 1 ? list.get(0) : NDArrays.concat(list, 0));
            }
            blocks.add(parts);
        }
        return new BatchState(blocks);
    }

    /**
     * The host fast states of rows 0 .. {@code lastInputs.length - 1}, row r's last input {@code lastInputs[r]}: every
     * state array of every block in one device-to-host transfer ({@link HostTensor#readAll}), cut into rows on the host.
     */
    public List<FastState> toHostRows(BatchState s, int[] lastInputs) {
        return new HostRead(s, List.of(), lastInputs, null).states();
    }

    static int[] unsigned(byte[] bytes) {
        int[] out = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = bytes[i] & 0xff;
        }
        return out;
    }
}

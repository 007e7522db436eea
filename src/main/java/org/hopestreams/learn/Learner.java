package org.hopestreams.learn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.hopestreams.context.ContextLevel;
import org.hopestreams.context.KeyContext;
import org.hopestreams.model.Autograd;
import org.hopestreams.model.FastState;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HopeModel;
import org.hopestreams.model.HopeParameters;
import org.hopestreams.model.HostTensor;
import org.hopestreams.model.Level;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Score, then learn, one record at a time, at four frequencies (MODEL.md "One record through the
 * learner"): the key's fast memory on every byte, HIGH on every record, MID on every window close,
 * LOW on every checkpoint.
 *
 * <p>Threading: a learner belongs to one thread (a stream task). {@link #score} and
 * {@link #complete} change nothing and may run on other threads while no update is in progress;
 * callers that query concurrently must exclude {@link #learn}, {@link #closeWindow} and
 * {@link #checkpoint}.
 *
 * <p>Native memory: parameters, moments and accumulators live in one manager owned by the learner
 * and freed by {@link #close}; every record works in a scoped manager closed before it returns.
 */
public final class Learner implements AutoCloseable {
    private static final double LN2 = Math.log(2);

    private final HopeConfig config;
    private final LearnerConfig learnerConfig;
    private final HopeModel model;
    private final FastStateStore fast;
    private final NDManager root;
    private final Map<String, NDArray> params = new LinkedHashMap<>();
    private final Map<Level, LevelOptimizer> levels = new EnumMap<>(Level.class);
    private final LearnerCounters counters;
    private final PhaseTimes phases = new PhaseTimes();
    private final java.util.EnumSet<StateGroup> dirty = java.util.EnumSet.noneOf(StateGroup.class);

    private final boolean queryOnly;
    /** The exact-context level, or null when it is off. */
    private ContextLevel context;

    Learner(HopeConfig config, LearnerConfig learnerConfig, Map<String, HostTensor> values,
            Map<Level, HostTensor[]> optimizerState, LearnerCounters counters, FastStateStore fast, Device device,
            ContextLevel context) {
        this(config, learnerConfig, values, optimizerState, counters, fast, device, false, context);
    }

    private Learner(HopeConfig config, LearnerConfig learnerConfig, Map<String, HostTensor> values,
                    Map<Level, HostTensor[]> optimizerState, LearnerCounters counters, FastStateStore fast,
                    Device device, boolean queryOnly, ContextLevel context) {
        this.queryOnly = queryOnly;
        ContextLevel.Config cc = learnerConfig.contextConfig();
        this.context = cc.mode() == ContextLevel.Mode.OFF ? null : context != null ? context : new ContextLevel(cc);
        this.config = config;
        this.learnerConfig = learnerConfig;
        this.model = new HopeModel(config);
        this.fast = fast;
        this.counters = counters;
        this.root = NDManager.newBaseManager(device);
        try {
            load(values, optimizerState);
        } catch (RuntimeException e) {
            root.close();
            throw e;
        }
    }

    private void load(Map<String, HostTensor> values, Map<Level, HostTensor[]> optimizerState) {
        Map<String, long[]> shapes = HopeParameters.shapes(config);
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            HostTensor v = values.get(e.getKey());
            if (v == null || !java.util.Arrays.equals(v.shape(), e.getValue()) || v.type() != config.type()) {
                throw new IllegalArgumentException("parameter " + e.getKey() + ": expected shape "
                        + java.util.Arrays.toString(e.getValue()) + " " + config.type() + ", got " + v);
            }
            params.put(e.getKey(), v.toNDArray(root));
        }
        if (queryOnly) {
            return;
        }
        for (Map.Entry<Level, List<String>> e : HopeParameters.byLevel(config).entrySet()) {
            long[] sizes = e.getValue().stream().mapToLong(n -> HostTensor.elements(shapes.get(n))).toArray();
            long total = java.util.Arrays.stream(sizes).sum();
            HostTensor[] st = optimizerState == null ? null : optimizerState.get(e.getKey());
            NDArray[] arrays = new NDArray[3];
            for (int i = 0; i < 3; i++) {
                HostTensor h = st == null || st[i] == null ? HostTensor.zeros(config.type(), total) : st[i];
                if (h.size() != total || h.type() != config.type()) {
                    throw new IllegalArgumentException("optimizer state of " + e.getKey() + " has " + h.size()
                            + " values of " + h.type() + ", the model's level has " + total + " of " + config.type());
                }
                arrays[i] = h.toNDArray(root);
            }
            LevelOptimizer opt = new LevelOptimizer(e.getKey(), e.getValue(), sizes, arrays[0], arrays[1], arrays[2]);
            if (learnerConfig.anchored() && e.getKey() != Level.LOW) {
                HostTensor a = st == null || st.length < 4 ? null : st[3];
                if (a == null) {
                    // no anchor stored (a start from a checkpoint without one): the weights as they are
                    try (NDManager scope = root.newSubManager()) {
                        a = HostTensor.of(opt.flatWeights(params, scope));
                    }
                }
                if (a.size() != total || a.type() != config.type()) {
                    throw new IllegalArgumentException("anchor of " + e.getKey() + " has " + a.size() + " values of "
                            + a.type() + ", the model's level has " + total + " of " + config.type());
                }
                opt.anchor = a.toNDArray(root);
            }
            opt.t = counters.adamSteps[e.getKey().ordinal()];
            opt.accumulated = counters.accumulated[e.getKey().ordinal()];
            levels.put(e.getKey(), opt);
        }
    }

    /** A new learner with freshly initialised parameters (deterministic in {@code seed}). */
    public static Learner create(HopeConfig config, LearnerConfig learnerConfig, long seed, FastStateStore fast,
                                 Device device) {
        return new Learner(config, learnerConfig, HopeParameters.initialize(config, seed), null,
                new LearnerCounters(), fast, device, null);
    }

    /**
     * A learner that only answers queries ({@link #score}, {@link #complete}): parameters, fast
     * states and the exact-context level of {@code learnerConfig} whose global model and mixer are
     * {@code context} (null: fresh); no optimizer state. {@link #replaceParameters} and
     * {@link #replaceContext} move it to a newer model.
     */
    public static Learner forQueries(HopeConfig config, LearnerConfig learnerConfig, Map<String, HostTensor> params,
                                     ContextLevel context, FastStateStore fast, Device device) {
        return new Learner(config, learnerConfig, params, null, new LearnerCounters(), fast, device, true, context);
    }

    /** Query learners only: answers from now on with this exact-context level (a published copy, never the live one). */
    public void replaceContext(ContextLevel published) {
        if (!queryOnly) {
            throw new IllegalStateException("only a query learner's context level may be replaced");
        }
        if (context != null && published != null) {
            context = published;
        }
    }

    /** The exact-context level (live: owner's thread only), or null when it is off. */
    public ContextLevel contextLevel() {
        return context;
    }

    /** Query learners only: takes these parameter values (each checked as at load). */
    public void replaceParameters(Map<String, HostTensor> values) {
        if (!queryOnly) {
            throw new IllegalStateException("only a query learner's parameters may be replaced");
        }
        checkFit(values);
        values.forEach((k, v) -> params.put(k, v.toNDArray(root)).close());
    }

    /**
     * Replaces the weights of these parameters in a live learner (a global version of the slow levels adopted
     * across partitions, docs/streaming.md); their levels' optimizer moments and accumulators stay as they are.
     * Each value is checked as at load; nothing changes if one does not fit.
     */
    public void setWeights(Map<String, HostTensor> values) {
        if (queryOnly) {
            throw new IllegalStateException("a query learner takes parameters with replaceParameters");
        }
        checkFit(values);
        values.forEach((k, v) -> {
            params.put(k, v.toNDArray(root)).close();
            Level level = Level.ofParameter(k);
            dirty.add(level == Level.HIGH ? StateGroup.HIGH : level == Level.MID ? StateGroup.MID_WEIGHTS
                    : StateGroup.LOW_WEIGHTS);
        });
    }

    /** Throws if a value is not a parameter of this model with its shape and type. */
    private void checkFit(Map<String, HostTensor> values) {
        Map<String, long[]> shapes = HopeParameters.shapes(config);
        for (Map.Entry<String, HostTensor> e : values.entrySet()) {
            long[] shape = shapes.get(e.getKey());
            HostTensor v = e.getValue();
            if (shape == null || !java.util.Arrays.equals(shape, v.shape()) || v.type() != config.type()) {
                throw new IllegalArgumentException("parameter " + e.getKey() + " does not fit the model: " + v);
            }
        }
    }

    public HopeConfig config() {
        return config;
    }

    public LearnerConfig learnerConfig() {
        return learnerConfig;
    }

    public FastStateStore fastStates() {
        return fast;
    }

    /**
     * Scores {@code record} under the key's current state (the prequential score), then learns from
     * it. {@code streamTimeMs} drives stream-time MID windows (see {@link #advanceStreamTime}). A
     * record that is empty, over the cap, or whose
     * loss or gradient is not finite changes nothing and is returned with the reason.
     *
     * @throws UnreadableStateException if the key's stored fast state cannot be decoded; nothing has changed then
     */
    public LearnOutcome learn(String key, byte[] record, long streamTimeMs) {
        if (queryOnly) {
            throw new IllegalStateException("a query learner does not learn");
        }
        String bad = validate(record);
        if (bad != null) {
            return rejected(bad, record.length);
        }
        phases.start();
        FastState state = stateOf(key);
        if (context != null && !context.config().mode().usesNetwork()) {
            return learnContextOnly(key, record, state);
        }
        try (NDManager scope = root.newSubManager()) {
            Map<String, NDArray> leaves = Autograd.views(params, scope, true);
            HopeModel.RecordLoss loss;
            boolean was = Autograd.setRecording(true);
            try {
                loss = model.recordLoss(scope, leaves, record, state);
                phases.lap(PhaseTimes.Phase.FORWARD);
                Autograd.backward(loss.lossNats());   // a non-finite loss is rejected below, before any update
                phases.lap(PhaseTimes.Phase.BACKWARD);
            } finally {
                Autograd.setRecording(was);
            }
            // One host read for the record: its loss, new fast state and surprise, the levels' gradient norms and,
            // with the exact-context level, the network's log-probabilities.
            LevelGradients lg = levelGradients(List.copyOf(levels.values()), leaves, scope);
            double[][] host = loss.readWith(lg.toRead(context == null ? null : loss.logProbs()));
            double nats = loss.nats();
            if (!Double.isFinite(nats)) {
                return rejected("non-finite loss (" + nats + ")", record.length);
            }
            Map<Level, NDArray> grads = lg.clipped(host, learnerConfig.gradClip());
            for (LevelOptimizer opt : levels.values()) {
                if (grads.get(opt.level) == null) {
                    return rejected("non-finite gradient in level " + opt.level, record.length);
                }
            }
            phases.lap(PhaseTimes.Phase.GRADIENTS);
            double bits = nats / LN2;
            FastState next = loss.state();
            if (context != null) {
                double[] logProbs = finite(host[host.length - 1]);
                if (logProbs == null) {
                    return rejected("non-finite network log-probability", record.length);
                }
                KeyContext kc = ownKeyContext(state);
                bits = context.learn(kc, record, logProbs) / record.length;
                next = next.withContext(kc);
                dirty.add(StateGroup.CONTEXT);
            }
            advanceStreamTime(streamTimeMs);
            fast.put(key, next);
            phases.lap(PhaseTimes.Phase.STATE);
            applyLevels(grads, scope);
            counters.records++;
            phases.lap(PhaseTimes.Phase.UPDATE);
            boolean surprising = learnerConfig.ticksMax() > 0 && bits > learnerConfig.ticksThreshold();
            double[] ticks = surprising ? ticks(key, record, state, next.context(), nats / LN2, scope)
                    : new double[0];
            return new LearnOutcome(true, null, record.length, bits, loss.surprise(), levelSteps(), counters.version, ticks);
        }
    }

    /** A record of a batch: its key, bytes and stream time (see {@link #learnBatch}). */
    public record BatchItem(String key, byte[] bytes, long streamTimeMs) {
    }

    /**
     * Learns a batch of records (docs/streaming.md "Batched learning"): the list is cut, in order, into
     * sub-batches, each learned in one forward and one backward with each record in its own row (its
     * key's fast state). A sub-batch ends before a record whose key it already holds (so a key's records
     * are learned in order, each after the one before), before a record that opens a new stream-time MID
     * window or LOW period, and at the record that closes a record-count window (or HIGH period); during
     * warm-up (and with extra ticks on, {@link LearnerConfig#ticksMax}) records are learned one at a time. In a sub-batch every record is scored before any weight
     * changes; then the keys' fast states are stored, the exact-context level learns record after record
     * (each with its own network log-probabilities), and the levels take the batch's gradient: HIGH
     * steps once on the sum, MID and LOW add the sum and count its records. Clipping: each level's
     * summed gradient is clipped to {@code gradClip} times the sub-batch's records (one backward yields
     * no per-record gradients); a sub-batch of one record is {@link #learn} itself.
     *
     * <p>Records that are empty or over the cap are rejected in place. If any record of a sub-batch has
     * a non-finite loss, log-probability or gradient, nothing of the batch's forward is kept and its
     * records are learned one at a time with {@link #learn} (which rejects the bad one).
     *
     * @return one outcome per record, in order, for a prefix of {@code items}: the learner stops before a
     *     record whose key's stored state cannot be read (learn that one with {@link #learn}, which throws
     *     {@link UnreadableStateException} having changed nothing, then continue with the rest)
     */
    public List<LearnOutcome> learnBatch(List<BatchItem> items) {
        return learnBatch(items, null);
    }

    /**
     * As {@link #learnBatch(List)}, telling {@code afterEach} after each sub-batch (and after each record
     * learned or rejected alone) the index of its first item and its outcomes, before the next one starts:
     * a caller that must act between sub-batches (write a LOW version that a sub-batch consolidated) does it there.
     */
    public List<LearnOutcome> learnBatch(List<BatchItem> items,
                                         java.util.function.BiConsumer<Integer, List<LearnOutcome>> afterEach) {
        if (queryOnly) {
            throw new IllegalStateException("a query learner does not learn");
        }
        List<LearnOutcome> out = new java.util.ArrayList<>(items.size()) {
            @Override
            public boolean add(LearnOutcome o) {
                super.add(o);
                if (afterEach != null) {
                    afterEach.accept(size() - 1, List.of(o));
                }
                return true;
            }

            @Override
            public boolean addAll(java.util.Collection<? extends LearnOutcome> os) {
                int start = size();
                super.addAll(os);
                if (afterEach != null) {
                    afterEach.accept(start, List.copyOf(os));
                }
                return true;
            }
        };
        int i = 0;
        while (i < items.size()) {
            BatchItem first = items.get(i);
            String bad = validate(first.bytes());
            if (bad != null) {
                out.add(rejected(bad, first.bytes().length));
                i++;
                continue;
            }
            // with extra ticks on, a record's ticks depend on its own loss after its own update: one at a time
            boolean single = inWarmup() || items.size() - i == 1 || config.selfModifying() || learnerConfig.ticksMax() > 0
                    || (context != null && !context.config().mode().usesNetwork());
            if (single) {
                try {
                    stateOf(first.key());
                } catch (UnreadableStateException e) {
                    return out;
                }
                out.add(learn(first.key(), first.bytes(), first.streamTimeMs()));
                i++;
                continue;
            }
            // Form the sub-batch: records i .. j-1, with the rejected ones among them answered in place.
            List<Integer> rows = new java.util.ArrayList<>();
            List<FastState> states = new java.util.ArrayList<>();
            java.util.Set<String> keys = new java.util.HashSet<>();
            Clock clock = new Clock();
            int j = i;
            java.util.Set<Integer> rejectedHere = new java.util.HashSet<>();
            while (j < items.size()) {
                BatchItem it = items.get(j);
                String why = validate(it.bytes());
                if (why != null) {
                    rejectedHere.add(j);
                    j++;
                    continue;
                }
                if (!rows.isEmpty() && (keys.contains(it.key()) || clock.opens(it.streamTimeMs()))) {
                    break;
                }
                FastState st;
                try {
                    st = stateOf(it.key());
                } catch (UnreadableStateException e) {
                    break;   // it starts the next sub-batch, where it is reported
                }
                clock.add(it.streamTimeMs());
                rows.add(j);
                states.add(st);
                keys.add(it.key());
                j++;
                if (clock.closesByCount()) {
                    break;
                }
            }
            if (rows.isEmpty()) {
                return out;   // the first record's key has an unreadable state
            }
            // Rejected records inside the sub-batch: answered in order after it (they change nothing).
            List<LearnOutcome> learned = rows.size() == 1
                    ? List.of(learn(items.get(rows.get(0)).key(), items.get(rows.get(0)).bytes(),
                    items.get(rows.get(0)).streamTimeMs()))
                    : learnRows(rows.stream().map(items::get).toList(), states);
            int r = 0;
            List<LearnOutcome> sub = new java.util.ArrayList<>(j - i);
            for (int k = i; k < j; k++) {
                if (rejectedHere.contains(k)) {
                    sub.add(rejected(validate(items.get(k).bytes()), items.get(k).bytes().length));
                } else {
                    sub.add(learned.get(r++));
                }
            }
            out.addAll(sub);
            i = j;
        }
        return out;
    }

    /**
     * Where a sub-batch must end (see {@link #learnBatch}): a simulation of the MID and LOW stream-time
     * clocks and the record-count windows, as {@link #advanceStreamTime} and {@link #applyLevels} move them.
     */
    private final class Clock {
        long window = counters.window;
        long low = counters.lowWindow;
        long mid = levels.get(Level.MID).accumulated;
        long high = levels.get(Level.HIGH).accumulated;

        /** Whether a record at this stream time would close the MID window or the LOW period. */
        boolean opens(long t) {
            boolean w = learnerConfig.windowMillis() > 0 && window != Long.MIN_VALUE
                    && Math.floorDiv(t, learnerConfig.windowMillis()) > window;
            boolean p = learnerConfig.checkpointMillis() > 0 && low != Long.MIN_VALUE
                    && Math.floorDiv(t, learnerConfig.checkpointMillis()) > low;
            return w || p;
        }

        void add(long t) {
            if (learnerConfig.windowMillis() > 0) {
                long w = Math.floorDiv(t, learnerConfig.windowMillis());
                if (window != Long.MIN_VALUE && w > window && mid > 0) {
                    mid = 0;   // the window closes before this record's gradient is added
                }
                window = Math.max(window, w);
            }
            if (learnerConfig.checkpointMillis() > 0) {
                low = Math.max(low, Math.floorDiv(t, learnerConfig.checkpointMillis()));
            }
            mid++;
            high++;
        }

        /** Whether the records so far fill the record-count MID window or HIGH period. */
        boolean closesByCount() {
            return (learnerConfig.windowRecords() > 0 && mid >= learnerConfig.windowRecords())
                    || (learnerConfig.highPeriodRecords() > 1 && high >= learnerConfig.highPeriodRecords());
        }
    }

    /** One forward and one backward for records of distinct keys (see {@link #learnBatch}). */
    private List<LearnOutcome> learnRows(List<BatchItem> rows, List<FastState> states) {
        phases.start();
        int n = rows.size();
        List<byte[]> records = rows.stream().map(BatchItem::bytes).toList();
        try (NDManager scope = root.newSubManager()) {
            Map<String, NDArray> leaves = Autograd.views(params, scope, true);
            HopeModel.BatchLoss loss;
            boolean was = Autograd.setRecording(true);
            try {
                loss = model.batchLoss(scope, leaves, records, states);
                phases.lap(PhaseTimes.Phase.FORWARD);
                Autograd.backward(loss.total());   // a non-finite loss sends the rows one by one below, before any update
                phases.lap(PhaseTimes.Phase.BACKWARD);
            } finally {
                Autograd.setRecording(was);
            }
            // One host read for the batch (see learn)
            LevelGradients lg = levelGradients(List.copyOf(levels.values()), leaves, scope);
            double[][] host = loss.host().readWith(lg.toRead(context == null ? null : loss.logProbs()));
            double[] nats = loss.nats();
            for (double v : nats) {
                if (!Double.isFinite(v)) {
                    return oneByOne(rows);
                }
            }
            Map<Level, NDArray> grads = lg.clipped(host, learnerConfig.gradClip() * n);
            if (grads.containsValue(null)) {
                return oneByOne(rows);
            }
            double[] lp = null;
            if (context != null) {
                lp = host[host.length - 1];
                for (int r = 0; r < n; r++) {
                    int t = (int) loss.logProbs().getShape().get(1);
                    for (int k = r * t * 256, e = k + records.get(r).length * 256; k < e; k++) {
                        if (!Double.isFinite(lp[k])) {
                            return oneByOne(rows);
                        }
                    }
                }
            }
            phases.lap(PhaseTimes.Phase.GRADIENTS);
            double[] bits = new double[n];
            List<FastState> next = new java.util.ArrayList<>(loss.states());
            for (int r = 0; r < n; r++) {
                bits[r] = nats[r] / LN2;
                if (context != null) {
                    int t = (int) loss.logProbs().getShape().get(1);
                    int len = records.get(r).length;
                    double[] own = java.util.Arrays.copyOfRange(lp, r * t * 256, (r * t + len) * 256);
                    KeyContext kc = ownKeyContext(states.get(r));
                    bits[r] = context.learn(kc, records.get(r), own) / len;
                    next.set(r, next.get(r).withContext(kc));
                    dirty.add(StateGroup.CONTEXT);
                }
            }
            for (int r = 0; r < n; r++) {
                advanceStreamTime(rows.get(r).streamTimeMs());
            }
            for (int r = 0; r < n; r++) {
                fast.put(rows.get(r).key(), next.get(r));
            }
            phases.lap(PhaseTimes.Phase.STATE);
            applyBatchLevels(grads, n, scope);
            counters.records += n;
            phases.lap(PhaseTimes.Phase.UPDATE);
            List<LearnOutcome> out = new java.util.ArrayList<>(n);
            long[] steps = levelSteps();
            for (int r = 0; r < n; r++) {
                out.add(new LearnOutcome(true, null, records.get(r).length, bits[r], loss.surprise()[r], steps,
                        counters.version));
            }
            return out;
        }
    }

    /** The fallback of a batch with a non-finite value: every record by itself, as {@link #learn} does it. */
    private List<LearnOutcome> oneByOne(List<BatchItem> rows) {
        List<LearnOutcome> out = new java.util.ArrayList<>(rows.size());
        for (BatchItem it : rows) {
            out.add(learn(it.key(), it.bytes(), it.streamTimeMs()));
        }
        return out;
    }

    /** {@link #applyLevels} for a sub-batch of {@code n} records past warm-up: HIGH steps once, MID and LOW count n. */
    private void applyBatchLevels(Map<Level, NDArray> grads, int n, NDManager scope) {
        dirty.addAll(java.util.EnumSet.of(StateGroup.META, StateGroup.HIGH, StateGroup.MID_ACC, StateGroup.LOW_ACC));
        if (learnerConfig.highPeriodRecords() <= 1) {
            step(levels.get(Level.HIGH), grads.get(Level.HIGH), scope);
        } else {
            levels.get(Level.HIGH).accumulate(grads.get(Level.HIGH), n, scope);
            if (levels.get(Level.HIGH).accumulated >= learnerConfig.highPeriodRecords()) {
                stepAccumulated(Level.HIGH);
            }
        }
        levels.get(Level.MID).accumulate(grads.get(Level.MID), n, scope);
        levels.get(Level.LOW).accumulate(grads.get(Level.LOW), n, scope);
        if (learnerConfig.windowRecords() > 0 && levels.get(Level.MID).accumulated >= learnerConfig.windowRecords()) {
            closeWindow();
        }
    }

    /**
     * Extra ticks on a surprising record (LearnerConfig ticksMax): up to T times, the record runs again
     * from its starting fast state {@code start} under the weights as they are now (tick 1: after the
     * record's own update), and is scored; that run's fast-memory write becomes the key's state. If its
     * loss fell by more than ε below the previous run's ({@code bits}: the network's prequential loss),
     * HIGH steps on its clipped gradient and another tick may follow; otherwise the ticks end. The
     * exact-context level learned the record once and is not run again. Returns each tick's bits per byte.
     */
    private double[] ticks(String key, byte[] record, FastState start, KeyContext kc, double bits, NDManager scope) {
        LevelOptimizer high = levels.get(Level.HIGH);
        double[] scored = new double[learnerConfig.ticksMax()];
        int taken = 0;
        double previous = bits;
        FastState latest = null;
        while (taken < scored.length) {
            try (NDManager tick = scope.newSubManager()) {
                Map<String, NDArray> leaves = Autograd.views(params, tick, false);
                high.names.forEach(n -> leaves.get(n).setRequiresGradient(true));
                boolean was = Autograd.setRecording(true);
                HopeModel.RecordLoss loss;
                double now;
                try {
                    loss = model.recordLoss(tick, leaves, record, start);
                    now = loss.lossNats().toType(DataType.FLOAT64, false).getDouble() / LN2;
                    if (!Double.isFinite(now)) {
                        break;
                    }
                    scored[taken++] = now;
                    latest = loss.state().withContext(kc);
                    if (previous - now <= learnerConfig.ticksMinGain()) {
                        break;
                    }
                    Autograd.backward(loss.lossNats());
                } finally {
                    Autograd.setRecording(was);
                }
                NDArray g = clippedGradient(high, leaves, tick);
                if (g == null) {
                    break;
                }
                step(high, g, tick);
                previous = now;
            }
        }
        if (latest != null) {
            fast.put(key, latest);
        }
        counters.ticks += taken;
        phases.lap(PhaseTimes.Phase.TICKS);
        return java.util.Arrays.copyOf(scored, taken);
    }

    /** Extra ticks taken so far on surprising records. */
    public long ticksTaken() {
        return counters.ticks;
    }

    /** The context level alone (a classical baseline): the network neither runs nor learns, no level steps. */
    private LearnOutcome learnContextOnly(String key, byte[] record, FastState state) {
        KeyContext kc = ownKeyContext(state);
        double bits = context.learn(kc, record, null) / record.length;
        fast.put(key, state.withContext(kc));
        counters.records++;
        dirty.add(StateGroup.META);
        dirty.add(StateGroup.CONTEXT);
        return new LearnOutcome(true, null, record.length, bits, new double[config.blocks()], levelSteps(),
                counters.version);
    }

    /**
     * The key's context to advance in place, for {@link #learn} only: the state it came from is
     * replaced in the store by the one that carries it on, and nothing else holds it (a store that
     * keeps objects gets the new state; one that encodes has encoded the old one). Copying it instead
     * cost 21 ms per record for a key of 12,000 contexts.
     */
    private KeyContext ownKeyContext(FastState state) {
        return fits(state.context()) ? context.own(state.context()) : context.freshKey();
    }

    /** Whether a key's stored context can serve this level (none, or one of other orders, cannot). */
    private boolean fits(KeyContext kc) {
        return kc != null && java.util.Arrays.equals(kc.model().orders(), context.config().orders());
    }

    /** A copy of the key's context to advance (a fresh one for a key that has none yet). */
    private KeyContext keyContext(FastState state) {
        return fits(state.context()) ? context.own(state.context().copy()) : context.freshKey();
    }

    /** The record's log-probabilities on the host (T x 256, natural log), or null if any is not finite. */
    private static double[] hostLogProbs(HopeModel.RecordLoss loss) {
        return finite(loss.logProbs().stopGradient().toType(DataType.FLOAT64, false).toDoubleArray());
    }

    /**
     * Tumbling MID windows of stream time: an accepted record whose window lies after the current
     * one closes the current window before its own gradient is added, so it counts in its own
     * window (it was scored before the close, as a stream-time punctuation fires after the record
     * that advanced stream time). A rejected record never gets here: it moves no clock.
     */
    private void advanceStreamTime(long streamTimeMs) {
        if (inWarmup()) {
            return;
        }
        if (learnerConfig.windowMillis() > 0) {
            long window = Math.floorDiv(streamTimeMs, learnerConfig.windowMillis());
            if (counters.window != Long.MIN_VALUE && window > counters.window) {
                closeWindow();
            }
            counters.window = Math.max(counters.window, window);
        }
        if (learnerConfig.checkpointMillis() > 0) {
            long period = Math.floorDiv(streamTimeMs, learnerConfig.checkpointMillis());
            if (counters.lowWindow != Long.MIN_VALUE && period > counters.lowWindow) {
                checkpoint();
            }
            counters.lowWindow = Math.max(counters.lowWindow, period);
        }
    }

    private void applyLevels(Map<Level, NDArray> grads, NDManager scope) {
        dirty.addAll(java.util.EnumSet.of(StateGroup.META, StateGroup.HIGH, StateGroup.MID_ACC, StateGroup.LOW_ACC));
        if (inWarmup()) {
            dirty.addAll(java.util.EnumSet.allOf(StateGroup.class));
            for (LevelOptimizer opt : levels.values()) {
                step(opt, grads.get(opt.level), scope);
            }
            return;
        }
        if (learnerConfig.highPeriodRecords() <= 1) {
            step(levels.get(Level.HIGH), grads.get(Level.HIGH), scope);
        } else {
            levels.get(Level.HIGH).accumulate(grads.get(Level.HIGH), scope);
            if (levels.get(Level.HIGH).accumulated >= learnerConfig.highPeriodRecords()) {
                stepAccumulated(Level.HIGH);
            }
        }
        levels.get(Level.MID).accumulate(grads.get(Level.MID), scope);
        levels.get(Level.LOW).accumulate(grads.get(Level.LOW), scope);
        if (learnerConfig.windowRecords() > 0 && levels.get(Level.MID).accumulated >= learnerConfig.windowRecords()) {
            closeWindow();
        }
    }

    private void step(LevelOptimizer opt, NDArray grad, NDManager scope) {
        opt.step(params, grad, learnerConfig, scope);
        countStep(opt.level);
    }

    private void countStep(Level level) {
        counters.steps[level.ordinal()]++;
        if (level == Level.LOW) {
            counters.version++;
        }
    }

    /**
     * One minibatch step of every parameter (pretraining): rows of {@code inputs} continue fresh fast
     * memories whose last input is each row's first input; targets are the rows' next bytes. The
     * gradient is clipped in global norm to {@code clip}, each level steps with {@code lr}. Counts
     * one step per level; no fast state is stored. Returns the batch's mean loss in bits per byte.
     */
    double trainBatch(int[][] inputs, int[][] targets, double lr, double clip) {
        return trainBatch(inputs, targets, new ArrayList<>(java.util.Collections.nCopies(inputs.length, (FastState) null)),
                false, lr, clip);
    }

    /**
     * As {@link #trainBatch(int[][], int[][], double, double)}, row r continuing {@code states.get(r)}
     * (null: a fresh fast memory); with {@code carry} each row's state after its window replaces it in
     * {@code states} (detached: the gradient stops at a window's start).
     */
    double trainBatch(int[][] inputs, int[][] targets, List<FastState> states, boolean carry, double lr, double clip) {
        FastState fresh = FastState.fresh(config);
        List<FastState> start = new ArrayList<>();
        for (int r = 0; r < inputs.length; r++) {
            start.add(states.get(r) != null ? states.get(r) : new FastState(fresh.tensors(), inputs[r][0]));
        }
        try (NDManager scope = root.newSubManager()) {
            Map<String, NDArray> leaves = Autograd.views(params, scope, true);
            NDArray loss;
            boolean was = Autograd.setRecording(true);
            try {
                HopeModel.Output out = model.forward(scope, leaves, inputs, start);
                loss = model.crossEntropy(out.logits(), targets);
                Autograd.backward(loss);
                if (carry) {
                    int[] last = new int[inputs.length];
                    for (int r = 0; r < inputs.length; r++) {
                        last[r] = targets[r][targets[r].length - 1];
                    }
                    List<FastState> host = model.toHostRows(out.state(), last);
                    for (int r = 0; r < inputs.length; r++) {
                        states.set(r, host.get(r));
                    }
                }
            } finally {
                Autograd.setRecording(was);
            }
            Map<Level, NDArray> grads = new EnumMap<>(Level.class);
            double sq = 0;
            for (LevelOptimizer opt : levels.values()) {
                NDArray g = flatGradient(opt, leaves, scope);
                sq += g.mul(g).sum().toType(DataType.FLOAT64, false).getDouble();
                grads.put(opt.level, g);
            }
            double nats = loss.toType(DataType.FLOAT64, false).getDouble();
            if (!Double.isFinite(sq) || !Double.isFinite(nats)) {
                throw new IllegalStateException("pretraining diverged: loss " + nats + ", gradient norm² " + sq);
            }
            double scale = clip > 0 && Math.sqrt(sq) > clip ? clip / (Math.sqrt(sq) + 1e-12) : 1;
            for (LevelOptimizer opt : levels.values()) {
                opt.step(params, grads.get(opt.level).mul(scale), lr, learnerConfig, scope);
                counters.steps[opt.level.ordinal()]++;
            }
            return nats / LN2;
        }
    }

    /** Closes the MID window: one step on the gradient summed over the window. False if it was empty. */
    public boolean closeWindow() {
        return stepAccumulated(Level.MID);
    }

    /**
     * The LOW consolidation: one step on the gradient summed since the last one, new version.
     * Called by the owner (a wall-clock punctuation) or by {@link #learn} when a record starts a new
     * stream-time period ({@link LearnerConfig#checkpointMillis}).
     */
    public boolean checkpoint() {
        if (!stepAccumulated(Level.LOW)) {
            return false;
        }
        counters.consolidations++;
        if (learnerConfig.anchored()) {
            try (NDManager scope = root.newSubManager()) {
                for (Level l : List.of(Level.HIGH, Level.MID)) {
                    levels.get(l).consolidateAnchor(params, learnerConfig.anchorAbsorb(), learnerConfig.anchorPull(), scope);
                }
            }
            dirty.add(StateGroup.HIGH);
            dirty.add(StateGroup.MID_WEIGHTS);
        }
        return true;
    }

    /** LOW consolidations so far (not counting warm-up steps). */
    public long consolidations() {
        return counters.consolidations;
    }

    /** The state groups changed since the last {@link #clearDirty}; see {@link LearnerSnapshots#groups}. */
    public java.util.Set<StateGroup> dirtyGroups() {
        return java.util.Collections.unmodifiableSet(java.util.EnumSet.copyOf(dirty));
    }

    public void clearDirty() {
        dirty.clear();
    }

    private boolean stepAccumulated(Level level) {
        LevelOptimizer opt = levels.get(level);
        if (opt.accumulated == 0) {
            return false;
        }
        try (NDManager scope = root.newSubManager()) {
            opt.stepAccumulated(params, learnerConfig, scope);
        }
        dirty.add(StateGroup.META);
        if (level == Level.HIGH) {
            dirty.add(StateGroup.HIGH);
        } else {
            dirty.add(level == Level.MID ? StateGroup.MID_WEIGHTS : StateGroup.LOW_WEIGHTS);
            dirty.add(level == Level.MID ? StateGroup.MID_ACC : StateGroup.LOW_ACC);
        }
        countStep(level);
        return true;
    }

    /** Each level's flat gradient and its squared norm, still on the engine, in the order of the levels. */
    private record LevelGradients(List<LevelOptimizer> opts, List<NDArray> flat, List<NDArray> squares) {
        /** What to read on the host: the squared norms, then {@code also} when not null. */
        List<NDArray> toRead(NDArray also) {
            List<NDArray> out = new java.util.ArrayList<>(squares);
            if (also != null) {
                out.add(also);
            }
            return out;
        }

        /**
         * The gradients clipped in norm to {@code clip} (0: not clipped), from the squared norms read on the host
         * ({@code host}'s first entries, in order); a level's entry is null where its gradient is not finite.
         */
        Map<Level, NDArray> clipped(double[][] host, double clip) {
            Map<Level, NDArray> out = new EnumMap<>(Level.class);
            for (int i = 0; i < opts.size(); i++) {
                double sq = host[i][0];
                if (!Double.isFinite(sq)) {
                    out.put(opts.get(i).level, null);
                    continue;
                }
                double norm = Math.sqrt(sq);
                NDArray g = flat.get(i);
                out.put(opts.get(i).level, clip > 0 && norm > clip ? g.mul(clip / (norm + 1e-12)) : g);
            }
            return out;
        }
    }

    private LevelGradients levelGradients(List<LevelOptimizer> opts, Map<String, NDArray> leaves, NDManager scope) {
        List<NDArray> flat = new java.util.ArrayList<>(opts.size());
        List<NDArray> squares = new java.util.ArrayList<>(opts.size());
        for (LevelOptimizer opt : opts) {
            NDArray g = flatGradient(opt, leaves, scope);
            flat.add(g);
            squares.add(g.mul(g).sum());
        }
        return new LevelGradients(opts, flat, squares);
    }

    /** {@code values} when every one is finite, else null. */
    private static double[] finite(double[] values) {
        for (double v : values) {
            if (!Double.isFinite(v)) {
                return null;
            }
        }
        return values;
    }

    /** The level's gradient (flat), clipped in norm to gradClip; null if it is not finite. */
    private NDArray clippedGradient(LevelOptimizer opt, Map<String, NDArray> leaves, NDManager scope) {
        LevelGradients lg = levelGradients(List.of(opt), leaves, scope);
        double[][] sq = HostTensor.readAll(lg.squares()).stream().map(HostTensor::toDoubles).toArray(double[][]::new);
        return lg.clipped(sq, learnerConfig.gradClip()).get(opt.level);
    }

    private NDArray flatGradient(LevelOptimizer opt, Map<String, NDArray> leaves, NDManager scope) {
        NDList parts = new NDList();
        for (String n : opt.names) {
            NDArray leaf = leaves.get(n);
            NDArray g = leaf.getGradient();
            g.attach(scope);
            parts.add(g.toType(leaf.getDataType(), false).reshape(-1));
        }
        return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts);
    }

    private String validate(byte[] record) {
        if (record.length == 0) {
            return "empty record: nothing to score or learn";
        }
        if (record.length > learnerConfig.maxRecordBytes()) {
            return "record of " + record.length + " bytes is over the hard cap of " + learnerConfig.maxRecordBytes()
                    + " bytes (maxRecordBytes); split it before learning";
        }
        return null;
    }

    private LearnOutcome rejected(String reason, int bytes) {
        counters.rejected++;
        return LearnOutcome.rejected(reason, bytes, levelSteps(), counters.version);
    }

    private boolean inWarmup() {
        return counters.records < learnerConfig.warmupRecords();
    }

    private FastState stateOf(String key) {
        FastState s = fast.get(key);
        return s == null ? FastState.fresh(config) : s;
    }

    /** Bits per byte of {@code text} continuing the key's state; changes nothing. */
    public double score(String key, byte[] text) {
        if (text.length == 0) {
            throw new IllegalArgumentException("cannot score an empty text");
        }
        FastState state = stateOf(key);
        if (context != null && !context.config().mode().usesNetwork()) {
            return context.score(keyContext(state), text, null) / text.length;
        }
        try (NDManager scope = root.newSubManager()) {
            boolean was = Autograd.setRecording(false);
            try {
                Map<String, NDArray> p = Autograd.views(params, scope, false);
                HopeModel.RecordLoss loss = model.recordLoss(scope, p, text, state);
                if (context != null) {
                    double[] lp = hostLogProbs(loss);
                    return lp == null ? Double.NaN : context.score(keyContext(state), text, lp) / text.length;
                }
                return loss.lossNats().toType(DataType.FLOAT64, false).getDouble() / LN2;
            } finally {
                Autograd.setRecording(was);
            }
        }
    }

    /**
     * Continues {@code prompt} for the key by up to {@code maxBytes} bytes: greedy at temperature
     * 0, else sampled from softmax(logits / temperature) with a generator seeded by {@code seed}.
     * The prompt and continuation are read as one record after the key's state; changes nothing.
     */
    public byte[] complete(String key, byte[] prompt, int maxBytes, double temperature, long seed) {
        if (maxBytes < 0 || temperature < 0 || Double.isNaN(temperature)) {
            throw new IllegalArgumentException("maxBytes " + maxBytes + " and temperature " + temperature
                    + " must be >= 0");
        }
        Random rnd = new Random(seed);
        FastState state = stateOf(key);
        byte[] text = java.util.Arrays.copyOf(prompt, prompt.length + maxBytes);
        int n = prompt.length;
        KeyContext kc = context == null ? null : keyContext(state);
        if (kc != null) {
            for (byte b : prompt) {
                kc.observe(b & 0xff);
            }
        }
        boolean network = context == null || context.config().mode().usesNetwork();
        try (NDManager scope = root.newSubManager()) {
            boolean was = Autograd.setRecording(false);
            try {
                Map<String, NDArray> p = Autograd.views(params, scope, false);
                for (int i = 0; i < maxBytes; i++) {
                    try (NDManager step = scope.newSubManager()) {
                        double[] last = null;
                        if (network) {
                            int[] inputs = new int[n + 1];
                            inputs[0] = state.lastInput();
                            for (int j = 0; j < n; j++) {
                                inputs[j + 1] = text[j] & 0xff;
                            }
                            NDArray logits = model.forward(step, p, new int[][] {inputs}, List.of(state)).logits();
                            NDArray row = logits.get("0, -1");
                            last = (kc == null ? row : row.logSoftmax(-1)).toType(DataType.FLOAT64, false).toDoubleArray();
                        }
                        if (kc != null) {
                            double[] mixed = context.next(kc, last);
                            last = new double[mixed.length];
                            for (int b = 0; b < mixed.length; b++) {
                                last[b] = Math.log(mixed[b]);
                            }
                        }
                        int next = pick(last, temperature, rnd);
                        text[n++] = (byte) next;
                        if (kc != null) {
                            kc.observe(next);
                        }
                    }
                }
            } finally {
                Autograd.setRecording(was);
            }
        }
        return java.util.Arrays.copyOfRange(text, prompt.length, n);
    }

    static int pick(double[] logits, double temperature, Random rnd) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        if (temperature == 0) {
            return best;
        }
        double[] w = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < w.length; i++) {
            w[i] = Math.exp((logits[i] - logits[best]) / temperature);
            sum += w[i];
        }
        double u = rnd.nextDouble() * sum;
        for (int i = 0; i < w.length; i++) {
            u -= w[i];
            if (u <= 0) {
                return i;
            }
        }
        return best;
    }

    /** Seconds spent per phase of {@link #learn} so far (forward, backward, gradients, state, update). */
    public Map<String, Double> phaseSeconds() {
        return phases.seconds();
    }

    /** Steps taken so far by HIGH, MID, LOW. */
    public long[] levelSteps() {
        return counters.steps.clone();
    }

    /** Records learned so far (accepted; with batches HIGH steps fewer times than this). */
    public long recordsLearned() {
        return counters.records;
    }

    public long modelVersion() {
        return counters.version;
    }

    public long recordsRejected() {
        return counters.rejected;
    }

    public boolean warmingUp() {
        return inWarmup();
    }

    /** Records summed into the level's accumulator since its last step. */
    public long pending(Level level) {
        return levels.get(level).accumulated;
    }

    /** Host copies of every parameter, in order. */
    public Map<String, HostTensor> parameters() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        params.forEach((k, v) -> out.put(k, HostTensor.of(v)));
        return out;
    }

    /** Host copies of the level's parameters, in order. */
    public Map<String, HostTensor> parameters(Level level) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (String n : levels.get(level).names) {
            out.put(n, HostTensor.of(params.get(n)));
        }
        return out;
    }

    /** Host copy of one part of a level's optimizer state: 0 = m, 1 = v, 2 = accumulator, 3 = anchor (null if none). */
    HostTensor optimizerPart(Level level, int part) {
        LevelOptimizer o = levels.get(level);
        if (part == 3) {
            return o.anchor == null ? null : HostTensor.of(o.anchor);
        }
        return HostTensor.of(part == 0 ? o.m : part == 1 ? o.v : o.acc);
    }

    /** Host copies of a level's AdamW moments m, v and accumulator (flat, in parameter order). */
    public HostTensor[] optimizerState(Level level) {
        LevelOptimizer o = levels.get(level);
        return new HostTensor[] {HostTensor.of(o.m), HostTensor.of(o.v), HostTensor.of(o.acc)};
    }

    LearnerCounters countersSnapshot() {
        LearnerCounters c = counters.copy();
        for (LevelOptimizer o : levels.values()) {
            c.adamSteps[o.level.ordinal()] = o.t;
            c.accumulated[o.level.ordinal()] = o.accumulated;
        }
        return c;
    }

    @Override
    public void close() {
        root.close();
    }
}

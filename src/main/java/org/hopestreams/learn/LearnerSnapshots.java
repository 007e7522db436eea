package org.hopestreams.learn;

import ai.djl.Device;
import org.hopestreams.context.ContextLevel;
import org.hopestreams.context.ContextModel;
import org.hopestreams.context.KeyContext;
import org.hopestreams.model.FastState;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HostTensor;
import org.hopestreams.model.Level;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateFormatException;
import org.hopestreams.store.StateSnapshot;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A learner's whole state as a {@link StateSnapshot}: both configurations, every parameter, each
 * level's AdamW moments and accumulator, all counters and clocks, and optionally every key's fast
 * state. Restoring it and continuing equals never having stopped.
 */
public final class LearnerSnapshots {
    static final String KIND = "hope-learner";
    private static final String CONTEXT_GLOBAL = "context.global";
    private static final String CONTEXT_MIXER = "context.mixer";
    private static final String CONTEXT_JOURNAL = "context.journal";
    private static final String KEY_CONTEXT = "context";
    /** Meta entry of a primed snapshot: how many bytes the global context model counted. */
    public static final String PRIMED_BYTES = "context.primedBytes";

    private LearnerSnapshots() {
    }

    public static StateSnapshot of(Learner learner, boolean withFastStates) {
        StateSnapshot.Builder b = StateSnapshot.builder();
        groups(learner, java.util.EnumSet.allOf(StateGroup.class)).values().forEach(g -> copyInto(b, g));
        b.counter("rejected", learner.recordsRejected());
        if (withFastStates) {
            for (Map.Entry<String, FastState> e : learner.fastStates().entries()) {
                String p = "fast." + encodeKey(e.getKey()) + ".";
                b.counter(p + "last", e.getValue().lastInput());
                fastState(e.getValue()).tensors().forEach((k, v) -> b.tensor(p + k, v));
            }
        }
        return b.build();
    }

    /**
     * The requested groups of the learner's state, each a snapshot of its own; {@link #restore(Iterable,
     * FastStateStore, Device)} joins a full set again. Copies only what the groups hold.
     */
    public static Map<StateGroup, StateSnapshot> groups(Learner learner, java.util.Set<StateGroup> which) {
        Map<StateGroup, StateSnapshot> out = new EnumMap<>(StateGroup.class);
        for (StateGroup g : which) {
            StateSnapshot.Builder b = StateSnapshot.builder();
            switch (g) {
                case META -> meta(learner, b);
                case HIGH -> {
                    weights(learner, Level.HIGH, b);
                    // HIGH steps every record unless highPeriodRecords > 1: its accumulator is kept only when not empty
                    if (learner.pending(Level.HIGH) > 0) {
                        b.tensor("opt.HIGH.acc", learner.optimizerPart(Level.HIGH, 2));
                    }
                }
                case MID_WEIGHTS -> weights(learner, Level.MID, b);
                case LOW_WEIGHTS -> weights(learner, Level.LOW, b);
                case MID_ACC -> b.tensor("opt.MID.acc", learner.optimizerPart(Level.MID, 2));
                case LOW_ACC -> b.tensor("opt.LOW.acc", learner.optimizerPart(Level.LOW, 2));
                case CONTEXT -> global(learner.contextLevel(), b);
                case CONTEXT_JOURNAL -> mixer(learner.contextLevel(), b);
            }
            out.put(g, b.build());
        }
        return out;
    }

    /**
     * The groups a commit writes, of the {@code dirty} ones, as {@link #groups} except the exact-context level's:
     * its global model is persisted through its {@link org.hopestreams.context.ContextJournal} (which this call
     * advances: the commit's groups must be written), {@link StateGroup#CONTEXT_JOURNAL} with the mixer and the
     * journal, and {@link StateGroup#CONTEXT} only when the journal takes a new base. Either context group being
     * dirty means the level changed.
     */
    public static Map<StateGroup, StateSnapshot> commitGroups(Learner learner, java.util.Set<StateGroup> dirty) {
        java.util.EnumSet<StateGroup> rest = java.util.EnumSet.noneOf(StateGroup.class);
        rest.addAll(dirty);
        boolean context = rest.remove(StateGroup.CONTEXT) | rest.remove(StateGroup.CONTEXT_JOURNAL);
        ContextLevel level = learner.contextLevel();
        if (!context || level == null) {
            return groups(learner, dirty);
        }
        Map<StateGroup, StateSnapshot> out = groups(learner, rest);
        org.hopestreams.context.ContextJournal.Persisted p = level.journal().take(level.global());
        if (p.base() != null) {
            out.put(StateGroup.CONTEXT, StateSnapshot.builder().tensor(CONTEXT_GLOBAL, HostTensor.ofBytes(p.base()))
                    .build());
        }
        out.put(StateGroup.CONTEXT_JOURNAL, mixer(level, StateSnapshot.builder())
                .tensor(CONTEXT_JOURNAL, HostTensor.ofBytes(p.journal())).build());
        return out;
    }

    private static void meta(Learner learner, StateSnapshot.Builder b) {
        b.meta("kind", KIND);
        learner.config().toMap().forEach((k, v) -> b.meta("model." + k, v));
        learner.learnerConfig().toMap().forEach((k, v) -> b.meta("learner." + k, v));
        LearnerCounters c = learner.countersSnapshot();
        b.counter("records", c.records).counter("version", c.version).counter("window", c.window)
                .counter("lowWindow", c.lowWindow).counter("consolidations", c.consolidations);
        if (c.ticks > 0) {
            b.counter("ticks", c.ticks);
        }
        for (Level l : Level.values()) {
            b.counter("steps." + l, c.steps[l.ordinal()]).counter("adam." + l, c.adamSteps[l.ordinal()])
                    .counter("accumulated." + l, c.accumulated[l.ordinal()]);
        }
    }

    /** The exact-context level's global model (its own byte form) and mixer weights; nothing when it is off. */
    private static void context(ContextLevel level, StateSnapshot.Builder b) {
        global(level, b);
        mixer(level, b);
    }

    /** The global model, whole (a snapshot's {@link StateGroup#CONTEXT}: a base with no journal); nothing when off. */
    private static StateSnapshot.Builder global(ContextLevel level, StateSnapshot.Builder b) {
        return level == null ? b : b.tensor(CONTEXT_GLOBAL, HostTensor.ofBytes(level.global().encode()));
    }

    /** The mixer's weights; nothing when the level is off. */
    private static StateSnapshot.Builder mixer(ContextLevel level, StateSnapshot.Builder b) {
        if (level == null) {
            return b;
        }
        double[] w = level.mixer().state();
        return b.tensor(CONTEXT_MIXER, HostTensor.ofDoubles(HostTensor.Type.FLOAT64, new long[] {w.length}, w));
    }

    /**
     * {@code start} with an exact-context level whose global model has counted {@code text} (one
     * history through it, as one key's stream) and whose mixer has its initial weights: the context
     * level's pretraining, so the global model starts knowing the statistics of the text the network
     * was pretrained on. A level stored in {@code start} is replaced. Learners of another context
     * configuration (other orders, the level off) ignore it, as they ignore any stored level. Counting
     * stops when the model holds half its bound ({@link #primeGlobal}).
     */
    public static StateSnapshot withPrimedContext(StateSnapshot start, LearnerConfig lc, byte[] text) {
        return withPrimedContext(start, lc, text, Integer.MAX_VALUE);
    }

    /** As {@link #withPrimedContext(StateSnapshot, LearnerConfig, byte[])}, counting at most the first {@code maxBytes} of {@code text}. */
    public static StateSnapshot withPrimedContext(StateSnapshot start, LearnerConfig lc, byte[] text, int maxBytes) {
        ContextLevel.Config cc = lc.contextConfig();
        if (cc.mode() == ContextLevel.Mode.OFF) {
            throw new IllegalArgumentException("priming the exact-context level needs a configuration with it on");
        }
        ContextLevel level = new ContextLevel(cc);
        int counted = primeGlobal(level.global(), text, maxBytes);
        StateSnapshot.Builder b = StateSnapshot.builder();
        start.meta().forEach((name, v) -> {
            if (!name.equals(PRIMED_BYTES)) {
                b.meta(name, v);
            }
        });
        start.counters().forEach(b::counter);
        start.tensors().forEach((name, t) -> {
            if (!name.equals(CONTEXT_GLOBAL) && !name.equals(CONTEXT_MIXER) && !name.equals(CONTEXT_JOURNAL)) {
                b.tensor(name, t);
            }
        });
        b.meta(PRIMED_BYTES, Integer.toString(counted));
        context(level, b);
        return b.build();
    }

    /**
     * Counts {@code text} into {@code global} (one history through it) until it is spent or the model
     * holds half its bound of contexts, so that the stream has the other half before the model
     * would start again empty, or {@code maxBytes} are counted. Returns the bytes counted.
     */
    public static int primeGlobal(ContextModel global, byte[] text, int maxBytes) {
        org.hopestreams.context.History h = new org.hopestreams.context.History();
        int limit = global.maxContexts() / 2;
        int end = Math.min(text.length, Math.max(maxBytes, 0));
        int n = 0;
        while (n < end && global.size() < limit) {
            int b = text[n++] & 0xff;
            global.update(h, b);
            h.append(b);
        }
        return n;
    }

    /** The exact-context level stored in {@code s}, or null if none is stored or the configuration has it off. */
    private static ContextLevel context(StateSnapshot s, LearnerConfig lc) throws StateFormatException {
        return contextLevel(lc, s.tensors());
    }

    /**
     * The exact-context level of the {@link StateGroup#CONTEXT} group's tensors under {@code lc}, or
     * null if they hold none or the configuration has the level off. The level follows the
     * configuration, as the rates do: a stored global model of other orders is not used (a new one
     * starts), and a stored mixer of another shape follows it ({@link ContextLevel#adoptMixer}:
     * another selection keeps the matched-length sets, another mode starts afresh) beside the kept
     * global model; what was stored is otherwise restored exactly. A journal stored beside the global model
     * (a commit's {@link StateGroup#CONTEXT_JOURNAL}) is applied to it, and the level continues it; one that
     * belongs to another base is refused.
     */
    public static ContextLevel contextLevel(LearnerConfig lc, Map<String, HostTensor> tensors)
            throws StateFormatException {
        ContextLevel.Config cc = lc.contextConfig();
        HostTensor global = tensors.get(CONTEXT_GLOBAL);
        HostTensor mixer = tensors.get(CONTEXT_MIXER);
        if (cc.mode() == ContextLevel.Mode.OFF || global == null) {
            return null;
        }
        try {
            if (mixer == null) {
                throw new IllegalArgumentException("the global context model is stored without its mixer");
            }
            HostTensor journal = tensors.get(CONTEXT_JOURNAL);
            org.hopestreams.context.ContextJournal.Restored r = org.hopestreams.context.ContextJournal.restore(
                    global.bytes(), journal == null ? null : journal.bytes());
            ContextModel model = r.model();
            if (!java.util.Arrays.equals(model.orders(), cc.orders())) {
                return new ContextLevel(cc);
            }
            return new ContextLevel(cc, model, ContextLevel.adoptMixer(cc, mixer.toDoubles()), r.journal());
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new StateFormatException("exact-context level: " + e.getMessage(), e);
        }
    }

    private static StateSnapshot.Builder weights(Learner learner, Level level, StateSnapshot.Builder b) {
        learner.parameters(level).forEach((k, v) -> b.tensor("param." + k, v));
        HostTensor anchor = learner.optimizerPart(level, 3);
        if (anchor != null) {
            b.tensor("opt." + level + ".anchor", anchor);
        }
        return b.tensor("opt." + level + ".m", learner.optimizerPart(level, 0))
                .tensor("opt." + level + ".v", learner.optimizerPart(level, 1));
    }

    private static void copyInto(StateSnapshot.Builder b, StateSnapshot s) {
        s.meta().forEach(b::meta);
        s.counters().forEach(b::counter);
        s.tensors().forEach(b::tensor);
    }

    /** A learner from the groups of {@link #groups} (every group once, any order); see {@link #restore}. */
    public static Learner restore(Iterable<StateSnapshot> groups, FastStateStore fast, Device device)
            throws StateFormatException {
        return restore(joined(groups), fast, device);
    }

    /** The groups of {@link #groups} (every group once, any order) as one snapshot. */
    public static StateSnapshot joined(Iterable<StateSnapshot> groups) throws StateFormatException {
        StateSnapshot.Builder b = StateSnapshot.builder();
        try {
            groups.forEach(g -> copyInto(b, g));
        } catch (IllegalArgumentException e) {
            throw new StateFormatException("state groups overlap: " + e.getMessage(), e);
        }
        return b.build();
    }

    /** The learner settings stored in a snapshot. */
    public static LearnerConfig learnerConfig(StateSnapshot s) throws StateFormatException {
        Map<String, String> m = prefixed(s.meta(), "learner.");
        try {
            return LearnerConfig.fromMap(m);
        } catch (IllegalArgumentException e) {
            throw new StateFormatException("stored learner settings " + m + ": " + e.getMessage(), e);
        }
    }

    /** A key's fast state as a snapshot (its last input, its tensors and its exact-context part if any). */
    public static StateSnapshot fastState(FastState state) {
        StateSnapshot.Builder b = StateSnapshot.builder().counter("last", state.lastInput());
        state.tensors().forEach(b::tensor);
        if (state.context() != null) {
            b.tensor(KEY_CONTEXT, HostTensor.ofBytes(state.context().encode()));
        }
        return b.build();
    }

    /** A key's fast state from {@link #fastState(FastState)}, checked against the model's configuration. */
    public static FastState fastState(StateSnapshot s, HopeConfig config, String key) throws StateFormatException {
        try {
            return fastState(s.tensors(), (int) s.counter("last"), FastState.fresh(config), key);
        } catch (IllegalArgumentException e) {
            throw new StateFormatException("fast state of key " + key + ": " + e.getMessage(), e);
        }
    }

    /** A fast state from its tensors, the exact-context part (if any) decoded and the rest checked. */
    private static FastState fastState(Map<String, HostTensor> tensors, int last, FastState fresh, String key)
            throws StateFormatException {
        Map<String, HostTensor> t = new LinkedHashMap<>(tensors);
        HostTensor kc = t.remove(KEY_CONTEXT);
        KeyContext context;
        try {
            context = kc == null ? null : KeyContext.decode(kc.bytes());
        } catch (IllegalArgumentException e) {
            throw new StateFormatException("exact-context part of key " + key + ": " + e.getMessage(), e);
        }
        return checkedFast(new FastState(t, last, context), fresh, key);
    }

    private static FastState checkedFast(FastState st, FastState fresh, String key) throws StateFormatException {
        if (!st.tensors().keySet().equals(fresh.tensors().keySet())) {
            throw new StateFormatException("fast state of key " + key + " has parts " + st.tensors().keySet()
                    + ", expected " + fresh.tensors().keySet());
        }
        for (String part : st.tensors().keySet()) {
            HostTensor a = st.tensors().get(part);
            HostTensor f = fresh.tensors().get(part);
            if (!java.util.Arrays.equals(a.shape(), f.shape()) || a.type() != f.type()) {
                throw new StateFormatException("fast state " + part + " of key " + key + " is " + a + ", expected "
                        + f);
            }
        }
        return st;
    }

    /**
     * A learner from a snapshot; its fast states, if any, go into {@code fast}. Everything is
     * checked before anything is built: a bad snapshot throws and changes nothing.
     */
    public static Learner restore(StateSnapshot s, FastStateStore fast, Device device) throws StateFormatException {
        try {
            if (!KIND.equals(s.meta().get("kind"))) {
                throw new StateFormatException("snapshot kind is '" + s.meta().get("kind") + "', expected '" + KIND + "'");
            }
            HopeConfig config = HopeConfig.fromMap(prefixed(s.meta(), "model."));
            LearnerConfig lc = LearnerConfig.fromMap(prefixed(s.meta(), "learner."));
            LearnerCounters c = new LearnerCounters();
            c.records = s.counter("records");
            c.rejected = s.counters().getOrDefault("rejected", 0L);
            c.version = s.counter("version");
            c.window = s.counter("window");
            c.lowWindow = s.counters().getOrDefault("lowWindow", Long.MIN_VALUE);
            c.consolidations = s.counters().getOrDefault("consolidations", 0L);
            c.ticks = s.counters().getOrDefault("ticks", 0L);
            Map<Level, HostTensor[]> opt = new EnumMap<>(Level.class);
            for (Level l : Level.values()) {
                c.steps[l.ordinal()] = s.counter("steps." + l);
                c.adamSteps[l.ordinal()] = s.counter("adam." + l);
                c.accumulated[l.ordinal()] = s.counter("accumulated." + l);
                // An accumulator left out (HIGH's, always zero) is restored as zeros.
                opt.put(l, new HostTensor[] {s.tensor("opt." + l + ".m"), s.tensor("opt." + l + ".v"),
                        c.accumulated[l.ordinal()] == 0 ? s.tensors().get("opt." + l + ".acc") : s.tensor("opt." + l + ".acc"),
                        s.tensors().get("opt." + l + ".anchor")});
            }
            Map<String, HostTensor> params = new LinkedHashMap<>();
            Map<String, Map<String, HostTensor>> fastTensors = new LinkedHashMap<>();
            for (Map.Entry<String, HostTensor> e : s.tensors().entrySet()) {
                String k = e.getKey();
                if (k.startsWith("param.")) {
                    params.put(k.substring(6), e.getValue());
                } else if (k.startsWith("fast.")) {
                    int dot = k.indexOf('.', 5);
                    fastTensors.computeIfAbsent(k.substring(5, dot), x -> new LinkedHashMap<>())
                            .put(k.substring(dot + 1), e.getValue());
                }
            }
            Map<String, FastState> states = new LinkedHashMap<>();
            FastState fresh = FastState.fresh(config);
            for (Map.Entry<String, Map<String, HostTensor>> e : fastTensors.entrySet()) {
                FastState st = fastState(e.getValue(), (int) s.counter("fast." + e.getKey() + ".last"), fresh,
                        decodeKey(e.getKey()));
                states.put(decodeKey(e.getKey()), st);
            }
            Learner learner = new Learner(config, lc, params, opt, c, fast, device, context(s, lc));
            states.forEach(fast::put);
            return learner;
        } catch (IllegalArgumentException e) {
            throw new StateFormatException("snapshot does not describe a valid learner: " + e.getMessage(), e);
        }
    }

    /**
     * A learner from a snapshot, with its learner configuration replaced by {@code learnerConfig}
     * (e.g. a pretrained checkpoint continued under another cadence or rate); everything else as in
     * {@link #restore(StateSnapshot, FastStateStore, Device)}.
     */
    public static Learner restore(StateSnapshot s, LearnerConfig learnerConfig, FastStateStore fast, Device device)
            throws StateFormatException {
        return restore(withLearnerConfig(s, learnerConfig), fast, device);
    }

    /** The snapshot with its learner settings replaced by {@code learnerConfig}; everything else kept. */
    public static StateSnapshot withLearnerConfig(StateSnapshot s, LearnerConfig learnerConfig) {
        StateSnapshot.Builder b = StateSnapshot.builder();
        s.meta().forEach((k, v) -> {
            if (!k.startsWith("learner.")) {
                b.meta(k, v);
            }
        });
        learnerConfig.toMap().forEach((k, v) -> b.meta("learner." + k, v));
        s.counters().forEach(b::counter);
        s.tensors().forEach(b::tensor);
        return b.build();
    }

    /** The entries whose name starts with {@code prefix}, under the rest of their name, in order. */
    public static <V> Map<String, V> prefixed(Map<String, V> entries, String prefix) {
        Map<String, V> out = new LinkedHashMap<>();
        entries.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }

    static String encodeKey(String key) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
    }

    static String decodeKey(String encoded) {
        return new String(Base64.getUrlDecoder().decode(encoded), StandardCharsets.UTF_8);
    }

    /** Writes the learner (with its fast states) to a checkpoint file, atomically. */
    public static void save(Learner learner, Path file) throws IOException {
        new StateCodec().writeFile(file, of(learner, true));
    }

    /**
     * A learner from a checkpoint file under the exact-context level {@code contextMode} (a pretrained
     * checkpoint has none); its other settings are the stored ones, its fast states go into {@code fast}.
     */
    public static Learner load(Path file, String contextMode, FastStateStore fast, Device device) throws IOException {
        return load(file, lc -> lc.withContextMode(contextMode), fast, device);
    }

    /** As {@link #load(Path, String, FastStateStore, Device)}, the context models doing {@code overflow} when full. */
    public static Learner load(Path file, String contextMode, String overflow, FastStateStore fast, Device device)
            throws IOException {
        return load(file, lc -> lc.withContextMode(contextMode).withContextOverflow(overflow), fast, device);
    }

    private static Learner load(Path file, java.util.function.UnaryOperator<LearnerConfig> settings, FastStateStore fast,
                                Device device) throws IOException {
        StateSnapshot s = new StateCodec().readFile(file);
        return restore(s, settings.apply(learnerConfig(s)), fast, device);
    }

    /** A learner from a checkpoint file; its fast states go into {@code fast}. */
    public static Learner load(Path file, FastStateStore fast, Device device) throws IOException {
        return restore(new StateCodec().readFile(file), fast, device);
    }
}

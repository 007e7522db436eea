package org.hopestreams.context;

/**
 * The exact-context level (MODEL.md "An exact-context level"): the fastest level of the nested
 * memory, non-parametric. A global {@link ContextModel} sees every key's bytes (each in its own
 * key's context); each key has its own {@link KeyContext}; a {@link Mixer} combines their
 * predictions with the network's, one weight set per pair of matched context lengths (key,
 * global). Counting is the level's learning; the mixer learns by its own gradient on the mixed
 * code length; the network keeps learning from its own loss, unchanged.
 *
 * <p>Which predictions count is the {@link Mode}: the mix, or one of the context models alone
 * (the classical baselines, no network).
 *
 * <p>Threading: {@link #score} and {@link #next} change only the key context passed in (the
 * caller's copy) and may run on several threads while no {@link #learn} is in progress.
 */
public final class ContextLevel {
    /** Which predictions make the level's output. */
    public enum Mode {
        /** The network alone; no context level. */
        OFF("off", true),
        /** Network, key and global context models, mixed. */
        MIX("mix", true),
        /** Key and global context models mixed, no network. */
        PPM_MIX("ppm-mix", false),
        /** The key's own context model alone (PPM per key). */
        PPM_KEY("ppm-key", false),
        /** The global context model alone (PPM over all keys). */
        PPM_GLOBAL("ppm-global", false);

        private final String id;
        private final boolean network;

        Mode(String id, boolean network) {
            this.id = id;
            this.network = network;
        }

        public String id() {
            return id;
        }

        /** Whether the network runs (is scored and learns). */
        public boolean usesNetwork() {
            return network;
        }

        /** Whether the output is the mixer's (else one context model's alone). */
        boolean mixes() {
            return this == MIX || this == PPM_MIX;
        }

        public static Mode parse(String id) {
            return EnumIds.parse(values(), Mode::id, id, "context mode", "one of off, mix, ppm-mix, ppm-key, ppm-global");
        }
    }

    /**
     * How the mixer chooses its weights for a byte. {@code match}: one set per (key, global) matched
     * context length bucket and determinism. {@code match+class}: that set plus, added to it, a
     * second set chosen by the class of the previous byte (space, lower, upper, digit, punctuation,
     * line break, other, none) and the network's confidence (its top probability in 4 buckets) —
     * except where the key may know something the global model does not (a longer match, or a
     * deterministic longest context of its own), which keeps the first set alone: there the added
     * set, trained on ordinary text, outvoted a key's own answer (docs/eval.md).
     */
    public enum Select {
        MATCH("match", 0),
        MATCH_CLASS("match+class", CLASS_SETS);

        private final String id;
        private final int extraSets;

        Select(String id, int extraSets) {
            this.id = id;
            this.extraSets = extraSets;
        }

        public String id() {
            return id;
        }

        public static Select parse(String id) {
            return EnumIds.parse(values(), Select::id, id, "mixer selection", "match or match+class");
        }
    }

    /**
     * What the level's context models do when full: both clear, both prune, or the global model
     * prunes and a key's model clears ({@code prune-global}, the default: pruned key models were
     * better prequentially but left the mixer's "key knows nothing" weights, which a fresh key's
     * queries use, undertrained; docs/eval.md).
     */
    public enum Overflow {
        CLEAR("clear", ContextModel.Overflow.CLEAR, ContextModel.Overflow.CLEAR),
        PRUNE("prune", ContextModel.Overflow.PRUNE, ContextModel.Overflow.PRUNE),
        PRUNE_GLOBAL("prune-global", ContextModel.Overflow.PRUNE, ContextModel.Overflow.CLEAR);

        private final String id;
        private final ContextModel.Overflow global;
        private final ContextModel.Overflow key;

        Overflow(String id, ContextModel.Overflow global, ContextModel.Overflow key) {
            this.id = id;
            this.global = global;
            this.key = key;
        }

        public String id() {
            return id;
        }

        public ContextModel.Overflow global() {
            return global;
        }

        public ContextModel.Overflow key() {
            return key;
        }

        public static Overflow parse(String id) {
            return EnumIds.parse(values(), Overflow::id, id, "context overflow", "clear, prune or prune-global");
        }
    }

    /**
     * Which of the mixer's weight sets learn from a byte. {@code selected}: the set that mixed it.
     * {@code selected+keyless}: also, where the key matched something, the set a key that knows
     * nothing would have used, in a second step on the same byte with the key's input at uniform:
     * while learning the key's model matches about as much as the global model (the global counts
     * every key byte), so the "key knows nothing" sets, which every query under a fresh key uses,
     * otherwise learn only from a key's first bytes and after it is cleared (docs/eval.md).
     */
    public enum Train {
        SELECTED("selected"),
        KEYLESS("selected+keyless");

        private final String id;

        Train(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public static Train parse(String id) {
            return EnumIds.parse(values(), Train::id, id, "mixer training", "selected or selected+keyless");
        }
    }

    /**
     * @param mode           which predictions count
     * @param orders         context lengths besides order 0 (ascending, 1..{@link ContextModel#MAX_ORDER})
     * @param keyContexts    bound on one key's contexts (it starts again empty beyond)
     * @param globalContexts bound on the global model's contexts
     * @param mixerRate      the mixer's learning rate
     * @param select         how the mixer chooses its weights
     * @param overflow       what a full context model does (key and global)
     * @param train          which weight sets learn from a byte
     */
    public record Config(Mode mode, int[] orders, int keyContexts, int globalContexts, double mixerRate,
                         Select select, Overflow overflow, Train train) {
        public Config(Mode mode, int[] orders, int keyContexts, int globalContexts, double mixerRate) {
            this(mode, orders, keyContexts, globalContexts, mixerRate, Select.MATCH);
        }

        public Config(Mode mode, int[] orders, int keyContexts, int globalContexts, double mixerRate, Select select) {
            this(mode, orders, keyContexts, globalContexts, mixerRate, select, Overflow.CLEAR);
        }

        public Config(Mode mode, int[] orders, int keyContexts, int globalContexts, double mixerRate, Select select,
                      Overflow overflow) {
            this(mode, orders, keyContexts, globalContexts, mixerRate, select, overflow, Train.SELECTED);
        }

        public Config {
            orders = ContextModel.checkedOrders(orders);
            java.util.Objects.requireNonNull(select, "select");
            java.util.Objects.requireNonNull(overflow, "overflow");
            java.util.Objects.requireNonNull(train, "train");
            if (keyContexts < 1 || globalContexts < 1 || !(mixerRate >= 0) || Double.isInfinite(mixerRate)) {
                throw new IllegalArgumentException("context level: keyContexts " + keyContexts + ", globalContexts "
                        + globalContexts + ", mixerRate " + mixerRate + ": expected bounds >= 1 and a finite rate >= 0");
            }
        }

        public int inputs() {
            return mode == Mode.MIX ? 3 : 2;
        }

        /** Weight sets: the matched-length sets, then the byte-class sets if selected. */
        public int sets() {
            return MATCH_SETS + select.extraSets;
        }

        /**
         * The mixer's weight set: how long a context the key and the global model matched (4 buckets
         * each) and whether each one's longest context is deterministic.
         */
        int set(int keyMatched, boolean keyDeterministic, int globalMatched, boolean globalDeterministic) {
            return bucketSet(bucket(keyMatched), keyDeterministic, bucket(globalMatched), globalDeterministic);
        }

        private static int bucketSet(int keyBucket, boolean keyDeterministic, int globalBucket,
                                     boolean globalDeterministic) {
            return ((keyBucket * MATCH_BUCKETS + globalBucket) * 2 + (keyDeterministic ? 1 : 0)) * 2
                    + (globalDeterministic ? 1 : 0);
        }

        int bucket(int matched) {
            return matched == 0 ? 0 : 1 + (matched - 1) * (MATCH_BUCKETS - 1) / orders.length;
        }

        /**
         * Initial weights, set-major: the context models 0.6 each and the network 0.2 (measured on the
         * tuning corpora, docs/eval.md: equal thirds left a key's own answer losing to a confident
         * network until the mixer had learned); where one context model's longest context is
         * deterministic and the other's is not, that one starts at 1.0 and the other at 0.3 (a key
         * that saw one continuation of a context others continue differently knows its own answer).
         * Where the key matched a longer context than the global model, the key's weight is 1.5 and
         * the others' 0: while learning this never happens (the global model counts every byte a
         * key counts), only when a query's own text repeats itself (a passkey), so the longer match
         * decides as in PPM (others at 0.1 let a confident network or global model outvote a passkey
         * in a quarter of the probes across 512 bytes; at 0 every probe was recalled at no measurable
         * cost, docs/eval.md).
         */
        double[] initialWeights() {
            int n = inputs();
            double[] w = new double[sets() * n];
            for (int keyBucket = 0; keyBucket < MATCH_BUCKETS; keyBucket++) {
                for (int globalBucket = 0; globalBucket < MATCH_BUCKETS; globalBucket++) {
                    for (int d = 0; d < 4; d++) {
                        boolean keyDet = d >= 2;
                        boolean globalDet = d % 2 == 1;
                        double key = keyDet && !globalDet ? 1.0 : globalDet && !keyDet ? 0.3 : 0.6;
                        double global = globalDet && !keyDet ? 1.0 : keyDet && !globalDet ? 0.3 : 0.6;
                        double net = 0.2;
                        if (keyBucket > globalBucket) {
                            key = 1.5;
                            global = 0;
                            net = 0;
                        }
                        int at = bucketSet(keyBucket, keyDet, globalBucket, globalDet) * n;
                        if (mode == Mode.MIX) {
                            w[at++] = net;
                        }
                        w[at] = key;
                        w[at + 1] = global;
                    }
                }
            }
            return w;
        }
    }

    private static final double LN2 = Math.log(2);
    private static final int MATCH_BUCKETS = 4;
    private static final int MATCH_SETS = MATCH_BUCKETS * MATCH_BUCKETS * 4;
    /** Previous byte's class (8) x the network's confidence (4). */
    private static final int CLASS_SETS = 32;
    /** Mixed probabilities are kept above this, so a code length is always finite. */
    private static final double FLOOR = 1e-12;

    private final Config config;
    private final ContextModel global;
    private final Mixer mixer;
    /** How the global model is persisted at commits (base and journal). */
    private final ContextJournal journal;

    public ContextLevel(Config config) {
        this(config, new ContextModel(config.orders(), config.globalContexts()),
                Mixer.of(config.sets(), config.mixerRate(), config.initialWeights()));
    }

    /** A level with this global model and mixer (e.g. restored); both are checked against the configuration. */
    public ContextLevel(Config config, ContextModel global, Mixer mixer) {
        this(config, global, mixer, new ContextJournal());
    }

    /**
     * A level with this global model, mixer and the journal that persists the model ({@link ContextJournal#restore}:
     * the model as the store holds it and the journal to continue).
     */
    public ContextLevel(Config config, ContextModel global, Mixer mixer, ContextJournal journal) {
        if (!java.util.Arrays.equals(global.orders(), config.orders()) || mixer.sets() != config.sets()
                || mixer.inputs() != config.inputs()) {
            throw new IllegalArgumentException("context level state (orders " + java.util.Arrays.toString(global.orders())
                    + ", mixer " + mixer.sets() + " x " + mixer.inputs() + ") does not fit its configuration (orders "
                    + java.util.Arrays.toString(config.orders()) + ", mixer " + config.sets() + " x " + config.inputs() + ")");
        }
        this.config = config;
        this.global = global.overflow(config.overflow().global());
        this.mixer = mixer;
        this.journal = java.util.Objects.requireNonNull(journal, "journal");
    }

    /** How the global model is persisted at commits (the owner's thread only). */
    public ContextJournal journal() {
        return journal;
    }

    public Config config() {
        return config;
    }

    public ContextModel global() {
        return global;
    }

    public Mixer mixer() {
        return mixer;
    }

    /**
     * The mixer of {@code stored} weights under {@code config}: as stored where the shape fits;
     * where only the selection changed (the same inputs, the matched-length sets with or without
     * the byte-class sets) the matched-length sets are kept and the byte-class sets start at their
     * initial weights; otherwise (another mode) a fresh mixer.
     */
    public static Mixer adoptMixer(Config config, double[] stored) {
        int n = config.inputs();
        if (stored.length == config.sets() * n) {
            return Mixer.restore(config.sets(), n, config.mixerRate(), stored);
        }
        double[] w = config.initialWeights();
        for (Select other : Select.values()) {
            if (stored.length == (MATCH_SETS + other.extraSets) * n) {
                System.arraycopy(stored, 0, w, 0, MATCH_SETS * n);
            }
        }
        return Mixer.of(config.sets(), config.mixerRate(), w);
    }

    public KeyContext freshKey() {
        return own(KeyContext.fresh(config.orders(), config.keyContexts()));
    }

    /** {@code key} under this level's configuration (what its model does when full); returns it. */
    public KeyContext own(KeyContext key) {
        key.model().overflow(config.overflow().key());
        return key;
    }

    /**
     * Scores each byte of {@code record} after the key's context, then counts it: in the key's
     * context (advanced in place), the global model, and a mixer step.
     * {@code netLogProbs} holds the network's natural-log probabilities, 256 per byte (null when
     * the mode has no network). Returns the record's code length in bits.
     */
    public double learn(KeyContext key, byte[] record, double[] netLogProbs) {
        return run(key, record, netLogProbs, true);
    }

    /** As {@link #learn} but the global model and the mixer stay as they are (the key's context still advances: pass a copy). */
    public double score(KeyContext key, byte[] record, double[] netLogProbs) {
        return run(key, record, netLogProbs, false);
    }

    private double run(KeyContext key, byte[] record, double[] netLogProbs, boolean learn) {
        Scratch x = new Scratch(config.inputs());
        boolean keyless = learn && config.mode().mixes() && config.train() == Train.KEYLESS;
        Scratch fresh = keyless ? new Scratch(config.inputs()) : null;
        double bits = 0;
        for (int t = 0; t < record.length; t++) {
            int y = record[t] & 0xff;
            int set = predict(key, netLogProbs, t, x);
            bits -= Math.log(Math.max(x.p[y], FLOOR)) / LN2;
            if (learn && config.mode().mixes()) {
                mixer.learn(x.inputs, set, x.classSet, x.p, y);
            }
            if (keyless && (x.keyMatched > 0 || x.keyDet[0])) {
                learnKeyless(key, netLogProbs, t, x, fresh, y);
            }
            if (learn) {
                global.update(key.history(), y);
            }
            key.observe(y);
        }
        return bits;
    }

    /** The distribution of the key's next byte given the network's log-probabilities for it (256, or null). */
    public double[] next(KeyContext key, double[] netLogProbs) {
        Scratch x = new Scratch(config.inputs());
        predict(key, netLogProbs, 0, x);
        return x.p;
    }

    /** One prediction's arrays, made once per record rather than per byte. */
    private static final class Scratch {
        /** Rows: [network,] key, global, as natural logs. */
        final double[][] inputs;
        final double[] keyP = new double[256];
        final double[] globalP = new double[256];
        final boolean[] keyDet = new boolean[1];
        final boolean[] globalDet = new boolean[1];
        /** The output distribution. */
        final double[] p = new double[256];
        /** The byte-class set added to the matched-length set, or -1. */
        int classSet = -1;
        /** How long a context the key and the global model matched. */
        int keyMatched;
        int globalMatched;

        Scratch(int inputs) {
            this.inputs = new double[inputs][256];
        }
    }

    /** Fills {@code x.p} with the distribution of byte {@code t}; returns the mixer set used. */
    private int predict(KeyContext key, double[] net, int t, Scratch x) {
        int mk = key.model().predict(key.history(), x.keyP, x.keyDet);
        int mg = global.predict(key.history(), x.globalP, x.globalDet);
        x.keyMatched = mk;
        x.globalMatched = mg;
        int set = config.set(mk, x.keyDet[0], mg, x.globalDet[0]);
        switch (config.mode()) {
            case PPM_KEY -> System.arraycopy(x.keyP, 0, x.p, 0, 256);
            case PPM_GLOBAL -> System.arraycopy(x.globalP, 0, x.p, 0, 256);
            default -> {
                int r = 0;
                if (config.mode() == Mode.MIX) {
                    System.arraycopy(net, t * 256, x.inputs[r++], 0, 256);
                }
                for (int b = 0; b < 256; b++) {
                    x.inputs[r][b] = Math.log(x.keyP[b]);
                    x.inputs[r + 1][b] = Math.log(x.globalP[b]);
                }
                boolean keyKnowsMore = config.bucket(mk) > config.bucket(mg) || x.keyDet[0];
                x.classSet = config.select() == Select.MATCH_CLASS && !keyKnowsMore
                        ? MATCH_SETS + classSet(key.history(), config.mode() == Mode.MIX ? net : null, t) : -1;
                mixer.mix(x.inputs, set, x.classSet, x.p);
            }
        }
        return set;
    }

    /**
     * The second step of {@link Train#KEYLESS}: byte {@code y} mixed as a key that knows nothing
     * would mix it (its input uniform, matched length 0, not deterministic; the global model's and
     * the network's inputs as in {@code x}), and the weights of that mix take one step on it.
     */
    private void learnKeyless(KeyContext key, double[] net, int t, Scratch x, Scratch fresh, int y) {
        int r = config.mode() == Mode.MIX ? 1 : 0;
        for (int i = 0; i < fresh.inputs.length; i++) {
            System.arraycopy(x.inputs[i], 0, fresh.inputs[i], 0, 256);
        }
        java.util.Arrays.fill(fresh.inputs[r], -Math.log(256));
        int set = config.set(0, false, x.globalMatched, x.globalDet[0]);
        int classSet = config.select() == Select.MATCH_CLASS
                ? MATCH_SETS + classSet(key.history(), config.mode() == Mode.MIX ? net : null, t) : -1;
        mixer.mix(fresh.inputs, set, classSet, fresh.p);
        mixer.learn(fresh.inputs, set, classSet, fresh.p, y);
    }

    /** The byte-class set (0..{@link #CLASS_SETS}): the previous byte's class x the network's top probability. */
    static int classSet(History h, double[] net, int t) {
        int cls = 7;
        if (h.length() > 0) {
            int c = h.back(1);
            cls = c == ' ' ? 0 : c >= 'a' && c <= 'z' ? 1 : c >= 'A' && c <= 'Z' ? 2 : c >= '0' && c <= '9' ? 3
                    : c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' ? 4
                    : c == '\n' || c == '\r' || c == '\t' ? 5 : 6;
        }
        int confidence = 0;
        if (net != null) {
            double max = Double.NEGATIVE_INFINITY;
            for (int b = 0; b < 256; b++) {
                max = Math.max(max, net[t * 256 + b]);
            }
            double top = Math.exp(max);
            confidence = top < 0.2 ? 0 : top < 0.4 ? 1 : top < 0.7 ? 2 : 3;
        }
        return cls * 4 + confidence;
    }
}

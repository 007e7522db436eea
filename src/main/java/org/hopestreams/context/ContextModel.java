package org.hopestreams.context;

import com.carrotsearch.hppc.LongObjectHashMap;
import com.carrotsearch.hppc.cursors.LongObjectCursor;
import com.carrotsearch.hppc.cursors.ObjectCursor;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * An exact-context byte model in the PPM manner (Cleary and Witten; escape method D of Howard;
 * full exclusion; update exclusion): for each configured order k, the contexts "last k bytes" seen so
 * far with the counts of the bytes that followed them. A prediction starts in the longest context
 * that has been seen, gives each byte seen there its share of the probability, and escapes with the
 * rest to the next shorter context, excluding the bytes already given a share; order 0 and finally
 * the uniform distribution take what is left. It needs no training: one exposure of a text makes its
 * continuation the most likely one wherever a long enough context recurs.
 *
 * <p>Contexts up to order 7 are the bytes themselves; longer ones are 64-bit hashes of them (a
 * collision is possible and harmless to correctness, only to prediction). The table is bounded:
 * when it holds more than {@code maxContexts} contexts it starts again empty (as PPMd does when its
 * memory is full), so its size and the bytes it encodes to stay bounded.
 *
 * <p>Deterministic: equal histories and updates give bit-identical predictions and encodings. Not
 * thread-safe; {@link #copy} for another owner.
 */
public final class ContextModel {
    /** The longest order a model may use (and the bytes a {@link History} keeps). */
    public static final int MAX_ORDER = 24;
    private static final int FORMAT = 1;
    /** The format of {@link #encodeDelta}. */
    private static final int DELTA_FORMAT = 1;
    /** Counts are halved when one passes this, so old statistics fade (PPMd rescales similarly). */
    static final int COUNT_LIMIT = 255;
    /** A byte seen c times gets a share c - DELTA (method D: 1/2; 0.4 measured best against 7z's PPMd). */
    private static final double DELTA = 0.4;
    /** How much of the parent's confidence a byte new to a longer context inherits (2.5 measured best). */
    private static final double INHERIT = 2.5;
    private static final int DISTINCT_CLASSES = 4;
    private static final int TOTAL_CLASSES = 6;
    private static final float SEE_LIMIT = 255;
    /** Weight of method D's guess in a class's estimate, in trials. */
    private static final double SEE_PRIOR = 2;

    /** What a model does when it would hold more contexts than its bound. */
    public enum Overflow {
        /** Start again empty (as PPMd's restart). */
        CLEAR("clear"),
        /**
         * Drop the contexts seen least (total count at most 1, then 2, 4, ...) until at most three
         * quarters of the bound remain: what was seen often (and what priming counted) survives.
         */
        PRUNE("prune");

        private final String id;

        Overflow(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        public static Overflow parse(String id) {
            return EnumIds.parse(values(), Overflow::id, id, "context overflow", "clear or prune");
        }
    }

    private final int[] orders;
    private final int maxContexts;
    /** Configuration, not state: the owner sets it (a decoded model clears until told otherwise). */
    private Overflow overflow = Overflow.CLEAR;
    /** Contexts by key: a map of primitive longs (no boxed key, no node per entry; see README, dependencies). */
    private final LongObjectHashMap<Ctx> table;
    private long restarts;
    private final Ctx[] pending = new Ctx[MAX_ORDER + 1];

    /*
     * What changed since the last persisted point ({@link #markPersisted}), for {@link #encodeDelta}: the keys of
     * the contexts updated or created (a context is listed once: its mark is set to the current epoch when it is
     * listed), or, when something changed many contexts at once (a prune, a clear, a copy or decode whose
     * persisted point nobody knows), {@code wholeChanged}. The escape statistics and the restart count are small
     * and go into every delta whole.
     */
    private int epoch = 1;
    private long[] changedKeys = new long[64];
    private int changed;
    private boolean wholeChanged = true;

    /**
     * Secondary escape estimation (as in PPMZ and PPMd): per class of context (its order, how many
     * bytes and how many counts it holds) the escapes actually seen and the trials, which correct
     * method D's fixed guess. Halved when the trials pass {@link #SEE_LIMIT}.
     */
    private final float[] seeEscapes;
    private final float[] seeTrials;

    /** The bytes seen in one context, in first-seen order, and how often each followed it. */
    private static final class Ctx {
        byte[] sym = new byte[2];
        int[] cnt = new int[2];
        int n;
        /** The epoch in which this context was last listed as changed. */
        int mark;

        Ctx copy() {
            Ctx c = new Ctx();
            c.sym = sym.clone();
            c.cnt = cnt.clone();
            c.n = n;
            return c;
        }

        int indexOf(int b) {
            for (int i = 0; i < n; i++) {
                if ((sym[i] & 0xff) == b) {
                    return i;
                }
            }
            return -1;
        }

        void add(int b) {
            if (n == sym.length) {
                sym = Arrays.copyOf(sym, n * 2);
                cnt = Arrays.copyOf(cnt, n * 2);
            }
            sym[n] = (byte) b;
            cnt[n++] = 1;
        }

        void increment(int i) {
            if (++cnt[i] > COUNT_LIMIT) {
                for (int j = 0; j < n; j++) {
                    cnt[j] = (cnt[j] + 1) / 2;
                }
            }
        }
    }

    /**
     * @param orders      the context lengths used besides order 0, ascending, each 1..{@link #MAX_ORDER}
     * @param maxContexts the model starts again empty when it would hold more contexts than this
     */
    public ContextModel(int[] orders, int maxContexts) {
        this(checkedOrders(orders), maxContexts, new LongObjectHashMap<>(), 0);
    }

    private ContextModel(int[] orders, int maxContexts, LongObjectHashMap<Ctx> table, long restarts) {
        this(orders, maxContexts, table, restarts, null, null);
    }

    private ContextModel(int[] orders, int maxContexts, LongObjectHashMap<Ctx> table, long restarts, float[] seeEscapes,
                         float[] seeTrials) {
        if (maxContexts < 1) {
            throw new IllegalArgumentException("context model: maxContexts = " + maxContexts + ", expected >= 1");
        }
        this.orders = orders;
        this.maxContexts = maxContexts;
        this.table = table;
        this.restarts = restarts;
        int classes = (orders.length + 1) * DISTINCT_CLASSES * TOTAL_CLASSES;
        this.seeEscapes = seeEscapes == null ? new float[classes] : seeEscapes;
        this.seeTrials = seeTrials == null ? new float[classes] : seeTrials;
        if (this.seeEscapes.length != classes || this.seeTrials.length != classes) {
            throw new IllegalArgumentException("context model: " + this.seeEscapes.length + " escape classes, expected "
                    + classes);
        }
    }

    private int seeClass(int orderIndex, int distinct, int total) {
        int d = Math.min(distinct, DISTINCT_CLASSES) - 1;
        int t = Math.min(32 - Integer.numberOfLeadingZeros(total - 1), TOTAL_CLASSES - 1);
        return (orderIndex * DISTINCT_CLASSES + d) * TOTAL_CLASSES + t;
    }

    /** The escape probability of a context: method D's distinct / (2 total), corrected by what its class saw. */
    private double escape(int orderIndex, int distinct, int total) {
        int k = seeClass(orderIndex, distinct, total);
        double d = distinct / (2.0 * total);
        return (seeEscapes[k] + SEE_PRIOR * d) / (seeTrials[k] + SEE_PRIOR);
    }

    private void observeEscape(int orderIndex, int distinct, int total, boolean escaped) {
        int k = seeClass(orderIndex, distinct, total);
        if (escaped) {
            seeEscapes[k]++;
        }
        if (++seeTrials[k] > SEE_LIMIT) {
            seeEscapes[k] /= 2;
            seeTrials[k] /= 2;
        }
    }

    static int[] checkedOrders(int[] orders) {
        for (int i = 0; i < orders.length; i++) {
            if (orders[i] < 1 || orders[i] > MAX_ORDER || (i > 0 && orders[i] <= orders[i - 1])) {
                throw new IllegalArgumentException("context orders " + Arrays.toString(orders)
                        + ": expected ascending distinct values in 1.." + MAX_ORDER);
            }
        }
        return orders.clone();
    }

    /** Orders 1..{@code max}. */
    public static int[] ordersUpTo(int max) {
        int[] o = new int[max];
        for (int i = 0; i < max; i++) {
            o[i] = i + 1;
        }
        return o;
    }

    public int[] orders() {
        return orders.clone();
    }

    public int maxContexts() {
        return maxContexts;
    }

    /** Contexts held. */
    public int size() {
        return table.size();
    }

    /** Times the model was full (and started again empty, or was pruned). */
    public long restarts() {
        return restarts;
    }

    /**
     * The distribution of the byte after {@code h} into {@code out} (256 probabilities, each > 0,
     * summing to 1 up to rounding). Returns how long a context matched: 0 when no context of order
     * 1 or more has been seen, else 1 + the index in {@link #orders} of the longest one seen.
     */
    public int predict(History h, double[] out) {
        return predict(h, out, new boolean[1]);
    }

    /**
     * As {@link #predict(History, double[])}; also sets {@code deterministic[0]} to whether the
     * longest context seen had only ever been followed by one byte (the sign of verbatim recall).
     */
    public int predict(History h, double[] out, boolean[] deterministic) {
        deterministic[0] = false;
        Arrays.fill(out, 0);
        boolean[] excluded = new boolean[256]; // per call: predictions may run on several threads at once
        int nExcluded = 0;
        double mass = 1;
        int matched = -1;
        for (int i = orders.length; i >= 0; i--) {
            int order = i == 0 ? 0 : orders[i - 1];
            if (h.length() < order) {
                continue;
            }
            Ctx c = table.get(key(h, order));
            if (c == null) {
                continue;
            }
            int total = 0;
            int distinct = 0;
            for (int j = 0; j < c.n; j++) {
                if (!excluded[c.sym[j] & 0xff]) {
                    total += c.cnt[j];
                    distinct++;
                }
            }
            if (distinct == 0) {
                continue;
            }
            if (matched < 0) {
                matched = i;
                deterministic[0] = c.n == 1;
            }
            // A byte seen c times gets its share c - DELTA of the mass that does not escape.
            double esc = escape(i, distinct, total);
            double share = mass * (1 - esc) / (total - distinct * DELTA);
            for (int j = 0; j < c.n; j++) {
                int s = c.sym[j] & 0xff;
                if (!excluded[s]) {
                    out[s] += share * (c.cnt[j] - DELTA);
                    excluded[s] = true;
                    nExcluded++;
                }
            }
            mass *= esc;
        }
        if (nExcluded < 256) {
            double each = mass / (256 - nExcluded);
            for (int s = 0; s < 256; s++) {
                if (!excluded[s]) {
                    out[s] += each;
                }
            }
        } else {
            // Every byte was seen: the last escape's mass goes back in proportion.
            double scale = 1 / (1 - mass);
            for (int s = 0; s < 256; s++) {
                out[s] *= scale;
            }
        }
        return Math.max(matched, 0);
    }

    /**
     * Counts byte {@code b} after {@code h}: incremented in the longest context that had seen it,
     * added to every longer one (update exclusion: shorter contexts keep their counts). The caller
     * appends {@code b} to its history afterwards.
     */
    public void update(History h, int b) {
        boolean[] excluded = new boolean[256];
        int added = 0;
        double inherited = 0;
        for (int i = orders.length; i >= 0; i--) {
            int order = i == 0 ? 0 : orders[i - 1];
            if (h.length() < order) {
                continue;
            }
            long key = key(h, order);
            int slot = table.indexOf(key);
            Ctx c;
            if (table.indexExists(slot)) {
                c = table.indexGet(slot);
            } else {
                c = new Ctx();
                table.indexInsert(slot, key, c);
            }
            if (c.mark != epoch) {
                c.mark = epoch;
                changed(key);
            }
            int at = c.indexOf(b);
            int total = 0;
            int distinct = 0;
            for (int j = 0; j < c.n; j++) {
                int s = c.sym[j] & 0xff;
                if (!excluded[s]) {
                    total += c.cnt[j];
                    distinct++;
                    excluded[s] = true;
                }
            }
            if (distinct > 0) {
                observeEscape(i, distinct, total, at < 0);
            }
            if (at >= 0) {
                inherited = (double) c.cnt[at] / total;
                c.increment(at);
                break;
            }
            c.add(b);
            pending[added++] = c;
        }
        // Information inheritance (PPMII): a byte new to a longer context starts with the confidence the
        // context that knew it gave it, so a new long context is as sure as its shorter parent.
        int start = 1 + (int) (INHERIT * inherited);
        for (int k = 0; k < added; k++) {
            Ctx c = pending[k];
            c.cnt[c.n - 1] = Math.min(start, COUNT_LIMIT);
        }
        Arrays.fill(pending, 0, added, null);
        if (table.size() > maxContexts) {
            if (overflow == Overflow.PRUNE) {
                prune();
            } else {
                table.clear();
            }
            restarts++;
            wholeChanged = true;
        }
    }

    private void changed(long key) {
        if (wholeChanged) {
            return;   // the next persisted form is a whole one anyway
        }
        if (changed == changedKeys.length) {
            changedKeys = Arrays.copyOf(changedKeys, changed * 2);
        }
        changedKeys[changed++] = key;
    }

    /**
     * Whether the model changed since the last {@link #markPersisted} in a way a delta does not describe
     * (contexts removed by a prune or a clear when full), or has no known persisted point (new, copied or
     * decoded): then only {@link #encode} can persist it.
     */
    public boolean wholeChanged() {
        return wholeChanged;
    }

    /** Contexts updated or created since the last {@link #markPersisted} (0 when {@link #wholeChanged}). */
    public int changedContexts() {
        return wholeChanged ? 0 : changed;
    }

    /** Sets the persisted point here: what was persisted (encoded whole or as deltas) equals this model now. */
    public void markPersisted() {
        wholeChanged = false;
        changed = 0;
        if (changedKeys.length > 1 << 16) {
            changedKeys = new long[64];
        }
        if (++epoch == Integer.MAX_VALUE) {
            for (ObjectCursor<Ctx> c : table.values()) {
                c.value.mark = 0;
            }
            epoch = 1;
        }
    }

    /**
     * What changed since the last {@link #markPersisted}: the current entries of the contexts updated or created
     * (in key order), the restart count and the escape statistics. {@link #applyDelta} on the model as it was at
     * that point gives this model, bit for bit. Throws IllegalStateException when {@link #wholeChanged}.
     */
    public byte[] encodeDelta() {
        if (wholeChanged) {
            throw new IllegalStateException("the context model changed whole since it was persisted: encode it whole");
        }
        long[] keys = Arrays.copyOf(changedKeys, changed);
        Arrays.sort(keys);
        long size = 4 + 8 + 4 + 8L * seeEscapes.length + 4;
        for (long k : keys) {
            size += 8 + 1 + 2L * table.get(k).n;
        }
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size));
        out.putInt(DELTA_FORMAT).putLong(restarts).putInt(seeEscapes.length);
        return putStatisticsAndContexts(out, keys);
    }

    /**
     * Applies a delta of {@link #encodeDelta}: its contexts replace (or add to) this model's, its statistics
     * replace this model's. A delta that does not decode or does not fit this model throws
     * IllegalArgumentException naming the problem, before anything is changed.
     */
    public void applyDelta(byte[] delta) {
        ByteBuffer in = ByteBuffer.wrap(delta);
        try {
            int format = in.getInt();
            if (format != DELTA_FORMAT) {
                throw new IllegalArgumentException("context model delta format " + format + ", expected " + DELTA_FORMAT);
            }
            long newRestarts = in.getLong();
            int classes = in.getInt();
            if (classes != seeEscapes.length) {
                throw new IllegalArgumentException("context model delta has " + classes + " escape classes, the model "
                        + seeEscapes.length);
            }
            if (newRestarts < restarts) {
                throw new IllegalArgumentException("context model delta has " + newRestarts
                        + " restarts, the model it is applied to " + restarts);
            }
            float[] esc = new float[classes];
            float[] trials = new float[classes];
            readStatistics(in, esc, trials);
            int n = in.getInt();
            if (n < 0 || n > maxContexts) {
                throw new IllegalArgumentException("context model delta holds " + n + " contexts, expected 0.."
                        + maxContexts);
            }
            long[] keys = new long[n];
            Ctx[] ctxs = new Ctx[n];
            int added = 0;
            for (int i = 0; i < n; i++) {
                keys[i] = in.getLong();
                ctxs[i] = readContext(in);
                if (i > 0 && keys[i] <= keys[i - 1]) {
                    throw new IllegalArgumentException("context model delta: contexts out of order at "
                            + Long.toHexString(keys[i]));
                }
                if (!table.containsKey(keys[i])) {
                    added++;
                }
            }
            if (in.hasRemaining()) {
                throw new IllegalArgumentException("context model delta has " + in.remaining() + " trailing bytes");
            }
            if (table.size() + added > maxContexts) {
                throw new IllegalArgumentException("context model delta would make " + (table.size() + added)
                        + " contexts, more than the bound " + maxContexts);
            }
            for (int i = 0; i < n; i++) {
                table.put(keys[i], ctxs[i]);
            }
            restarts = newRestarts;
            System.arraycopy(esc, 0, seeEscapes, 0, classes);
            System.arraycopy(trials, 0, seeTrials, 0, classes);
            wholeChanged = true;
            changed = 0;
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalArgumentException("context model delta of " + delta.length + " bytes is truncated", e);
        }
    }

    /** The escape statistics, then the contexts of {@code keys} in that order (the end of both forms); returns the bytes. */
    private byte[] putStatisticsAndContexts(ByteBuffer out, long[] keys) {
        for (int k = 0; k < seeEscapes.length; k++) {
            out.putFloat(seeEscapes[k]).putFloat(seeTrials[k]);
        }
        out.putInt(keys.length);
        for (long k : keys) {
            putContext(out, k, table.get(k));
        }
        return out.array();
    }

    private static void putContext(ByteBuffer out, long k, Ctx c) {
        out.putLong(k).put((byte) (c.n - 1));
        for (int j = 0; j < c.n; j++) {
            out.put(c.sym[j]).put((byte) (c.cnt[j] - 1));
        }
    }

    private static Ctx readContext(ByteBuffer in) {
        Ctx c = new Ctx();
        int syms = (in.get() & 0xff) + 1;
        c.sym = new byte[syms];
        c.cnt = new int[syms];
        for (int j = 0; j < syms; j++) {
            c.sym[j] = in.get();
            c.cnt[j] = (in.get() & 0xff) + 1;
        }
        c.n = syms;
        return c;
    }

    private static void readStatistics(ByteBuffer in, float[] seeEscapes, float[] seeTrials) {
        for (int k = 0; k < seeEscapes.length; k++) {
            seeEscapes[k] = in.getFloat();
            seeTrials[k] = in.getFloat();
            if (!(seeEscapes[k] >= 0 && seeEscapes[k] <= seeTrials[k] && seeTrials[k] <= SEE_LIMIT + 1)) {
                throw new IllegalArgumentException("context model escape class " + k + " holds " + seeEscapes[k]
                        + " escapes in " + seeTrials[k] + " trials, expected 0 <= escapes <= trials <= "
                        + (SEE_LIMIT + 1));
            }
        }
    }

    private void prune() {
        int keep = maxContexts - maxContexts / 4;
        for (int t = 1; table.size() > keep; t *= 2) {
            int limit = t;
            table.removeAll((long k, Ctx c) -> {
                int total = 0;
                for (int j = 0; j < c.n; j++) {
                    total += c.cnt[j];
                }
                return total <= limit;
            });
        }
    }

    /** What the model does when full (configuration, not encoded with the model). */
    public Overflow overflow() {
        return overflow;
    }

    /** Sets what the model does when full; returns this model. */
    public ContextModel overflow(Overflow policy) {
        this.overflow = java.util.Objects.requireNonNull(policy, "overflow");
        return this;
    }

    /** Predicts, then counts, every byte of {@code text} after {@code h} (advancing it); returns the bits spent. */
    public double learn(History h, byte[] text) {
        double[] p = new double[256];
        double bits = 0;
        for (byte x : text) {
            int b = x & 0xff;
            predict(h, p);
            bits -= Math.log(p[b]) / Math.log(2);
            update(h, b);
            h.append(b);
        }
        return bits;
    }

    static long key(History h, int order) {
        if (order <= 7) {
            long k = order;
            for (int j = 1; j <= order; j++) {
                k = k << 8 | h.back(j);
            }
            return (long) order << 56 | k & 0x00FF_FFFF_FFFF_FFFFL;
        }
        long k = 0x9E37_79B9_7F4A_7C15L * order;
        for (int j = 1; j <= order; j++) {
            k = (k ^ h.back(j)) * 0x100_0000_01B3L;
            k ^= k >>> 29;
        }
        return (long) order << 56 | k & 0x00FF_FFFF_FFFF_FFFFL;
    }

    public ContextModel copy() {
        LongObjectHashMap<Ctx> t = new LongObjectHashMap<>(table.size());
        for (LongObjectCursor<Ctx> e : table) {
            t.put(e.key, e.value.copy());
        }
        return new ContextModel(orders, maxContexts, t, restarts, seeEscapes.clone(), seeTrials.clone()).overflow(overflow);
    }

    /** A deterministic binary form: contexts in key order. */
    public byte[] encode() {
        long[] keys = new long[table.size()];
        int i = 0;
        long size = 4 + 4 + orders.length + 4 + 8 + 8L * seeEscapes.length + 4;
        for (LongObjectCursor<Ctx> e : table) {
            keys[i++] = e.key;
            size += 8 + 1 + 2L * e.value.n;
        }
        Arrays.sort(keys);
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size));
        out.putInt(FORMAT).putInt(orders.length);
        for (int o : orders) {
            out.put((byte) o);
        }
        out.putInt(maxContexts).putLong(restarts);
        return putStatisticsAndContexts(out, keys);
    }

    /** The model of {@link #encode}; a form that does not decode throws IllegalArgumentException naming the problem. */
    public static ContextModel decode(byte[] form) {
        ByteBuffer in = ByteBuffer.wrap(form);
        try {
            int format = in.getInt();
            if (format != FORMAT) {
                throw new IllegalArgumentException("context model format " + format + ", expected " + FORMAT);
            }
            int nOrders = in.getInt();
            if (nOrders < 0 || nOrders > MAX_ORDER) {
                throw new IllegalArgumentException("context model has " + nOrders + " orders, expected 0.." + MAX_ORDER);
            }
            int[] orders = new int[nOrders];
            for (int i = 0; i < orders.length; i++) {
                orders[i] = in.get() & 0xff;
            }
            int maxContexts = in.getInt();
            long restarts = in.getLong();
            int classes = (orders.length + 1) * DISTINCT_CLASSES * TOTAL_CLASSES;
            float[] seeEscapes = new float[classes];
            float[] seeTrials = new float[classes];
            readStatistics(in, seeEscapes, seeTrials);
            int n = in.getInt();
            if (n < 0 || n > maxContexts) {
                throw new IllegalArgumentException("context model holds " + n + " contexts, expected 0.." + maxContexts);
            }
            LongObjectHashMap<Ctx> table = new LongObjectHashMap<>(n);
            for (int i = 0; i < n; i++) {
                long k = in.getLong();
                Ctx c = readContext(in);
                if (table.put(k, c) != null) {
                    throw new IllegalArgumentException("context model repeats context " + Long.toHexString(k));
                }
            }
            if (in.hasRemaining()) {
                throw new IllegalArgumentException("context model has " + in.remaining() + " trailing bytes");
            }
            return new ContextModel(checkedOrders(orders), maxContexts, table, restarts, seeEscapes, seeTrials);
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalArgumentException("context model form of " + form.length + " bytes is truncated", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ContextModel m && Arrays.equals(m.encode(), encode());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encode());
    }
}

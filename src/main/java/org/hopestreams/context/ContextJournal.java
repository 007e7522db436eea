package org.hopestreams.context;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * How a global {@link ContextModel} is persisted at commits: a base (its whole {@link ContextModel#encode
 * encoding}) and a journal of the deltas since that base ({@link ContextModel#encodeDelta}), in order. A commit
 * after a few records changes a few thousand of up to a million contexts, so it writes the journal (the deltas
 * so far, named by the id of the base they apply to) and not the base; the base is written again only when the
 * journal would pass {@link #COMPACT_FRACTION} of it (the journal then starts empty), or when the model changed
 * in a way a delta does not describe (a prune or clear when full, a model adopted or restored without a journal,
 * a new one: {@link ContextModel#wholeChanged}). Restoring is {@link #restore}: the base decoded and every delta
 * applied in order, which gives the model that was persisted bit for bit.
 *
 * <p>The owner's thread only, as its model.
 */
public final class ContextJournal {
    /**
     * A new base is written instead of a delta when the journal would pass this fraction of the base's bytes.
     * A commit writes the whole journal (its store entry is rewritten, docs/streaming.md), so a commit's bytes
     * average about half this fraction of the base plus a base every fraction / delta commits. Measured on a
     * global model of 527K-651K contexts with one-record commits (ContextJournalStoreTest, 120 commits): 1/16
     * wrote 526 KB per commit, 1/8 547 KB, 1/4 712 KB (the whole model: 6.7 MB); larger deltas (commits of more
     * records) favour a larger fraction, hence 1/8.
     */
    public static final double COMPACT_FRACTION = 0.125;
    private static final int FORMAT = 1;

    private final double compactFraction;
    /** Bytes of the base the journal applies to; -1 when no base is known (the next commit writes one). */
    private long baseBytes = -1;
    private long baseId;
    private final List<byte[]> deltas = new ArrayList<>();
    private long deltaBytes;

    /** What one commit persists: the new base (null when the stored one stays) and the journal, never null. */
    public record Persisted(byte[] base, byte[] journal) {
    }

    /** A journal that knows no base: the first {@link #take} writes one. */
    public ContextJournal() {
        this(COMPACT_FRACTION);
    }

    /** A journal compacted at another fraction of its base (to measure the choice of {@link #COMPACT_FRACTION}). */
    ContextJournal(double compactFraction) {
        this.compactFraction = compactFraction;
    }

    /**
     * What to persist of {@code model} now, and sets its persisted point ({@link ContextModel#markPersisted}):
     * a new base with an empty journal, or the stored base with the journal and this commit's delta.
     */
    public Persisted take(ContextModel model) {
        boolean whole = baseBytes < 0 || model.wholeChanged();
        byte[] delta = null;
        if (!whole && model.changedContexts() > 0) {
            delta = model.encodeDelta();
            whole = deltaBytes + delta.length > compactFraction * baseBytes;
        }
        if (whole) {
            byte[] base = model.encode();
            baseBytes = base.length;
            baseId = id(base);
            deltas.clear();
            deltaBytes = 0;
            model.markPersisted();
            return new Persisted(base, journal());
        }
        if (delta != null) {
            deltas.add(delta);
            deltaBytes += delta.length;
        }
        model.markPersisted();
        return new Persisted(null, journal());
    }

    /** Deltas in the journal since the base. */
    public int deltas() {
        return deltas.size();
    }

    /** The journal's form: the id of its base, then each delta (length-prefixed) in order. */
    private byte[] journal() {
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(4 + 8 + 4 + 4L * deltas.size() + deltaBytes));
        out.putInt(FORMAT).putLong(baseId).putInt(deltas.size());
        for (byte[] d : deltas) {
            out.putInt(d.length).put(d);
        }
        return out.array();
    }

    /** A base's id: its length and CRC32C, so a journal names the one base it applies to. */
    static long id(byte[] base) {
        CRC32C crc = new CRC32C();
        crc.update(base);
        return (long) base.length << 32 | crc.getValue();
    }

    /** A model and the journal that continues it, as {@link #restore} gives them. */
    public record Restored(ContextModel model, ContextJournal journal) {
    }

    /**
     * The model persisted as {@code base} and {@code journal} (null: none, as a store written before journals
     * or a checkpoint file; the next commit then writes a base), and the journal that continues it. A journal
     * of another base, or one that does not decode or fit, throws IllegalArgumentException naming the problem.
     */
    public static Restored restore(byte[] base, byte[] journal) {
        ContextModel model = ContextModel.decode(base);
        ContextJournal j = new ContextJournal();
        if (journal == null) {
            return new Restored(model, j);
        }
        ByteBuffer in = ByteBuffer.wrap(journal);
        try {
            int format = in.getInt();
            if (format != FORMAT) {
                throw new IllegalArgumentException("context journal format " + format + ", expected " + FORMAT);
            }
            long of = in.getLong();
            long id = id(base);
            if (of != id) {
                throw new IllegalArgumentException("the context journal belongs to base " + Long.toHexString(of)
                        + " (bytes and CRC32C), not to the stored base " + Long.toHexString(id)
                        + ": refused, a journal applies only to its own base");
            }
            int n = in.getInt();
            if (n < 0 || n > in.remaining() / 4) {
                throw new IllegalArgumentException("context journal of " + journal.length + " bytes counts " + n
                        + " deltas");
            }
            for (int i = 0; i < n; i++) {
                int len = in.getInt();
                if (len < 0 || len > in.remaining()) {
                    throw new IllegalArgumentException("context journal delta " + i + " of " + len
                            + " bytes, " + in.remaining() + " left");
                }
                byte[] d = new byte[len];
                in.get(d);
                try {
                    model.applyDelta(d);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("context journal delta " + i + ": " + e.getMessage(), e);
                }
                j.deltas.add(d);
                j.deltaBytes += len;
            }
            if (in.hasRemaining()) {
                throw new IllegalArgumentException("context journal has " + in.remaining() + " trailing bytes");
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalArgumentException("context journal of " + journal.length + " bytes is truncated", e);
        }
        j.baseBytes = base.length;
        j.baseId = id(base);
        model.markPersisted();
        return new Restored(model, j);
    }
}

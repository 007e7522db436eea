package org.hopestreams.context;

import java.util.Arrays;

/**
 * The last bytes of one key's stream, newest last: the context that an exact-context model looks
 * up. Keeps at most {@link ContextModel#MAX_ORDER} bytes.
 *
 * <p>Mutable and not thread-safe; {@link #copy} before handing it to another owner.
 */
public final class History {
    private final byte[] bytes;
    private int length;

    public History() {
        this(new byte[ContextModel.MAX_ORDER], 0);
    }

    private History(byte[] bytes, int length) {
        this.bytes = bytes;
        this.length = length;
    }

    /** A history holding the last {@link ContextModel#MAX_ORDER} bytes of {@code seen}. */
    public static History of(byte[] seen) {
        History h = new History();
        for (byte b : seen) {
            h.append(b & 0xff);
        }
        return h;
    }

    public void append(int b) {
        if (length == bytes.length) {
            System.arraycopy(bytes, 1, bytes, 0, length - 1);
            length--;
        }
        bytes[length++] = (byte) b;
    }

    /** Bytes held (at most {@link ContextModel#MAX_ORDER}). */
    public int length() {
        return length;
    }

    /** The byte {@code back} positions before the end (1 = the newest). */
    int back(int back) {
        return bytes[length - back] & 0xff;
    }

    public History copy() {
        return new History(bytes.clone(), length);
    }

    /** The held bytes, oldest first. */
    public byte[] toBytes() {
        return Arrays.copyOf(bytes, length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof History h && Arrays.equals(h.toBytes(), toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}

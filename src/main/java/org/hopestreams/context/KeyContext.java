package org.hopestreams.context;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One key's part of the exact-context level: its own context model (what this key's stream
 * continued with after each recent context) and the key's last bytes. Stored with the key's fast
 * memory.
 *
 * <p>Mutable, but a {@link org.hopestreams.model.FastState} holding it is immutable by contract:
 * whoever advances a key's context works on a {@link #copy}.
 */
public final class KeyContext {
    private final ContextModel model;
    private final History history;

    public KeyContext(ContextModel model, History history) {
        this.model = model;
        this.history = history;
    }

    public static KeyContext fresh(int[] orders, int maxContexts) {
        return new KeyContext(new ContextModel(orders, maxContexts), new History());
    }

    public ContextModel model() {
        return model;
    }

    public History history() {
        return history;
    }

    /** Counts byte {@code b} in the key's model and appends it to the history. */
    public void observe(int b) {
        model.update(history, b);
        history.append(b);
    }

    public KeyContext copy() {
        return new KeyContext(model.copy(), history.copy());
    }

    /** History length, history bytes, then the model's own form. */
    public byte[] encode() {
        byte[] h = history.toBytes();
        byte[] m = model.encode();
        return ByteBuffer.allocate(1 + h.length + m.length).put((byte) h.length).put(h).put(m).array();
    }

    /** The key context of {@link #encode}; IllegalArgumentException naming the problem if it does not decode. */
    public static KeyContext decode(byte[] form) {
        if (form.length < 1 || (form[0] & 0xff) > ContextModel.MAX_ORDER || form.length < 1 + (form[0] & 0xff)) {
            throw new IllegalArgumentException("key context of " + form.length + " bytes does not start with a history"
                    + " of at most " + ContextModel.MAX_ORDER + " bytes");
        }
        int n = form[0] & 0xff;
        History h = History.of(Arrays.copyOfRange(form, 1, 1 + n));
        return new KeyContext(ContextModel.decode(Arrays.copyOfRange(form, 1 + n, form.length)), h);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyContext k && k.history.equals(history) && k.model.equals(model);
    }

    @Override
    public int hashCode() {
        return history.hashCode();
    }
}

package org.hopestreams.model;

import org.hopestreams.context.KeyContext;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One key's fast level (MODEL.md): per block the memory delta ΔM, its momentum S and the conv
 * tail (plus, with the self-modifying option, the deltas and momenta of the k and v memories),
 * and the key's last byte, the input before its next record's first byte; with the exact-context
 * level on, also the key's {@link KeyContext} (never modified once in a state: advance a copy).
 *
 * <p>Immutable and engine-free, so a store may keep it, encode it and hand it to another thread.
 * Tensors are named {@code blocks.<i>.<part>}; see {@link #fresh}.
 */
public record FastState(Map<String, HostTensor> tensors, int lastInput, KeyContext context) {

    /** A state without an exact-context part. */
    public FastState(Map<String, HostTensor> tensors, int lastInput) {
        this(tensors, lastInput, null);
    }

    /** This state with the key's exact-context part replaced (null: none). */
    public FastState withContext(KeyContext keyContext) {
        return new FastState(tensors, lastInput, keyContext);
    }

    public FastState {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        if (lastInput < 0 || lastInput > HopeConfig.START) {
            throw new IllegalArgumentException("last input " + lastInput + " is not a byte or START (256)");
        }
    }

    /** The state of a key never seen: zero deltas, zero momenta, zero conv tail, START. */
    public static FastState fresh(HopeConfig c) {
        Map<String, HostTensor> t = new LinkedHashMap<>();
        for (int b = 0; b < c.blocks(); b++) {
            for (Map.Entry<String, long[]> e : partShapes(c).entrySet()) {
                t.put("blocks." + b + "." + e.getKey(), HostTensor.zeros(c.type(), e.getValue()));
            }
        }
        return new FastState(t, HopeConfig.START);
    }

    /** Shapes of one block's parts (without the batch dimension). */
    public static Map<String, long[]> partShapes(HopeConfig c) {
        Map<String, long[]> s = new LinkedHashMap<>();
        if (c.memory()) {
            s.put("dM", new long[] {c.heads(), c.dHead(), c.dHead()});
            s.put("S", new long[] {c.heads(), c.dHead(), c.dHead()});
            if (c.selfModifying()) {
                long hd = (long) c.heads() * c.dHead();
                s.put("kM", new long[] {hd, c.d()});
                s.put("kS", new long[] {hd, c.d()});
                s.put("vM", new long[] {hd, c.d()});
                s.put("vS", new long[] {hd, c.d()});
            }
        }
        s.put("tail", new long[] {c.convK() - 1, c.d()});
        return s;
    }

    public HostTensor part(int block, String part) {
        HostTensor t = tensors.get("blocks." + block + "." + part);
        if (t == null) {
            throw new IllegalArgumentException("fast state has no blocks." + block + "." + part);
        }
        return t;
    }
}

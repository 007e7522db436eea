package org.hopestreams.store;

import org.hopestreams.model.HostTensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything needed to resume a model: configuration strings ({@code meta}), integer counters and tensors, each
 * keyed by name in insertion order.
 *
 * <p>Immutable: the maps are copied when built and exposed read-only. Tensors are shared, not copied, relying on
 * the {@link HostTensor} contract that its bytes are never modified. Equality is exact and order-sensitive: two
 * snapshots are equal when they hold the same entries in the same order, tensors compared bit for bit (so NaN
 * payloads and the sign of zero count).
 */
public final class StateSnapshot {
    private final Map<String, String> meta;
    private final Map<String, Long> counters;
    private final Map<String, HostTensor> tensors;

    private StateSnapshot(Builder b) {
        meta = Collections.unmodifiableMap(new LinkedHashMap<>(b.meta));
        counters = Collections.unmodifiableMap(new LinkedHashMap<>(b.counters));
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(b.tensors));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Configuration entries in insertion order; read-only. */
    public Map<String, String> meta() {
        return meta;
    }

    /** Counters in insertion order; read-only. */
    public Map<String, Long> counters() {
        return counters;
    }

    /** Tensors in insertion order; read-only. */
    public Map<String, HostTensor> tensors() {
        return tensors;
    }

    /** @throws IllegalArgumentException if there is no meta entry {@code name} */
    public String meta(String name) {
        return get(meta, name, "meta entry");
    }

    /** @throws IllegalArgumentException if there is no counter {@code name} */
    public long counter(String name) {
        return get(counters, name, "counter");
    }

    /** @throws IllegalArgumentException if there is no tensor {@code name} */
    public HostTensor tensor(String name) {
        return get(tensors, name, "tensor");
    }

    private static <V> V get(Map<String, V> map, String name, String kind) {
        V value = map.get(name);
        if (value == null) {
            throw new IllegalArgumentException("snapshot has no " + kind + " \"" + name + "\"; it has " + map.keySet());
        }
        return value;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StateSnapshot s && sameInOrder(meta, s.meta) && sameInOrder(counters, s.counters)
                && sameInOrder(tensors, s.tensors);
    }

    /** Map.equals ignores order; a snapshot's order is part of its value (it is what a round trip must keep). */
    private static boolean sameInOrder(Map<String, ?> a, Map<String, ?> b) {
        return List.copyOf(a.entrySet()).equals(List.copyOf(b.entrySet()));
    }

    @Override
    public int hashCode() {
        return Objects.hash(meta, counters, tensors);
    }

    @Override
    public String toString() {
        return "StateSnapshot{meta=" + meta.keySet() + ", counters=" + counters + ", tensors=" + tensors + "}";
    }

    /** Collects entries; each name may be set once per kind, so a typo cannot silently overwrite an entry. */
    public static final class Builder {
        private final Map<String, String> meta = new LinkedHashMap<>();
        private final Map<String, Long> counters = new LinkedHashMap<>();
        private final Map<String, HostTensor> tensors = new LinkedHashMap<>();

        private Builder() {
        }

        public Builder meta(String name, String value) {
            put(meta, name, value, "meta entry");
            return this;
        }

        public Builder counter(String name, long value) {
            put(counters, name, value, "counter");
            return this;
        }

        public Builder tensor(String name, HostTensor value) {
            put(tensors, name, value, "tensor");
            return this;
        }

        /** A snapshot of the entries so far; later builder calls do not affect it. */
        public StateSnapshot build() {
            return new StateSnapshot(this);
        }

        private static <V> void put(Map<String, V> map, String name, V value, String kind) {
            Objects.requireNonNull(name, kind + " name");
            Objects.requireNonNull(value, () -> kind + " \"" + name + "\" value");
            if (map.putIfAbsent(name, value) != null) {
                throw new IllegalArgumentException("duplicate " + kind + " \"" + name + "\", expected each name once");
            }
        }
    }
}

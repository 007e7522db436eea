package org.hopestreams.learn;

import org.hopestreams.model.FastState;

/**
 * Where the fast level of every key lives between its records. The learner reads a key's state
 * before a record and writes the new one only after the record was accepted, so a rejected record
 * leaves the store untouched.
 *
 * <p>Implementations need not be thread-safe: one learner (one stream task) owns its store.
 */
public interface FastStateStore {
    /**
     * The key's state, or {@code null} for a key never seen.
     *
     * @throws UnreadableStateException if the key has a stored state that cannot be decoded
     */
    FastState get(String key);

    void put(String key, FastState state);

    /** Number of keys held. */
    long size();

    /** Every key and its state, for snapshots; order is the store's own. */
    Iterable<java.util.Map.Entry<String, FastState>> entries();
}

package org.hopestreams.learn;

import org.hopestreams.model.FastState;

import java.util.LinkedHashMap;
import java.util.Map;

/** A fast-state store on the heap, for the command line and tests. Not thread-safe. */
public final class InMemoryFastStateStore implements FastStateStore {
    private final Map<String, FastState> states = new LinkedHashMap<>();

    @Override
    public FastState get(String key) {
        return states.get(key);
    }

    @Override
    public void put(String key, FastState state) {
        states.put(key, state);
    }

    @Override
    public long size() {
        return states.size();
    }

    @Override
    public Iterable<Map.Entry<String, FastState>> entries() {
        return states.entrySet();
    }
}

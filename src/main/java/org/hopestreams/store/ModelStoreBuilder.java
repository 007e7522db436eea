package org.hopestreams.store;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

import java.util.HashMap;
import java.util.Map;

/** Builds a {@link ModelStore} over a persistent RocksDB store, logged unless told otherwise; never cached. */
public final class ModelStoreBuilder implements StoreBuilder<ModelStore> {
    private final String name;
    private boolean logging = true;
    private Map<String, String> logConfig = new HashMap<>();

    public ModelStoreBuilder(String name) {
        this.name = name;
    }

    @Override
    public StoreBuilder<ModelStore> withCachingEnabled() {
        throw new UnsupportedOperationException("the model store is its own cache (it holds no copy of the model)");
    }

    @Override
    public StoreBuilder<ModelStore> withCachingDisabled() {
        return this;
    }

    @Override
    public StoreBuilder<ModelStore> withLoggingEnabled(Map<String, String> config) {
        logging = true;
        logConfig = new HashMap<>(config);
        return this;
    }

    @Override
    public StoreBuilder<ModelStore> withLoggingDisabled() {
        logging = false;
        logConfig = new HashMap<>();
        return this;
    }

    @Override
    public ModelStore build() {
        StoreBuilder<KeyValueStore<Bytes, byte[]>> inner = Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(name), Serdes.Bytes(), Serdes.ByteArray()).withCachingDisabled();
        inner = logging ? inner.withLoggingEnabled(logConfig) : inner.withLoggingDisabled();
        return new ModelStore(inner.build());
    }

    @Override
    public Map<String, String> logConfig() {
        return logConfig;
    }

    @Override
    public boolean loggingEnabled() {
        return logging;
    }

    @Override
    public String name() {
        return name;
    }
}

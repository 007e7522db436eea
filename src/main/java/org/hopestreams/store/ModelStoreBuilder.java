package org.hopestreams.store;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

import java.util.HashMap;
import java.util.Map;

/**
 * Builds a {@link ModelStore} over a persistent RocksDB store, logged unless told otherwise; never cached.
 *
 * <p>The changelog rewrites the same few keys (the state groups) at every commit, megabytes each
 * time, so a restore should replay about one model version, not the history: the changelog is
 * compacted (as every store changelog) with segments of {@link #CHANGELOG_SEGMENT_BYTES} rolled at
 * least every {@link #CHANGELOG_SEGMENT_MS} (only closed segments are compacted; Kafka's default is
 * 1 GiB and 7 days) and cleaned once a tenth of the log is dirty. Given settings override these.
 */
public final class ModelStoreBuilder implements StoreBuilder<ModelStore> {
    public static final String CHANGELOG_SEGMENT_BYTES = "67108864";
    public static final String CHANGELOG_SEGMENT_MS = "600000";
    private final String name;
    private boolean logging = true;
    private Map<String, String> logConfig = defaults();

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

    private static Map<String, String> defaults() {
        Map<String, String> m = new HashMap<>();
        m.put("segment.bytes", CHANGELOG_SEGMENT_BYTES);
        m.put("segment.ms", CHANGELOG_SEGMENT_MS);
        m.put("min.cleanable.dirty.ratio", "0.1");
        return m;
    }

    @Override
    public StoreBuilder<ModelStore> withLoggingEnabled(Map<String, String> config) {
        logging = true;
        logConfig = defaults();
        logConfig.putAll(config);
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

package org.hopestreams.serve;

import ai.djl.Device;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.hopestreams.learn.FastStateStore;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.model.FastState;
import org.hopestreams.model.HostTensor;
import org.hopestreams.store.ChunkedValues;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateFormatException;
import org.hopestreams.stream.LearnerHub;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Answers queries on this instance's partitions without touching a live learner: each partition
 * has a query-only learner holding the parameters its task published at its last commit (only
 * tensors that changed are copied in), and keys' fast states are read from the {@code fast-memory}
 * store through Kafka Streams' interactive queries (thread-safe, read-only). So a query sees the
 * model as of the last commit (at most {@code commit.interval.ms} old) and the key's latest memory,
 * and never blocks the stream thread: the two share nothing but immutable tensors and the store.
 * Queries run one at a time per partition.
 */
public final class QueryEngine implements AutoCloseable {

    /**
     * What a query saw: the model version it ran on, whether the key had a memory yet, and the global version of the
     * slow levels the partition had adopted (-1 without consolidation across partitions).
     */
    public record Answer<T>(T value, boolean known, long modelVersion, int partition, long globalVersion) {
    }

    private final LearnerHub hub;
    private final Supplier<ReadOnlyKeyValueStore<Bytes, byte[]>> fastStore;
    private final Device device;
    private final Map<Integer, Replica> replicas = new HashMap<>();

    private static final class Replica {
        Learner learner;
        Map<String, HostTensor> params = Map.of();
        Map<String, HostTensor> context = Map.of();
        long version;
        long globalVersion;
        String preset;
    }

    public QueryEngine(LearnerHub hub, Supplier<ReadOnlyKeyValueStore<Bytes, byte[]>> fastStore, Device device) {
        this.hub = hub;
        this.fastStore = fastStore;
        this.device = device;
    }

    /** Bits per byte of {@code text} after the key's memory, on the partition's committed model. */
    public Answer<Double> score(int partition, String key, byte[] text) {
        return withReplica(partition, key, (l, known) -> l.score(key, text));
    }

    public Answer<byte[]> complete(int partition, String key, byte[] prompt, int maxBytes, double temperature,
                                   long seed) {
        return withReplica(partition, key, (l, known) -> l.complete(key, prompt, maxBytes, temperature, seed));
    }

    /** The key's stored fast state, or null if the key has none yet. */
    public FastState fastState(int partition, String key) {
        LearnerHub.TaskModel m = model(partition);
        return readFast(key, m);
    }

    public LearnerHub.TaskModel model(int partition) {
        return hub.model(partition).orElseThrow(() -> new IllegalStateException("partition " + partition
                + " has no published model on this instance yet (the task is starting or restoring)"));
    }

    private interface Query<T> {
        T run(Learner l, boolean known);
    }

    private <T> Answer<T> withReplica(int partition, String key, Query<T> q) {
        LearnerHub.TaskModel m = model(partition);
        Replica r;
        synchronized (replicas) {
            r = replicas.computeIfAbsent(partition, p -> new Replica());
        }
        synchronized (r) {
            refresh(r, m);
            boolean known = known(key);
            return new Answer<>(q.run(r.learner, known), known, r.version, partition, r.globalVersion);
        }
    }

    private void refresh(Replica r, LearnerHub.TaskModel m) {
        if (r.learner == null || !m.config().preset().equals(r.preset)
                || !m.learnerConfig().contextConfig().mode().equals(r.learner.learnerConfig().contextConfig().mode())) {
            if (r.learner != null) {
                r.learner.close();
            }
            r.learner = Learner.forQueries(m.config(), m.learnerConfig(), m.params(), contextLevel(m), new StoreView(m),
                    device);
            r.preset = m.config().preset();
        } else {
            if (r.context != m.context()) {
                r.learner.replaceContext(contextLevel(m));
            }
            if (r.params != m.params()) {
                Map<String, HostTensor> changed = new LinkedHashMap<>();
                m.params().forEach((k, v) -> {
                    if (r.params.get(k) != v) {
                        changed.put(k, v);
                    }
                });
                r.learner.replaceParameters(changed);
            }
        }
        r.params = m.params();
        r.context = m.context();
        r.version = m.version();
        r.globalVersion = m.globalVersion();
    }

    /** The published exact-context level, decoded (a copy of the task's committed one, never the live one). */
    private static org.hopestreams.context.ContextLevel contextLevel(LearnerHub.TaskModel m) {
        try {
            return LearnerSnapshots.contextLevel(m.learnerConfig(), m.context());
        } catch (StateFormatException e) {
            throw new IllegalStateException("partition " + m.partition() + ": the published context level is "
                    + "unreadable: " + e.getMessage(), e);
        }
    }

    private FastState readFast(String key, LearnerHub.TaskModel m) {
        try {
            List<byte[]> chunks = ChunkedValues.chunks(fastStore.get(), key.getBytes(StandardCharsets.UTF_8));
            return chunks == null ? null
                    : LearnerSnapshots.fastState(new StateCodec().decode(chunks), m.config(), key);
        } catch (StateFormatException e) {
            throw new IllegalStateException("the stored memory of key '" + key + "' is unreadable: " + e.getMessage(), e);
        }
    }

    /** Whether the key has a stored memory: one lookup, no decoding (the query reads the memory itself). */
    private boolean known(String key) {
        return fastStore.get().get(ChunkedValues.chunkKey(key.getBytes(StandardCharsets.UTF_8), 0)) != null;
    }

    /** The fast-memory store as the query learner sees it: read-only. */
    private final class StoreView implements FastStateStore {
        private final LearnerHub.TaskModel model;

        StoreView(LearnerHub.TaskModel model) {
            this.model = model;
        }

        @Override
        public FastState get(String key) {
            return readFast(key, model);
        }

        @Override
        public void put(String key, FastState state) {
            throw new UnsupportedOperationException("queries never write state");
        }

        @Override
        public long size() {
            return fastStore.get().approximateNumEntries();
        }

        @Override
        public Iterable<Map.Entry<String, FastState>> entries() {
            throw new UnsupportedOperationException("queries do not list keys");
        }
    }

    @Override
    public void close() {
        synchronized (replicas) {
            replicas.values().forEach(r -> {
                synchronized (r) {
                    if (r.learner != null) {
                        r.learner.close();
                    }
                }
            });
            replicas.clear();
        }
    }
}

package org.hopestreams.store;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.processor.internals.InternalProcessorContext;
import org.apache.kafka.streams.processor.internals.ProcessorRecordContext;
import org.apache.kafka.streams.query.Position;
import org.apache.kafka.streams.query.PositionBound;
import org.apache.kafka.streams.query.Query;
import org.apache.kafka.streams.query.QueryConfig;
import org.apache.kafka.streams.query.QueryResult;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.internals.CacheFlushListener;
import org.apache.kafka.streams.state.internals.CachedStateStore;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The {@code model} store: a store layer of our own over a persistent, logged byte store
 * (ARCHITECTURE.md §3, second way). The live model is held by the processor; this layer asks it
 * for the groups changed since the last commit ({@link DirtySource}) and writes them, chunked,
 * when Kafka Streams flushes caches, which it does in {@code prepareCommit} before the producer is
 * flushed and the transaction commits, exactly as its own caching layer does. So every change a
 * record caused is in the changelog of the transaction that commits the record's offset, and a
 * record costs no serialisation of the model: a commit does, once, for what changed.
 *
 * <p>Writes happen only in {@link #flushCache()}: {@link #commit(Map)} runs after the transaction.
 *
 * <p>It relies on Kafka Streams calling {@link CachedStateStore#flushCache()} on registered stores
 * before each commit (4.3.1: {@code ProcessorStateManager.flushCache} from
 * {@code StreamTask.prepareCommit}); the crash test proves the guarantee end to end.
 */
public final class ModelStore implements StateStore, CachedStateStore<Bytes, byte[]> {

    /** The live model's changed groups, by name; called on the stream thread at every commit. */
    @FunctionalInterface
    public interface DirtySource {
        Map<String, StateSnapshot> takeDirty();
    }

    private final KeyValueStore<Bytes, byte[]> inner;
    private final ChunkedValues values;
    private final StateCodec codec = new StateCodec();
    private DirtySource source;
    private StateStoreContext context;
    private long flushes;
    private long flushNanos;
    private long bytesWritten;

    public ModelStore(KeyValueStore<Bytes, byte[]> inner) {
        this.inner = Objects.requireNonNull(inner);
        this.values = new ChunkedValues(inner, codec);
    }

    /** Who to ask for changed groups at commit time; {@code null} detaches. */
    public void attach(DirtySource source) {
        this.source = source;
    }

    /** Every stored group, by name (empty for a new store). */
    public Map<String, StateSnapshot> read() throws StateFormatException {
        Map<String, StateSnapshot> out = new LinkedHashMap<>();
        for (byte[] name : values.names()) {
            out.put(new String(name, StandardCharsets.UTF_8), values.get(name));
        }
        return out;
    }

    /** Every raw entry (chunk keys and values), in key order: for tests and tools. */
    public java.util.List<org.apache.kafka.streams.KeyValue<Bytes, byte[]>> rawEntries() {
        java.util.List<org.apache.kafka.streams.KeyValue<Bytes, byte[]>> out = new java.util.ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> it = inner.all()) {
            it.forEachRemaining(out::add);
        }
        return out;
    }

    /** Writes the source's changed groups now (also what a commit does). */
    public void writeDirty() {
        if (source == null) {
            return;
        }
        long t0 = System.nanoTime();
        Map<String, StateSnapshot> dirty = source.takeDirty();
        if (dirty.isEmpty()) {
            return;
        }
        PersistStats.MODEL_COPY_NANOS.add(System.nanoTime() - t0);
        long before = bytesWritten;
        dirty.forEach((name, s) -> {
            long e0 = System.nanoTime();
            java.util.List<byte[]> chunks = codec.encode(s);
            PersistStats.MODEL_ENCODE_NANOS.add(System.nanoTime() - e0);
            bytesWritten += values.putChunks(name.getBytes(StandardCharsets.UTF_8), chunks);
        });
        flushes++;
        long nanos = System.nanoTime() - t0;
        flushNanos += nanos;
        PersistStats.MODEL_COMMITS.increment();
        PersistStats.MODEL_NANOS.add(nanos);
        PersistStats.MODEL_BYTES.add(bytesWritten - before);
    }

    /** Commits that wrote something, their total time in ms, and the bytes they wrote. */
    public long[] flushStats() {
        return new long[] {flushes, flushNanos / 1_000_000, bytesWritten};
    }

    @Override
    public void flushCache() {
        // A task's first commit may come before it processed or punctuated anything (its only input so far
        // skipped by the deserialization handler, while a new model waits to be written): then there is no
        // record context, which a logged put needs. Kafka's caching layer puts back each flushed entry's
        // context; ours has none to keep, so the commit gets one of its own, at the wall clock (the
        // context's cached clock is -1 before the task's first record, and a changelog record with a
        // negative timestamp fails the commit and stops the application: BadInputFirstCommitTest).
        if (context instanceof InternalProcessorContext<?, ?> c
                && (c.recordContext() == null || c.recordContext().timestamp() < 0)) {
            ProcessorRecordContext before = c.recordContext();
            c.setRecordContext(new ProcessorRecordContext(System.currentTimeMillis(), -1, -1, null, new RecordHeaders()));
            try {
                writeDirty();
            } finally {
                c.setRecordContext(before);
            }
            return;
        }
        writeDirty();
    }

    @Override
    public void clearCache() {
        // Nothing cached here: the live model belongs to the processor, rebuilt from the store on init.
    }

    @Override
    public boolean setFlushListener(CacheFlushListener<Bytes, byte[]> listener, boolean sendOldValues) {
        return false;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public void init(StateStoreContext context, StateStore root) {
        // Also after close() (a revived task): no source until the processor's init() attaches its new learner.
        source = null;
        this.context = context;
        inner.init(context, root);
    }

    @Override
    public void commit(Map<TopicPartition, Long> changelogOffsets) {
        // Called after the transaction (post-commit checkpointing): too late to write, and outside any
        // record context, where a logged put fails. Everything was written in flushCache().
        inner.commit(changelogOffsets);
    }

    @Override
    public Long committedOffset(TopicPartition partition) {
        return inner.committedOffset(partition);
    }

    @Override
    public boolean managesOffsets() {
        return inner.managesOffsets();
    }

    @Override
    public void close() {
        source = null;
        inner.close();
    }

    @Override
    public boolean persistent() {
        return inner.persistent();
    }

    @Override
    public boolean isOpen() {
        return inner.isOpen();
    }

    @Override
    public <R> QueryResult<R> query(Query<R> query, PositionBound positionBound, QueryConfig config) {
        return inner.query(query, positionBound, config);
    }

    @Override
    public Position getPosition() {
        return inner.getPosition();
    }
}

package org.hopestreams.stream;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.hopestreams.learn.FastStateStore;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.learn.UnreadableStateException;
import org.hopestreams.model.FastState;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.store.ChunkedValues;
import org.hopestreams.store.PersistStats;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateFormatException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The {@code fast-memory} store seen as the learner's {@link FastStateStore}: one entry per key,
 * its fast state encoded by {@link StateCodec} in chunks below 1 MB (a {@code base} state is about
 * 0.5 MB). Written on every accepted record; the store's cache keeps only a key's last write per
 * commit. Not thread-safe (a stream task's store).
 *
 * <p>Beside the states, one small entry per key records the stream time of its last record, under
 * {@code 0xFF ++ key}: a UTF-8 key never holds the byte 0xFF, so these entries never meet a state's
 * chunk keys and sort after all of them, and finding idle keys reads them alone, never a state.
 */
public final class KvFastStateStore implements FastStateStore {
    private static final byte LAST_SEEN = (byte) 0xFF;
    private final KeyValueStore<Bytes, byte[]> store;
    private final ChunkedValues values;
    private final Supplier<HopeConfig> config;
    private long putNanos;
    private long puts;

    /** @param config the model's configuration (known once the model is loaded), to check states against */
    public KvFastStateStore(KeyValueStore<Bytes, byte[]> store, Supplier<HopeConfig> config) {
        this.store = store;
        this.values = new ChunkedValues(store, new StateCodec());
        this.config = config;
    }

    @Override
    public FastState get(String key) {
        try {
            var s = values.get(name(key));
            return s == null ? null : LearnerSnapshots.fastState(s, config.get(), key);
        } catch (StateFormatException e) {
            throw new UnreadableStateException(key, "fast-memory store holds an unreadable state for key '" + key
                    + "': " + e.getMessage(), e);
        }
    }

    @Override
    public void put(String key, FastState state) {
        long t0 = System.nanoTime();
        long bytes = values.put(name(key), LearnerSnapshots.fastState(state));
        long nanos = System.nanoTime() - t0;
        putNanos += nanos;
        puts++;
        PersistStats.FAST_PUTS.increment();
        PersistStats.FAST_NANOS.add(nanos);
        PersistStats.FAST_BYTES.add(bytes);
    }

    /** Removes the key's state (a tombstone per chunk in the changelog); the key starts afresh. */
    public void delete(String key) {
        values.delete(name(key));
        store.delete(lastSeenKey(name(key)));
    }

    /** Notes that the key had a record at stream time {@code streamTime} (see {@link #deleteIdle}). */
    public void touch(String key, long streamTime) {
        store.put(lastSeenKey(name(key)), ByteBuffer.allocate(8).putLong(streamTime).array());
    }

    /**
     * Deletes the state of every key whose last record came before {@code cutoff} (stream time), with
     * tombstones in the changelog; returns how many keys went. Keys last written by a build that did
     * not note their time are never idle here: they are noted at their next record.
     */
    public long deleteIdle(long cutoff) {
        List<byte[]> idle = new ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> it = store.range(Bytes.wrap(new byte[] {LAST_SEEN}), null)) {
            while (it.hasNext()) {
                var e = it.next();
                if (ByteBuffer.wrap(e.value).getLong() < cutoff) {
                    idle.add(Arrays.copyOfRange(e.key.get(), 1, e.key.get().length));
                }
            }
        }
        for (byte[] name : idle) {
            values.delete(name);
            store.delete(lastSeenKey(name));
        }
        return idle.size();
    }

    /** Puts so far and their total time in ms (encode and store). */
    public long[] putStats() {
        return new long[] {puts, putNanos / 1_000_000};
    }

    /** Keys held; counts the store (a full scan). */
    @Override
    public long size() {
        return names().size();
    }

    @Override
    public Iterable<Map.Entry<String, FastState>> entries() {
        List<Map.Entry<String, FastState>> out = new ArrayList<>();
        for (byte[] name : names()) {
            String key = new String(name, StandardCharsets.UTF_8);
            out.add(Map.entry(key, get(key)));
        }
        return out;
    }

    /** Names of the stored states (a last-seen entry may look like a state's first chunk: it is left out). */
    private List<byte[]> names() {
        List<byte[]> out = values.names();
        out.removeIf(n -> n.length > 0 && n[0] == LAST_SEEN);
        return out;
    }

    private static Bytes lastSeenKey(byte[] name) {
        return Bytes.wrap(ByteBuffer.allocate(name.length + 1).put(LAST_SEEN).put(name).array());
    }

    private static byte[] name(String key) {
        return key.getBytes(StandardCharsets.UTF_8);
    }
}

package org.hopestreams.store;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Snapshots kept in a byte key-value store as {@link StateCodec} chunks, so that no store value
 * (nor its changelog record) reaches 1 MB. The chunks of entry {@code name} live under the keys
 * {@code name ++ index} (index a 4-byte big-endian int); chunk 0's header says how many there are.
 * Writing an entry removes chunks left over from a longer earlier version, and skips the chunks the
 * store already holds byte for byte (an unchanged snapshot encodes to the same chunks).
 */
public final class ChunkedValues {
    private final KeyValueStore<Bytes, byte[]> store;
    private final StateCodec codec;

    public ChunkedValues(KeyValueStore<Bytes, byte[]> store, StateCodec codec) {
        this.store = store;
        this.codec = codec;
    }

    public static Bytes chunkKey(byte[] name, int index) {
        return Bytes.wrap(ByteBuffer.allocate(name.length + 4).put(name).putInt(index).array());
    }

    /** The entry's name, if {@code key} is the key of its chunk 0; else {@code null}. */
    public static byte[] nameOfFirstChunk(Bytes key) {
        byte[] k = key.get();
        if (k.length < 4 || ByteBuffer.wrap(k, k.length - 4, 4).getInt() != 0) {
            return null;
        }
        return Arrays.copyOf(k, k.length - 4);
    }

    /** Encodes and stores {@code snapshot} under {@code name}; returns the bytes written. */
    public long put(byte[] name, StateSnapshot snapshot) {
        return putChunks(name, codec.encode(snapshot));
    }

    /**
     * Stores the chunks of one snapshot under {@code name}; returns the bytes written, which leave out
     * chunks the store already holds unchanged. Only when chunk 0 is unchanged (it carries the snapshot
     * id, a checksum of the whole payload) are the other chunks read back and compared; so a changed
     * snapshot costs no reads, and an unchanged one is confirmed byte for byte, never by checksum alone.
     */
    public long putChunks(byte[] name, List<byte[]> chunks) {
        byte[] first = store.get(chunkKey(name, 0));
        int old = count(first);
        boolean sameId = first != null && Arrays.equals(first, chunks.get(0));
        long bytes = 0;
        for (int i = 0; i < chunks.size(); i++) {
            Bytes key = chunkKey(name, i);
            if (sameId && (i == 0 || Arrays.equals(store.get(key), chunks.get(i)))) {
                continue;
            }
            store.put(key, chunks.get(i));
            bytes += chunks.get(i).length;
        }
        for (int i = chunks.size(); i < old; i++) {
            store.delete(chunkKey(name, i));
        }
        return bytes;
    }

    /**
     * Stores one chunk of entry {@code name} (chunks that arrive one by one, e.g. one per Kafka record); the entry
     * is readable once all chunks that chunk 0's header counts are there.
     */
    public void putChunk(byte[] name, int index, byte[] chunk) {
        store.put(chunkKey(name, index), chunk);
    }

    /** The entry's snapshot, or {@code null} if there is none. */
    public StateSnapshot get(byte[] name) throws StateFormatException {
        List<byte[]> chunks = chunks(name);
        return chunks == null ? null : codec.decode(chunks);
    }

    /** The entry's raw chunks, or {@code null} if there is none. */
    public List<byte[]> chunks(byte[] name) throws StateFormatException {
        return chunks(store, name);
    }

    /** The raw chunks of entry {@code name} in any readable store (e.g. an interactive query's), or null. */
    public static List<byte[]> chunks(ReadOnlyKeyValueStore<Bytes, byte[]> store, byte[] name)
            throws StateFormatException {
        byte[] first = store.get(chunkKey(name, 0));
        if (first == null) {
            return null;
        }
        int n = StateCodec.chunkCount(first);
        List<byte[]> out = new ArrayList<>(n);
        out.add(first);
        for (int i = 1; i < n; i++) {
            byte[] c = store.get(chunkKey(name, i));
            if (c == null) {
                throw new StateFormatException("entry " + new String(name, java.nio.charset.StandardCharsets.UTF_8)
                        + " lacks chunk " + i + " of " + n);
            }
            out.add(c);
        }
        return out;
    }

    /** Every entry's name, in key order. */
    public List<byte[]> names() {
        List<byte[]> out = new ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> it = store.all()) {
            while (it.hasNext()) {
                byte[] name = nameOfFirstChunk(it.next().key);
                if (name != null) {
                    out.add(name);
                }
            }
        }
        return out;
    }

    public void delete(byte[] name) {
        int n = count(store.get(chunkKey(name, 0)));
        for (int i = 0; i < n; i++) {
            store.delete(chunkKey(name, i));
        }
    }

    /** How many chunks the stored entry whose chunk 0 is {@code first} has (0 if none, 1 if unreadable). */
    private static int count(byte[] first) {
        if (first == null) {
            return 0;
        }
        try {
            return StateCodec.chunkCount(first);
        } catch (StateFormatException e) {
            return 1;
        }
    }
}

package org.hopestreams.store;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.hopestreams.model.HostTensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Chunked entries in a real RocksDB store: what a rewrite costs, and that damage is found, not skipped. */
class ChunkedValuesTest {
    private static final byte[] NAME = "HIGH".getBytes(StandardCharsets.UTF_8);
    private static final int CHUNK = 4096;

    @TempDir
    Path dir;

    private KeyValueStore<Bytes, byte[]> store;
    private ChunkedValues values;

    @BeforeEach
    void open() {
        store = org.hopestreams.store.TestRocksStores.open(dir, "chunked-values-test");
        values = new ChunkedValues(store, new StateCodec(CHUNK));
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void rewritingAnUnchangedSnapshotWritesNothingAndAChangedOneWritesEveryChunk() throws Exception {
        StateSnapshot s = sample(5000, 1);
        long first = values.put(NAME, s);
        assertTrue(first > 4 * CHUNK, "several chunks: " + first);
        assertEquals(0, values.put(NAME, s), "the store already holds these chunks");
        assertEquals(first, values.put(NAME, sample(5000, 2)), "another snapshot: every chunk");
        assertEquals(sample(5000, 2), values.get(NAME));
    }

    @Test
    void aDamagedStoredChunkIsReportedOnReadAndRepairedByTheNextWrite() throws Exception {
        StateSnapshot s = sample(5000, 1);
        values.put(NAME, s);
        Bytes key = ChunkedValues.chunkKey(NAME, 2);
        byte[] damaged = store.get(key).clone();
        damaged[damaged.length - 1] ^= 1;
        store.put(key, damaged);
        StateFormatException e = assertThrows(StateFormatException.class, () -> values.get(NAME));
        assertTrue(e.getMessage().contains("chunk 2: CRC32 mismatch"), e.getMessage());
        assertEquals(damaged.length, values.put(NAME, s), "chunk 0 matches, so chunk 2 is compared byte for byte");
        assertEquals(s, values.get(NAME));
    }

    @Test
    void aTornEntryMixingTwoSnapshotsIsReported() throws Exception {
        values.put(NAME, sample(5000, 1));
        List<byte[]> other = new StateCodec(CHUNK).encode(sample(5000, 2));
        store.put(ChunkedValues.chunkKey(NAME, 1), other.get(1));
        StateFormatException e = assertThrows(StateFormatException.class, () -> values.get(NAME));
        assertTrue(e.getMessage().contains("chunk 1: belongs to snapshot"), e.getMessage());
    }

    @Test
    void aShorterSnapshotRemovesTheLeftoverChunks() throws Exception {
        values.put(NAME, sample(5000, 1));
        values.put(NAME, sample(10, 1));
        assertEquals(sample(10, 1), values.get(NAME));
        assertEquals(null, store.get(ChunkedValues.chunkKey(NAME, 1)));
    }

    private static StateSnapshot sample(int n, int seed) {
        double[] v = new Random(seed).doubles(n).toArray();
        return StateSnapshot.builder().meta("model", "hope").counter("seed", seed)
                .tensor("w", HostTensor.ofDoubles(HostTensor.Type.FLOAT32, new long[] {n}, v)).build();
    }
}

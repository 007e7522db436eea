package org.hopestreams.store;

import org.hopestreams.model.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class StateCodecTest {
    /** Small enough that the snapshots below span several chunks. */
    private static final int SMALL_CHUNK = 64;

    @TempDir
    Path dir;

    // ---- round trips -------------------------------------------------------------------------------------------

    @Test
    void float32RoundTripKeepsNaNPayloadsSignedZeroAndOrder() throws Exception {
        // Two distinct NaN bit patterns and -0.0: a codec that went through float values would lose them.
        byte[] raw = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(0x7fc00001).putInt(0xffa12345).putFloat(-0.0f).putFloat(1.5f).array();
        StateSnapshot s = StateSnapshot.builder()
                .meta("zeta", "last").meta("alpha", "ünïcødé ✓ 𝄞").meta("empty", "")
                .counter("step", 42).counter("min", Long.MIN_VALUE)
                .tensor("w", new HostTensor(new long[]{2, 2}, HostTensor.Type.FLOAT32, raw))
                .tensor("b", HostTensor.ofDoubles(HostTensor.Type.FLOAT32, new long[]{3}, new double[]{1, 2, 3}))
                .build();
        StateSnapshot back = roundTrip(new StateCodec(), s);
        assertEquals(s, back);
        assertArrayEquals(raw, back.tensor("w").bytes());
        assertEquals(List.of("zeta", "alpha", "empty"), List.copyOf(back.meta().keySet()));
        assertEquals(List.of("w", "b"), List.copyOf(back.tensors().keySet()));
        assertEquals(Long.MIN_VALUE, back.counter("min"));
    }

    @Test
    void float64RoundTripIsBitExact() throws Exception {
        byte[] raw = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(0x7ff0000000000123L).putLong(Double.doubleToRawLongBits(-0.0))
                .putLong(Double.doubleToRawLongBits(Math.PI)).array();
        StateSnapshot s = StateSnapshot.builder()
                .tensor("m", new HostTensor(new long[]{1, 3}, HostTensor.Type.FLOAT64, raw)).build();
        StateSnapshot back = roundTrip(new StateCodec(), s);
        assertEquals(HostTensor.Type.FLOAT64, back.tensor("m").type());
        assertArrayEquals(raw, back.tensor("m").bytes());
        assertArrayEquals(new long[]{1, 3}, back.tensor("m").shape());
    }

    @Test
    void emptySnapshotZeroSizeAndScalarTensorsRoundTrip() throws Exception {
        StateSnapshot empty = StateSnapshot.builder().build();
        assertEquals(empty, roundTrip(new StateCodec(), empty));
        StateSnapshot odd = StateSnapshot.builder()
                .tensor("none", HostTensor.zeros(HostTensor.Type.FLOAT32, 0, 5))
                .tensor("scalar", HostTensor.ofDoubles(HostTensor.Type.FLOAT64, new long[0], new double[]{7}))
                .build();
        StateSnapshot back = roundTrip(new StateCodec(SMALL_CHUNK), odd);
        assertEquals(odd, back);
        assertArrayEquals(new long[]{0, 5}, back.tensor("none").shape());
        assertArrayEquals(new long[0], back.tensor("scalar").shape());
    }

    @Test
    void tensorSpanningManySmallChunksRoundTrips() throws Exception {
        StateSnapshot s = sample(1000, 1);
        List<byte[]> chunks = new StateCodec(SMALL_CHUNK).encode(s);
        assertTrue(chunks.size() > 60, "4000 tensor bytes in 32-byte payloads need many chunks, got " + chunks.size());
        chunks.forEach(c -> assertTrue(c.length <= SMALL_CHUNK, "chunk of " + c.length + " bytes"));
        assertEquals(s, new StateCodec(SMALL_CHUNK).decode(chunks));
    }

    @Test
    void defaultChunksStayUnderOneMegabyte() throws Exception {
        StateSnapshot s = StateSnapshot.builder()
                .tensor("big", HostTensor.ofDoubles(HostTensor.Type.FLOAT64, new long[]{400_000},
                        new Random(3).doubles(400_000).toArray()))
                .build();
        List<byte[]> chunks = new StateCodec().encode(s);
        assertTrue(chunks.size() >= 4, "3.2 MB must take at least 4 chunks, got " + chunks.size());
        for (byte[] c : chunks) {
            assertTrue(c.length <= StateCodec.MAX_CHUNK_BYTES && c.length < 1_000_000, "chunk of " + c.length);
        }
        assertEquals(s, new StateCodec().decode(chunks));
    }

    @Test
    void chunkSizeOutsideHeaderAndLimitIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new StateCodec(StateCodec.HEADER_BYTES));
        assertThrows(IllegalArgumentException.class, () -> new StateCodec(StateCodec.MAX_CHUNK_BYTES + 1));
    }

    @Test
    void unpairedSurrogateIsRefusedAtEncode() {
        StateSnapshot s = StateSnapshot.builder().meta("k", "bad \uD800 text").build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new StateCodec().encode(s));
        assertTrue(e.getMessage().contains("meta value of k"), e.getMessage());
    }

    // ---- snapshot value ----------------------------------------------------------------------------------------

    @Test
    void snapshotLookupsNameMissingEntriesAndViewsAreReadOnly() {
        StateSnapshot s = sample(4, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.tensor("nope"));
        assertTrue(e.getMessage().contains("\"nope\""), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.counter("nope"));
        assertThrows(IllegalArgumentException.class, () -> s.meta("nope"));
        assertThrows(UnsupportedOperationException.class, () -> s.meta().put("x", "y"));
        assertThrows(UnsupportedOperationException.class, () -> s.tensors().clear());
        assertThrows(IllegalArgumentException.class, () -> StateSnapshot.builder().counter("a", 1).counter("a", 2));
    }

    @Test
    void snapshotEqualityIsExactAndOrderSensitive() {
        StateSnapshot ab = StateSnapshot.builder().counter("a", 1).counter("b", 2).build();
        StateSnapshot ba = StateSnapshot.builder().counter("b", 2).counter("a", 1).build();
        assertEquals(ab, StateSnapshot.builder().counter("a", 1).counter("b", 2).build());
        assertEquals(ab.hashCode(), StateSnapshot.builder().counter("a", 1).counter("b", 2).build().hashCode());
        assertNotEquals(ab, ba);
        assertNotEquals(sample(4, 0), sample(4, 1));
    }

    // ---- refused chunks ----------------------------------------------------------------------------------------

    @Test
    void unknownVersionIsRefusedWithBothVersions() {
        List<byte[]> chunks = encodeSmall();
        ByteBuffer.wrap(chunks.get(2)).putInt(4, 7);
        assertFails(chunks, "chunk 2: state format version 7 is not supported (this build reads version 1)");
    }

    @Test
    void badMagicIsRefused() {
        List<byte[]> chunks = encodeSmall();
        chunks.get(1)[0] = 'X';
        assertFails(chunks, "chunk 1: magic");
    }

    @Test
    void flippedPayloadByteFailsTheCrc() {
        List<byte[]> chunks = encodeSmall();
        chunks.get(1)[StateCodec.HEADER_BYTES + 3] ^= 0x10;
        assertFails(chunks, "chunk 1: CRC32 mismatch");
    }

    @Test
    void truncatedChunkIsRefused() {
        List<byte[]> chunks = encodeSmall();
        chunks.set(3, Arrays.copyOf(chunks.get(3), chunks.get(3).length - 1));
        assertFails(chunks, "chunk 3: truncated");
        chunks.set(3, Arrays.copyOf(chunks.get(3), 12));
        assertFails(chunks, "chunk 3: truncated: 12 bytes");
    }

    @Test
    void trailingBytesInAChunkAreRefused() {
        List<byte[]> chunks = encodeSmall();
        chunks.set(0, Arrays.copyOf(chunks.get(0), chunks.get(0).length + 2));
        assertFails(chunks, "chunk 0: 2 trailing bytes");
    }

    @Test
    void droppedChunkIsReportedMissing() {
        List<byte[]> chunks = encodeSmall();
        int count = chunks.size();
        chunks.remove(2);
        assertFails(chunks, "chunk index 2 is missing: got " + (count - 1) + " of " + count);
        List<byte[]> lastDropped = encodeSmall();
        lastDropped.remove(count - 1);
        assertFails(lastDropped, "chunk index " + (count - 1) + " is missing");
    }

    @Test
    void reorderedChunksAreRefused() {
        List<byte[]> chunks = encodeSmall();
        byte[] c1 = chunks.get(1);
        chunks.set(1, chunks.get(2));
        chunks.set(2, c1);
        assertFails(chunks, "chunk 1: holds chunk index 2, expected index 1 (chunks out of order)");
    }

    @Test
    void duplicatedChunkIsRefused() {
        List<byte[]> replaced = encodeSmall();
        replaced.set(2, replaced.get(1).clone());
        assertFails(replaced, "chunk 2: duplicates chunk index 1");
        List<byte[]> added = encodeSmall();
        added.add(added.get(0).clone());
        assertFails(added, "duplicates chunk index 0");
    }

    @Test
    void chunksOfTwoSnapshotsDoNotMix() throws Exception {
        StateCodec codec = new StateCodec(SMALL_CHUNK);
        List<byte[]> a = codec.encode(sample(40, 1));
        List<byte[]> b = codec.encode(sample(40, 2));
        assertEquals(a.size(), b.size(), "same layout, so only the snapshot id tells them apart");
        List<byte[]> mixed = new ArrayList<>(a);
        mixed.set(3, b.get(3));
        assertFails(mixed, "chunk 3: belongs to snapshot");
        assertEquals(sample(40, 1), codec.decode(a));
    }

    /**
     * Stores written before the snapshot id became a pair of CRCs carry the first 8 bytes of a SHA-256
     * over the chunk size and the payload in that field; the format version is the same and they must
     * still load.
     */
    @Test
    void chunksWithTheEarlierSha256SnapshotIdStillDecode() throws Exception {
        StateCodec codec = new StateCodec(SMALL_CHUNK);
        StateSnapshot s = sample(40, 3);
        List<byte[]> chunks = copy(codec.encode(s));
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        sha.update(ByteBuffer.allocate(4).putInt(SMALL_CHUNK).array());
        for (byte[] c : chunks) {
            sha.update(c, StateCodec.HEADER_BYTES, c.length - StateCodec.HEADER_BYTES);
        }
        long shaId = ByteBuffer.wrap(sha.digest()).getLong();
        chunks.forEach(c -> ByteBuffer.wrap(c).putLong(8, shaId));
        assertEquals(s, codec.decode(chunks));
        List<byte[]> mixed = copy(chunks);
        mixed.set(2, codec.encode(s).get(2));
        assertFails(mixed, "chunk 2: belongs to snapshot");
    }

    @Test
    void encodingIsDeterministicAndTheIdFollowsEveryPayloadByte() {
        StateCodec codec = new StateCodec(SMALL_CHUNK);
        List<byte[]> a = codec.encode(sample(40, 1));
        List<byte[]> again = codec.encode(sample(40, 1));
        assertEquals(a.size(), again.size());
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(a.get(i), again.get(i), "chunk " + i + " of the same snapshot");
        }
        StateSnapshot s = sample(40, 1);
        byte[] w = s.tensor("w").bytes().clone();
        w[w.length - 1] ^= 1;   // the last chunk's payload only
        StateSnapshot changed = StateSnapshot.builder().meta("model", "hope").counter("seed", 1)
                .tensor("w", new HostTensor(s.tensor("w").shape(), s.tensor("w").type(), w)).build();
        assertNotEquals(ByteBuffer.wrap(a.get(0)).getLong(8), ByteBuffer.wrap(codec.encode(changed).get(0)).getLong(8),
                "a change in the last chunk changes the id that chunk 0 carries");
    }

    @Test
    void sameSnapshotAtAnotherChunkSizeDoesNotMix() {
        List<byte[]> a = new StateCodec(SMALL_CHUNK).encode(sample(40, 1));
        List<byte[]> b = new StateCodec(SMALL_CHUNK + 8).encode(sample(40, 1));
        List<byte[]> mixed = new ArrayList<>(a);
        mixed.set(1, b.get(1));
        assertFails(mixed, "chunk 1: belongs to snapshot");
    }

    @Test
    void disagreeingChunkCountIsRefused() {
        List<byte[]> chunks = encodeSmall();
        ByteBuffer.wrap(chunks.get(1)).putInt(20, 9999);
        assertFails(chunks, "chunk 1: declares 9999 chunks but chunk 0 declares " + chunks.size());
    }

    @Test
    void emptyOrNullInputIsRefused() {
        assertFails(List.of(), "no chunks");
        List<byte[]> withNull = encodeSmall();
        withNull.set(1, null);
        assertFails(withNull, "chunk 1: is null");
    }

    @Test
    void truncatedPayloadStreamIsRefused() {
        // A stream cut short but correctly framed: only the parse can notice.
        byte[] payload = payloadOf(new StateCodec().encode(sample(4, 1)));
        assertFails(List.of(seal(Arrays.copyOf(payload, payload.length - 3))), "chunk 0 at payload offset");
        assertFails(List.of(seal(Arrays.copyOf(payload, payload.length - 3))), "payload stream is truncated");
    }

    @Test
    void trailingBytesAfterTheStreamAreRefused() {
        byte[] payload = payloadOf(new StateCodec().encode(sample(4, 1)));
        assertFails(List.of(seal(Arrays.copyOf(payload, payload.length + 5))), "5 trailing bytes after the snapshot");
    }

    @Test
    void nonsensePayloadsThrowOnlyStateFormatException() {
        // Well-framed garbage reaches the parser: huge counts and lengths, bad types, bad UTF-8, bad shapes.
        Random r = new Random(11);
        for (int i = 0; i < 2000; i++) {
            byte[] payload = new byte[r.nextInt(64)];
            r.nextBytes(payload);
            if (i % 2 == 0 && payload.length >= 12) {
                Arrays.fill(payload, 0, 8, (byte) 0); // no meta, no counters: go straight to a tensor
            }
            try {
                new StateCodec().decode(List.of(seal(payload)));
            } catch (StateFormatException expected) {
                continue;
            } catch (RuntimeException e) {
                fail("payload " + Arrays.toString(payload) + " threw " + e);
            }
        }
    }

    @Test
    void badTensorRecordsAreNamed() {
        ByteBuffer typeCode = ByteBuffer.allocate(19).putInt(0).putInt(0).putInt(1).putInt(1).put((byte) 't')
                .put((byte) 9).put((byte) 0);
        assertFails(List.of(seal(Arrays.copyOf(typeCode.array(), 18))), "tensor t has type code 9");
        // Shape [3] of float32 needs 12 bytes; the record says 8.
        ByteBuffer shape = ByteBuffer.allocate(46).putInt(0).putInt(0).putInt(1).putInt(1).put((byte) 't')
                .put((byte) 1).putInt(1).putLong(3).putLong(8);
        assertFails(List.of(seal(shape.array())), "needs 12 bytes, got 8");
        // Absurd rank and byte length must be refused before anything that large is allocated.
        ByteBuffer rank = ByteBuffer.allocate(22).putInt(0).putInt(0).putInt(1).putInt(1).put((byte) 't')
                .put((byte) 1).putInt(Integer.MAX_VALUE);
        assertFails(List.of(seal(rank.array())), "shape of tensor t needs 17179869176 bytes, 0 remain");
        ByteBuffer length = ByteBuffer.allocate(38).putInt(0).putInt(0).putInt(1).putInt(1).put((byte) 't')
                .put((byte) 1).putInt(1).putLong(3).putLong(Integer.MAX_VALUE - 100);
        assertFails(List.of(seal(length.array())), "bytes of tensor t needs 2147483547 bytes, 0 remain");
    }

    @Test
    void everySingleByteFlipAndTruncationIsDetected() throws Exception {
        StateCodec codec = new StateCodec(SMALL_CHUNK);
        StateSnapshot s = sample(20, 5);
        List<byte[]> good = codec.encode(s);
        for (int c = 0; c < good.size(); c++) {
            for (int i = 0; i < good.get(c).length; i++) {
                List<byte[]> bad = copy(good);
                bad.get(c)[i] ^= 1;
                assertThrows(StateFormatException.class, () -> codec.decode(bad), "flip chunk " + c + " byte " + i);
                List<byte[]> cut = copy(good);
                cut.set(c, Arrays.copyOf(good.get(c), i));
                assertThrows(StateFormatException.class, () -> codec.decode(cut), "cut chunk " + c + " at " + i);
            }
        }
        assertEquals(s, codec.decode(good));
    }

    // ---- files -------------------------------------------------------------------------------------------------

    @Test
    void fileRoundTripReplacesAtomicallyAndLeavesNoTempFiles() throws Exception {
        Path file = dir.resolve("state.bin");
        StateCodec codec = new StateCodec(SMALL_CHUNK);
        codec.writeFile(file, sample(100, 1));
        codec.writeFile(file, sample(200, 2));
        assertEquals(sample(200, 2), codec.readFile(file));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void truncatedFileIsRefusedNamingThePath() throws Exception {
        Path file = dir.resolve("state.bin");
        new StateCodec(SMALL_CHUNK).writeFile(file, sample(100, 1));
        byte[] whole = Files.readAllBytes(file);
        for (int len : new int[]{0, 10, 16, 18, 16 + 4 + SMALL_CHUNK, whole.length - 1}) {
            Files.write(file, Arrays.copyOf(whole, len));
            StateFormatException e = assertThrows(StateFormatException.class,
                    () -> new StateCodec().readFile(file), "cut at " + len);
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    @Test
    void corruptedFileIsRefusedNamingThePath() throws Exception {
        Path file = dir.resolve("state.bin");
        new StateCodec(SMALL_CHUNK).writeFile(file, sample(100, 1));
        byte[] good = Files.readAllBytes(file);
        byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 0x40;
        Files.write(file, flipped);
        StateFormatException e = assertThrows(StateFormatException.class, () -> new StateCodec().readFile(file));
        assertTrue(e.getMessage().startsWith("state file " + file), e.getMessage());

        Files.write(file, Arrays.copyOf(good, good.length + 1));
        e = assertThrows(StateFormatException.class, () -> new StateCodec().readFile(file));
        assertTrue(e.getMessage().contains("1 trailing bytes"), e.getMessage());
    }

    @Test
    void fileOfUnknownVersionIsRefused() throws Exception {
        Path file = dir.resolve("state.bin");
        new StateCodec().writeFile(file, sample(4, 1));
        byte[] whole = Files.readAllBytes(file);
        ByteBuffer.wrap(whole).putInt(8, 2);
        Files.write(file, whole);
        StateFormatException e = assertThrows(StateFormatException.class, () -> new StateCodec().readFile(file));
        assertTrue(e.getMessage().contains("state format version 2 is not supported (this build reads version 1)"),
                e.getMessage());
        Files.write(file, "not a state file at all".getBytes());
        e = assertThrows(StateFormatException.class, () -> new StateCodec().readFile(file));
        assertTrue(e.getMessage().contains("expected \"HOPEFILE\""), e.getMessage());
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    /** A snapshot with one float32 tensor of {@code n} values that differ by {@code seed}. */
    private static StateSnapshot sample(int n, int seed) {
        double[] v = new Random(seed).doubles(n).toArray();
        return StateSnapshot.builder().meta("model", "hope").counter("seed", seed)
                .tensor("w", HostTensor.ofDoubles(HostTensor.Type.FLOAT32, new long[]{n}, v)).build();
    }

    /** At least four chunks, so that positions 0..3 exist in the corruption tests. */
    private static List<byte[]> encodeSmall() {
        List<byte[]> chunks = new StateCodec(SMALL_CHUNK).encode(sample(40, 1));
        assertTrue(chunks.size() >= 4);
        return new ArrayList<>(chunks);
    }

    private static StateSnapshot roundTrip(StateCodec codec, StateSnapshot s) throws StateFormatException {
        return codec.decode(codec.encode(s));
    }

    private static void assertFails(List<byte[]> chunks, String expected) {
        StateFormatException e = assertThrows(StateFormatException.class, () -> new StateCodec().decode(chunks));
        assertTrue(e.getMessage().contains(expected), "expected \"" + expected + "\" in: " + e.getMessage());
    }

    private static List<byte[]> copy(List<byte[]> chunks) {
        List<byte[]> out = new ArrayList<>();
        chunks.forEach(c -> out.add(c.clone()));
        return out;
    }

    private static byte[] payloadOf(List<byte[]> singleChunk) {
        assertEquals(1, singleChunk.size());
        byte[] c = singleChunk.get(0);
        return Arrays.copyOfRange(c, StateCodec.HEADER_BYTES, c.length);
    }

    /** A correctly framed single chunk around an arbitrary payload, following the documented header layout. */
    private static byte[] seal(byte[] payload) {
        CRC32 crc = new CRC32();
        crc.update(payload);
        return ByteBuffer.allocate(StateCodec.HEADER_BYTES + payload.length)
                .put("HOPS".getBytes()).putInt(StateCodec.FORMAT_VERSION).putLong(1234).putInt(0).putInt(1)
                .putInt(payload.length).putInt((int) crc.getValue()).put(payload).array();
    }
}

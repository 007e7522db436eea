package org.hopestreams.store;

import org.hopestreams.model.HostTensor;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * Versioned binary form of a {@link StateSnapshot}, split into chunks small enough for stores that cap a value
 * below 1 MB.
 *
 * <p>Chunk layout, big-endian as {@link DataOutputStream} writes:
 * <pre>
 *   "HOPS"          4 bytes  magic
 *   version         int      {@link #FORMAT_VERSION}
 *   snapshot id     long     checksum of the chunk size and the whole payload (see below); same in every chunk
 *   index           int      0-based
 *   count           int      chunks in this snapshot
 *   payload length  int
 *   payload CRC32   int
 *   payload         bytes
 * </pre>
 * The payloads concatenated in index order form one stream (a tensor's bytes may span chunks):
 * <pre>
 *   int n, n x (string key, string value)                                              meta
 *   int n, n x (string name, long value)                                               counters
 *   int n, n x (string name, byte type, int rank, rank x long dim, long byteLength, bytes)  tensors
 * </pre>
 * The snapshot id only has to tell snapshots apart (decoding compares it, never recomputes it), so it is
 * two fast checksums side by side: CRC32C over the chunk size and the payload stream (high 32 bits),
 * and CRC32 over the chunk size and each chunk's payload length and CRC32 (low 32 bits). Earlier
 * writers of this version used the first 8 bytes of a SHA-256 (about 20 times slower); readers treat both alike.
 * Encoding is deterministic, so an unchanged snapshot encodes to the same chunks and a store may
 * skip them ({@link ChunkedValues#putChunks}).
 *
 * <p>A string is an int byte length and strict UTF-8; not {@code writeUTF}, whose 64 KiB limit a configuration value
 * may exceed. Type codes are 1 = float32, 2 = float64, 3 = uint8 (opaque bytes).
 *
 * <p>Decoding checks every chunk and the whole stream before returning, so it either returns the exact snapshot
 * that was encoded or throws {@link StateFormatException}; never a partial snapshot, never another exception.
 */
public final class StateCodec {
    public static final int FORMAT_VERSION = 1;
    /** Default and largest chunk size, header included; leaves headroom below a 1,000,000-byte value limit. */
    public static final int MAX_CHUNK_BYTES = 900 * 1024;
    static final int HEADER_BYTES = 32;
    private static final int MAGIC = 0x484F5053; // "HOPS"
    private static final byte[] FILE_MAGIC = "HOPEFILE".getBytes(StandardCharsets.US_ASCII);
    /** File header: magic, version, chunk count. */
    private static final int FILE_HEADER_BYTES = FILE_MAGIC.length + 8;
    private static final byte FLOAT32 = 1;
    private static final byte FLOAT64 = 2;
    private static final byte UINT8 = 3;
    /** Largest array the JVM reliably allocates. */
    private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    private final int maxChunkBytes;

    public StateCodec() {
        this(MAX_CHUNK_BYTES);
    }

    /** @param maxChunkBytes largest chunk to produce, header included; small values exercise multi-chunk paths */
    public StateCodec(int maxChunkBytes) {
        if (maxChunkBytes <= HEADER_BYTES || maxChunkBytes > MAX_CHUNK_BYTES) {
            throw new IllegalArgumentException("chunk size " + maxChunkBytes + " must be above the " + HEADER_BYTES
                    + "-byte header and at most " + MAX_CHUNK_BYTES);
        }
        this.maxChunkBytes = maxChunkBytes;
    }

    /**
     * The chunks of {@code snapshot}, in index order, each at most the configured chunk size.
     *
     * @throws IllegalArgumentException if a name or meta value is not well-formed Unicode (an unpaired surrogate
     *                                  cannot be written as UTF-8 and read back exactly)
     */
    public List<byte[]> encode(StateSnapshot snapshot) {
        ChunkWriter out = new ChunkWriter(maxChunkBytes);
        out.writeBits(snapshot.meta().size(), 4);
        snapshot.meta().forEach((k, v) -> {
            out.writeString(k, "meta key");
            out.writeString(v, "meta value of " + k);
        });
        out.writeBits(snapshot.counters().size(), 4);
        snapshot.counters().forEach((k, v) -> {
            out.writeString(k, "counter name");
            out.writeBits(v, 8);
        });
        out.writeBits(snapshot.tensors().size(), 4);
        snapshot.tensors().forEach((k, t) -> {
            out.writeString(k, "tensor name");
            out.writeBits(switch (t.type()) {
                case FLOAT32 -> FLOAT32;
                case FLOAT64 -> FLOAT64;
                case UINT8 -> UINT8;
            }, 1);
            long[] shape = t.shape();
            out.writeBits(shape.length, 4);
            for (long d : shape) {
                out.writeBits(d, 8);
            }
            out.writeBits(t.bytes().length, 8);
            out.write(t.bytes());
        });
        return out.finish();
    }

    /** The snapshot these chunks (in index order) encode; see the class comment for what is checked. */
    public StateSnapshot decode(List<byte[]> chunks) throws StateFormatException {
        if (chunks == null || chunks.isEmpty()) {
            throw new StateFormatException("no chunks to decode, expected at least 1");
        }
        Header[] headers = new Header[chunks.size()];
        for (int p = 0; p < headers.length; p++) {
            headers[p] = Header.read(p, chunks.get(p));
        }
        checkComplete(headers);
        return parse(new ChunkReader(chunks, headers));
    }

    /** How many chunks the snapshot of this chunk has (from its checked header). */
    public static int chunkCount(byte[] chunk) throws StateFormatException {
        return Header.read(0, chunk).count;
    }

    /** Same snapshot id and count everywhere, each index exactly once, at its own position. */
    private static void checkComplete(Header[] headers) throws StateFormatException {
        Header first = headers[0];
        Map<Integer, Integer> positionOf = new HashMap<>();
        for (int p = 0; p < headers.length; p++) {
            Header h = headers[p];
            if (h.id != first.id) {
                throw bad(p, String.format("belongs to snapshot %016x but chunk 0 to %016x (chunks of different"
                        + " snapshots mixed)", h.id, first.id));
            }
            if (h.count != first.count) {
                throw bad(p, "declares " + h.count + " chunks but chunk 0 declares " + first.count);
            }
            Integer earlier = positionOf.putIfAbsent(h.index, p);
            if (earlier != null) {
                throw bad(p, "duplicates chunk index " + h.index + ", already given at position " + earlier);
            }
        }
        // Indices are distinct and below count, so a gap exists iff there are fewer chunks than count.
        for (int i = 0; i < first.count; i++) {
            if (!positionOf.containsKey(i)) {
                throw new StateFormatException("chunk index " + i + " is missing: got " + headers.length + " of "
                        + first.count + " chunks");
            }
        }
        for (int p = 0; p < headers.length; p++) {
            if (headers[p].index != p) {
                throw bad(p, "holds chunk index " + headers[p].index + ", expected index " + p
                        + " (chunks out of order)");
            }
        }
    }

    private static StateSnapshot parse(ChunkReader in) throws StateFormatException {
        StateSnapshot.Builder b = StateSnapshot.builder();
        try {
            for (int i = 0, n = in.readCount("meta entry count"); i < n; i++) {
                b.meta(in.readString("meta key"), in.readString("meta value"));
            }
            for (int i = 0, n = in.readCount("counter count"); i < n; i++) {
                b.counter(in.readString("counter name"), in.readLong("counter value"));
            }
            for (int i = 0, n = in.readCount("tensor count"); i < n; i++) {
                String name = in.readString("tensor name");
                b.tensor(name, readTensor(in, name));
            }
        } catch (IllegalArgumentException | ArithmeticException e) {
            // Duplicate names, negative or overflowing dimensions, byte length not matching the shape.
            throw in.fail(e.getMessage(), e);
        }
        if (in.remaining > 0) {
            throw in.fail(in.remaining + " trailing bytes after the snapshot, expected the stream to end", null);
        }
        return b.build();
    }

    private static HostTensor readTensor(ChunkReader in, String name) throws StateFormatException {
        int code = (int) in.readBits(1, "type of tensor " + name);
        HostTensor.Type type = switch (code) {
            case FLOAT32 -> HostTensor.Type.FLOAT32;
            case FLOAT64 -> HostTensor.Type.FLOAT64;
            case UINT8 -> HostTensor.Type.UINT8;
            default -> throw in.fail("tensor " + name + " has type code " + code + ", expected " + FLOAT32
                    + " (float32), " + FLOAT64 + " (float64) or " + UINT8 + " (uint8)", null);
        };
        int rank = in.readCount("rank of tensor " + name);
        in.need(8L * rank, "shape of tensor " + name); // before allocating, so a corrupt rank cannot exhaust memory
        long[] shape = new long[rank];
        for (int d = 0; d < shape.length; d++) {
            shape[d] = in.readLong("shape of tensor " + name);
        }
        return new HostTensor(shape, type, in.readBytes(in.readLong("byte length of tensor " + name),
                "bytes of tensor " + name));
    }

    /** Writes all chunks to {@code path} atomically: readers see the old file or the complete new one. */
    public void writeFile(Path path, StateSnapshot snapshot) throws IOException {
        List<byte[]> chunks = encode(snapshot);
        Path target = path.toAbsolutePath();
        // Same folder, so the move is a rename within one file system and can be atomic.
        Path tmp = Files.createTempFile(target.getParent(), target.getFileName() + ".", ".tmp");
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
                 DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(ch)))) {
                out.write(FILE_MAGIC);
                out.writeInt(FORMAT_VERSION);
                out.writeInt(chunks.size());
                for (byte[] c : chunks) {
                    out.writeInt(c.length);
                    out.write(c);
                }
                out.flush();
                ch.force(true); // durable before it becomes visible under the real name
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /**
     * Reads a file written by {@link #writeFile}.
     *
     * @throws StateFormatException if the file is truncated, corrupted or of another version; the message names it
     * @throws IOException          if the file cannot be read at all
     */
    public StateSnapshot readFile(Path path) throws IOException {
        long size = Files.size(path);
        if (size < FILE_HEADER_BYTES) {
            throw new StateFormatException("state file " + path + " is truncated: " + size + " bytes, shorter than"
                    + " the " + FILE_HEADER_BYTES + "-byte file header");
        }
        List<byte[]> chunks = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(path)))) {
            byte[] magic = in.readNBytes(FILE_MAGIC.length);
            if (!Arrays.equals(magic, FILE_MAGIC)) {
                throw new StateFormatException("state file " + path + " starts with bytes "
                        + HexFormat.of().formatHex(magic) + ", expected \"HOPEFILE\" (not a state file)");
            }
            int version = in.readInt();
            if (version != FORMAT_VERSION) {
                throw new StateFormatException("state file " + path + ": " + unsupported(version));
            }
            int count = in.readInt();
            if (count < 1) {
                throw new StateFormatException("state file " + path + " declares " + count + " chunks, expected >= 1");
            }
            long left = size - FILE_HEADER_BYTES;
            for (int i = 0; i < count; i++) {
                if (left < 4) {
                    throw new StateFormatException("state file " + path + " is truncated: it ends before chunk " + i
                            + " of " + count);
                }
                int length = in.readInt();
                left -= 4;
                if (length < 0 || length > left) {
                    throw new StateFormatException("state file " + path + " is truncated or corrupted: chunk " + i
                            + " of " + count + " declares " + length + " bytes, " + left + " remain");
                }
                chunks.add(in.readNBytes(length));
                left -= length;
            }
            if (left > 0) {
                throw new StateFormatException("state file " + path + " has " + left + " trailing bytes after its "
                        + count + " chunks");
            }
        }
        try {
            return decode(chunks);
        } catch (StateFormatException e) {
            throw new StateFormatException("state file " + path + ": " + e.getMessage(), e);
        }
    }

    private static String unsupported(int version) {
        return "state format version " + version + " is not supported (this build reads version "
                + FORMAT_VERSION + ")";
    }

    private static StateFormatException bad(int position, String problem) {
        return new StateFormatException("chunk " + position + ": " + problem);
    }

    /** The fixed-size header of one chunk, checked against the chunk's own bytes. */
    private record Header(long id, int index, int count, int length) {
        static Header read(int p, byte[] chunk) throws StateFormatException {
            if (chunk == null) {
                throw bad(p, "is null");
            }
            if (chunk.length < 8) {
                throw bad(p, "truncated: " + chunk.length + " bytes, shorter than the " + HEADER_BYTES
                        + "-byte header");
            }
            ByteBuffer b = ByteBuffer.wrap(chunk);
            int magic = b.getInt();
            if (magic != MAGIC) {
                throw bad(p, String.format("magic is %08x, expected %08x (\"HOPS\")", magic, MAGIC));
            }
            // Checked before the rest: another version may lay out the remaining header differently.
            int version = b.getInt();
            if (version != FORMAT_VERSION) {
                throw bad(p, unsupported(version));
            }
            if (chunk.length < HEADER_BYTES) {
                throw bad(p, "truncated: " + chunk.length + " bytes, shorter than the " + HEADER_BYTES
                        + "-byte header");
            }
            Header h = new Header(b.getLong(), b.getInt(), b.getInt(), b.getInt());
            int crc = b.getInt();
            if (h.count < 1 || h.index < 0 || h.index >= h.count) {
                throw bad(p, "header says index " + h.index + " of " + h.count + " chunks, expected 0 <= index < count");
            }
            int actual = chunk.length - HEADER_BYTES;
            if (h.length < 0 || actual < h.length) {
                throw bad(p, "truncated: header declares " + h.length + " payload bytes, " + actual + " present");
            }
            if (actual > h.length) {
                throw bad(p, (actual - h.length) + " trailing bytes after the " + h.length + "-byte payload");
            }
            CRC32 crc32 = new CRC32();
            crc32.update(chunk, HEADER_BYTES, h.length);
            if ((int) crc32.getValue() != crc) {
                throw bad(p, String.format("CRC32 mismatch: header says %08x, payload has %08x (payload corrupted)",
                        crc, (int) crc32.getValue()));
            }
            return h;
        }
    }

    /** Writes the payload stream straight into chunk arrays, leaving room for each header, so nothing is copied twice. */
    private static final class ChunkWriter {
        private final int chunkBytes;
        private final List<byte[]> chunks = new ArrayList<>();
        /** Snapshot id, high half: CRC32C over the chunk size and the payload stream. */
        private final CRC32C payloadSum = new CRC32C();
        private byte[] chunk;
        private int pos;

        ChunkWriter(int chunkBytes) {
            this.chunkBytes = chunkBytes;
            // Same snapshot cut at another size must get another id, or its chunks could mix with these.
            payloadSum.update(ByteBuffer.allocate(4).putInt(chunkBytes).array());
            startChunk();
        }

        /** The low {@code bytes} bytes of {@code v}, big-endian. */
        void writeBits(long v, int bytes) {
            for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
                makeRoom();
                chunk[pos++] = (byte) (v >>> shift);
            }
        }

        void write(byte[] bytes) {
            for (int done = 0; done < bytes.length; ) {
                makeRoom();
                int n = Math.min(bytes.length - done, chunkBytes - pos);
                System.arraycopy(bytes, done, chunk, pos, n);
                done += n;
                pos += n;
            }
        }

        void writeString(String s, String what) {
            byte[] bytes;
            try {
                ByteBuffer bb = StandardCharsets.UTF_8.newEncoder().encode(CharBuffer.wrap(s));
                bytes = Arrays.copyOf(bb.array(), bb.limit());
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException(what + " \"" + s + "\" is not well-formed Unicode, expected no"
                        + " unpaired surrogates", e);
            }
            writeBits(bytes.length, 4);
            write(bytes);
        }

        private void makeRoom() {
            if (pos == chunkBytes) {
                endChunk();
                startChunk();
            }
        }

        private void startChunk() {
            chunk = new byte[chunkBytes];
            pos = HEADER_BYTES;
        }

        private void endChunk() {
            chunks.add(pos == chunkBytes ? chunk : Arrays.copyOf(chunk, pos));
            payloadSum.update(chunk, HEADER_BYTES, pos - HEADER_BYTES);
        }

        /** Fills in the headers, now that the count and the id (checksums of all payload) are known. */
        List<byte[]> finish() {
            // Chunks end only when a write needs room, so the current one holds the stream's last bytes.
            endChunk();
            int[] crcs = new int[chunks.size()];
            ByteBuffer perChunk = ByteBuffer.allocate(4 + 8 * chunks.size()).putInt(chunkBytes);
            for (int i = 0; i < chunks.size(); i++) {
                byte[] c = chunks.get(i);
                CRC32 crc = new CRC32();
                crc.update(c, HEADER_BYTES, c.length - HEADER_BYTES);
                crcs[i] = (int) crc.getValue();
                perChunk.putInt(c.length - HEADER_BYTES).putInt(crcs[i]);
            }
            CRC32 chunkSum = new CRC32();
            chunkSum.update(perChunk.array());
            long id = payloadSum.getValue() << 32 | chunkSum.getValue();
            for (int i = 0; i < chunks.size(); i++) {
                byte[] c = chunks.get(i);
                ByteBuffer.wrap(c).putInt(MAGIC).putInt(FORMAT_VERSION).putLong(id).putInt(i).putInt(chunks.size())
                        .putInt(c.length - HEADER_BYTES).putInt(crcs[i]);
            }
            return chunks;
        }
    }

    /** Reads the payload stream across validated chunks; every read first checks that enough bytes remain. */
    private static final class ChunkReader {
        private final List<byte[]> chunks;
        private final Header[] headers;
        private int chunk;
        private int pos;
        long remaining;

        ChunkReader(List<byte[]> chunks, Header[] headers) {
            this.chunks = chunks;
            this.headers = headers;
            for (Header h : headers) {
                remaining += h.length;
            }
        }

        StateFormatException fail(String problem, Throwable cause) {
            return new StateFormatException("chunk " + chunk + " at payload offset " + pos + ": " + problem, cause);
        }

        void need(long n, String what) throws StateFormatException {
            if (n > remaining) {
                throw fail("payload stream is truncated: " + what + " needs " + n + " bytes, " + remaining
                        + " remain", null);
            }
        }

        /** Moves past exhausted chunks; callers have checked that a later chunk holds the next byte. */
        private void skipExhausted() {
            while (pos == headers[chunk].length) {
                chunk++;
                pos = 0;
            }
        }

        /** The next {@code bytes} bytes as a big-endian number; casting to the written type restores the sign. */
        long readBits(int bytes, String what) throws StateFormatException {
            need(bytes, what);
            long v = 0;
            for (int i = 0; i < bytes; i++) {
                remaining--;
                skipExhausted();
                v = v << 8 | chunks.get(chunk)[HEADER_BYTES + pos++] & 0xff;
            }
            return v;
        }

        long readLong(String what) throws StateFormatException {
            return readBits(8, what);
        }

        /** An int that counts something, so must not be negative. */
        int readCount(String what) throws StateFormatException {
            int v = (int) readBits(4, what);
            if (v < 0) {
                throw fail(what + " is " + v + ", expected >= 0", null);
            }
            return v;
        }

        byte[] readBytes(long n, String what) throws StateFormatException {
            if (n < 0 || n > MAX_ARRAY) {
                throw fail(what + ": length " + n + ", expected 0.." + MAX_ARRAY, null);
            }
            need(n, what);
            byte[] out = new byte[(int) n];
            for (int done = 0; done < out.length; ) {
                skipExhausted();
                int k = Math.min(out.length - done, headers[chunk].length - pos);
                System.arraycopy(chunks.get(chunk), HEADER_BYTES + pos, out, done, k);
                done += k;
                pos += k;
                remaining -= k;
            }
            return out;
        }

        String readString(String what) throws StateFormatException {
            byte[] bytes = readBytes(readCount(what + " length"), what);
            try {
                return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw fail(what + " is not valid UTF-8", e);
            }
        }
    }
}

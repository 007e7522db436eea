package org.hopestreams.stream;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Record;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A record waiting for its batch, as the {@code pending-batch} store keeps it: a version byte, the
 * Kafka key, the timestamp, the headers (a dead letter carries them on) and the {@link LearnRecord}.
 */
final class PendingCodec {
    private static final byte VERSION = 1;

    private PendingCodec() {
    }

    static byte[] encode(Record<String, LearnRecord> r) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(r.value().bytes().length + 128);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            writeBytes(out, r.key() == null ? null : r.key().getBytes(StandardCharsets.UTF_8));
            out.writeLong(r.timestamp());
            Header[] headers = r.headers().toArray();
            out.writeInt(headers.length);
            for (Header h : headers) {
                writeBytes(out, h.key().getBytes(StandardCharsets.UTF_8));
                writeBytes(out, h.value());
            }
            writeBytes(out, r.value().encode());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    static Record<String, LearnRecord> decode(byte[] b) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
            byte v = in.readByte();
            if (v != VERSION) {
                throw new IllegalStateException("pending-batch entry of format version " + v + ", this code reads "
                        + VERSION);
            }
            byte[] key = readBytes(in);
            long timestamp = in.readLong();
            RecordHeaders headers = new RecordHeaders();
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                headers.add(new String(readBytes(in), StandardCharsets.UTF_8), readBytes(in));
            }
            LearnRecord value = LearnRecord.decode(readBytes(in));
            return new Record<>(key == null ? null : new String(key, StandardCharsets.UTF_8), value, timestamp,
                    headers);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b == null ? -1 : b.length);
        if (b != null) {
            out.write(b);
        }
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }
}

package org.hopestreams.stream;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * One record for the learner, as the ingest step cut it: part {@code part} of {@code parts} of event
 * {@code id} with context key {@code key}, and where the event came from (so that a LearningEvent
 * names the input offset even after a repartition). {@link #SERDE} is the internal topic format.
 *
 * <p>Format: a version byte, then the fields. Version 2 writes strings as an int length and UTF-8
 * bytes (any length); version 1 (writeUTF, at most 65,535 bytes) is still read, so that during a
 * rolling upgrade the new code reads what old instances wrote. Any other version is a
 * {@link SerializationException} naming it, which the deserialization handler dead-letters.
 */
public record LearnRecord(String id, String key, byte[] bytes, long eventTime, int part, int parts,
                          String sourceTopic, int sourcePartition, long sourceOffset) {
    static final byte VERSION = 2;
    private static final byte VERSION_WRITE_UTF = 1;

    public static final Serde<LearnRecord> SERDE = Serdes.serdeFrom(
            (Serializer<LearnRecord>) (topic, r) -> r == null ? null : r.encode(),
            (Deserializer<LearnRecord>) (topic, b) -> b == null ? null : decode(b));

    byte[] encode() {
        ByteArrayOutputStream bytesOut = new ByteArrayOutputStream(bytes.length + 64);
        try (DataOutputStream out = new DataOutputStream(bytesOut)) {
            out.writeByte(VERSION);
            writeString(out, id);
            writeString(out, key);
            out.writeLong(eventTime);
            out.writeInt(part);
            out.writeInt(parts);
            writeString(out, sourceTopic);
            out.writeInt(sourcePartition);
            out.writeLong(sourceOffset);
            out.writeInt(bytes.length);
            out.write(bytes);
        } catch (IOException e) {
            throw new SerializationException("cannot encode learn record " + id + ": " + e.getMessage(), e);
        }
        return bytesOut.toByteArray();
    }

    static LearnRecord decode(byte[] b) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
            byte v = in.readByte();
            if (v != VERSION && v != VERSION_WRITE_UTF) {
                throw new SerializationException("learn record format version " + v + ", this code reads versions "
                        + VERSION_WRITE_UTF + " and " + VERSION);
            }
            String id = readString(in, v);
            String key = readString(in, v);
            long time = in.readLong();
            int part = in.readInt();
            int parts = in.readInt();
            String topic = readString(in, v);
            int partition = in.readInt();
            long offset = in.readLong();
            byte[] bytes = readBytes(in);
            return new LearnRecord(id, key, bytes, time, part, parts, topic, partition, offset);
        } catch (IOException e) {
            throw new SerializationException("corrupt learn record (" + b.length + " bytes): " + e, e);
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(utf8.length);
        out.write(utf8);
    }

    private static String readString(DataInputStream in, byte version) throws IOException {
        return version == VERSION_WRITE_UTF ? in.readUTF() : new String(readBytes(in), StandardCharsets.UTF_8);
    }

    /** A length-prefixed byte array; a length that the record cannot hold is corruption, not an allocation. */
    private static byte[] readBytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > in.available()) {   // available() is exact on a byte array
            throw new IOException("a field of " + n + " bytes, but " + in.available() + " bytes are left");
        }
        return in.readNBytes(n);
    }
}

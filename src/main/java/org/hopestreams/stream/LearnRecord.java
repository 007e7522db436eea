package org.hopestreams.stream;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * One record for the learner, as the ingest step cut it: part {@code part} of {@code parts} of event
 * {@code id} with context key {@code key}, and where the event came from (so that a LearningEvent
 * names the input offset even after a repartition). {@link #SERDE} is the internal topic format.
 */
public record LearnRecord(String id, String key, byte[] bytes, long eventTime, int part, int parts,
                          String sourceTopic, int sourcePartition, long sourceOffset) {
    private static final byte VERSION = 1;

    public static final Serde<LearnRecord> SERDE = Serdes.serdeFrom(
            (Serializer<LearnRecord>) (topic, r) -> r == null ? null : r.encode(),
            (Deserializer<LearnRecord>) (topic, b) -> b == null ? null : decode(b));

    byte[] encode() {
        ByteArrayOutputStream bytesOut = new ByteArrayOutputStream(bytes.length + 64);
        try (DataOutputStream out = new DataOutputStream(bytesOut)) {
            out.writeByte(VERSION);
            out.writeUTF(id);
            out.writeUTF(key);
            out.writeLong(eventTime);
            out.writeInt(part);
            out.writeInt(parts);
            out.writeUTF(sourceTopic);
            out.writeInt(sourcePartition);
            out.writeLong(sourceOffset);
            out.writeInt(bytes.length);
            out.write(bytes);
        } catch (IOException e) {
            throw new SerializationException("cannot encode learn record " + id + " (ids and keys are limited to "
                    + "65535 UTF-8 bytes)", e);
        }
        return bytesOut.toByteArray();
    }

    static LearnRecord decode(byte[] b) {
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(b))) {
            byte v = in.readByte();
            if (v != VERSION) {
                throw new SerializationException("learn record format " + v + ", expected " + VERSION);
            }
            String id = in.readUTF();
            String key = in.readUTF();
            long time = in.readLong();
            int part = in.readInt();
            int parts = in.readInt();
            String topic = in.readUTF();
            int partition = in.readInt();
            long offset = in.readLong();
            byte[] bytes = in.readNBytes(in.readInt());
            return new LearnRecord(id, key, bytes, time, part, parts, topic, partition, offset);
        } catch (IOException e) {
            throw new SerializationException("corrupt learn record: " + e.getMessage(), e);
        }
    }
}

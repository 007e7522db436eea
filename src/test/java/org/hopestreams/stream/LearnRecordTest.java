package org.hopestreams.stream;

import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The internal record format of the repartition topic. */
class LearnRecordTest {
    @Test
    void keysAndIdsOfAnyLengthRoundTrip() {
        String id = "é".repeat(100_000);   // 200,000 UTF-8 bytes: past writeUTF's 65,535
        String key = "k".repeat(70_000);
        LearnRecord r = new LearnRecord(id, key, "text".getBytes(StandardCharsets.UTF_8), 1234L, 1, 3, "in", 2, 77L);
        LearnRecord back = LearnRecord.decode(r.encode());
        assertEquals(id, back.id());
        assertEquals(key, back.key());
        assertArrayEquals(r.bytes(), back.bytes());
        assertEquals(new LearnRecord(id, key, back.bytes(), 1234L, 1, 3, "in", 2, 77L), back);
    }

    @Test
    void aRecordWrittenByTheFirstFormatStillDecodes() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(1);
            out.writeUTF("id-1");
            out.writeUTF("doc");
            out.writeLong(99L);
            out.writeInt(0);
            out.writeInt(1);
            out.writeUTF("in");
            out.writeInt(0);
            out.writeLong(5L);
            out.writeInt(2);
            out.write(new byte[] {'h', 'i'});
        }
        LearnRecord r = LearnRecord.decode(bytes.toByteArray());
        assertEquals(new LearnRecord("id-1", "doc", r.bytes(), 99L, 0, 1, "in", 0, 5L), r);
        assertArrayEquals(new byte[] {'h', 'i'}, r.bytes());
    }

    @Test
    void anUnknownFormatVersionOrATruncatedRecordIsASerializationErrorThatSaysSo() {
        byte[] good = new LearnRecord("i", "k", new byte[] {1}, 0L, 0, 1, "in", 0, 0L).encode();
        good[0] = 9;
        SerializationException e = assertThrows(SerializationException.class, () -> LearnRecord.decode(good));
        assertTrue(e.getMessage().contains("version 9"), e.getMessage());
        byte[] cut = java.util.Arrays.copyOf(new LearnRecord("i", "k", new byte[] {1}, 0L, 0, 1, "in", 0, 0L).encode(), 8);
        assertThrows(SerializationException.class, () -> LearnRecord.decode(cut));
    }
}

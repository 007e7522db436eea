package org.hopestreams.stream;

import org.hopestreams.avro.TextEvent;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Unit tests of the ingest step; the Avro decoder is a stand-in here (the serde itself is tested on a real registry). */
class IngestTest {
    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] joined(List<Ingest.Piece> pieces) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        pieces.forEach(p -> out.writeBytes(p.bytes()));
        return out.toByteArray();
    }

    final Ingest text = new Ingest(InputFormat.TEXT, 8, 40, 32, "default", v -> {
        throw new AssertionError("not avro");
    });
    final Ingest json = new Ingest(InputFormat.JSON, 8, 40, 32, "default", v -> {
        throw new AssertionError("not avro");
    });

    @Test
    void textIsSplitIntoRecordsThatConcatenateToTheInputAndNeverCutACharacter() {
        String s = "héllo wörld — ünïcode ✓ ok";
        Ingest.Outcome o = text.decode("doc-1", utf8(s), "in-0@5", 1000);
        assertTrue(o.accepted());
        assertArrayEquals(utf8(s), joined(o.pieces()));
        for (Ingest.Piece p : o.pieces()) {
            assertTrue(p.bytes().length <= 8);
            assertTrue(new String(p.bytes(), StandardCharsets.UTF_8).indexOf('\uFFFD') < 0,
                    "piece " + p.part() + " decodes on its own");
            assertEquals("doc-1", p.key());
            assertEquals(1000, p.eventTime());
            assertEquals(o.pieces().size(), p.parts());
        }
    }

    @Test
    void badTextGoesToTheDeadLetterTopicWithAReason() {
        assertEquals("empty", text.decode("k", new byte[0], "x", 0).reasonCode());
        assertEquals("invalid-utf8", text.decode("k", new byte[] {'a', (byte) 0xC3, 'b'}, "x", 0).reasonCode());
        Ingest.Outcome big = text.decode("k", new byte[41], "x", 0);
        assertFalse(big.accepted());
        assertEquals("oversize", big.reasonCode());
        assertTrue(big.reason().contains("41 bytes") && big.reason().contains("40 bytes"), big.reason());
        assertEquals("default", text.decode(null, utf8("no key"), "x", 0).pieces().get(0).key());
    }

    @Test
    void jsonEventsCarryTheirOwnKeyIdAndTime() {
        Ingest.Outcome o = json.decode("kafka-key",
                utf8("{\"id\":\"e1\",\"key\":\"tenant-7\",\"text\":\"abc\",\"eventTime\":42}"), "in-0@1", 7);
        assertTrue(o.accepted());
        Ingest.Piece p = o.pieces().get(0);
        assertEquals("e1", p.id());
        assertEquals("tenant-7", p.key());
        assertEquals(42, p.eventTime());
        Ingest.Piece fallback = json.decode("kafka-key", utf8("{\"text\":\"abc\"}"), "in-0@2", 7).pieces().get(0);
        assertEquals("kafka-key", fallback.key());
        assertEquals("in-0@2", fallback.id());
        assertEquals(7, fallback.eventTime());
    }

    @Test
    void keysAndIdsOverTheCapAreDeadLetteredWithTheirLengthAndTheCap() {
        Ingest.Outcome key = text.decode("k".repeat(33), utf8("hello"), "x", 0);
        assertEquals("key-too-long", key.reasonCode());
        assertTrue(key.reason().contains("33 bytes") && key.reason().contains("32 bytes"), key.reason());
        Ingest.Outcome id = json.decode("k", utf8("{\"id\":\"" + "é".repeat(20) + "\",\"text\":\"abc\"}"), "x", 0);
        assertEquals("id-too-long", id.reasonCode());
        assertTrue(id.reason().contains("40 bytes") && id.reason().contains("hope.key.max.bytes"), id.reason());
        assertTrue(text.decode("k".repeat(32), utf8("hello"), "x", 0).accepted(), "the cap itself is allowed");
    }

    @Test
    void badJsonIsNamed() {
        assertEquals("invalid-json", json.decode("k", utf8("{\"text\": "), "x", 0).reasonCode());
        Ingest.Outcome noText = json.decode("k", utf8("{\"body\":\"abc\"}"), "x", 0);
        assertEquals("wrong-schema", noText.reasonCode());
        assertTrue(noText.reason().contains("'text'"), noText.reason());
        assertEquals("wrong-schema", json.decode("k", utf8("[1,2]"), "x", 0).reasonCode());
        assertEquals("wrong-schema", json.decode("k", utf8("{\"text\":\"a\",\"eventTime\":\"soon\"}"), "x", 0).reasonCode());
        assertEquals("empty", json.decode("k", utf8("{\"text\":\"\"}"), "x", 0).reasonCode());
    }

    @Test
    void avroEventsAreDecodedByTheConfiguredDecoderAndItsFailuresAreDeadLetters() {
        TextEvent event = TextEvent.newBuilder().setId("a1").setKey("k9").setText("hello avro")
                .setEventTime(Instant.ofEpochMilli(5)).setAttributes(Map.of()).build();
        Ingest avro = new Ingest(InputFormat.AVRO, 8, 40, 32, "default", v -> {
            if (v[0] != 0) {
                throw new IllegalStateException("unknown magic byte " + v[0]);
            }
            return switch (v[4]) {
                case 1 -> event;
                case 2 -> throw new RuntimeException("lookup failed", new RuntimeException("No content with id 2"));
                case 3 -> org.hopestreams.avro.CheckpointEvent.newBuilder().setModelVersion(1).setRecords(1)
                        .setHighSteps(1).setMidSteps(0).setLowSteps(0).setWallTime(Instant.EPOCH)
                        .setStreamTime(Instant.EPOCH).setStateBytes(0).build();
                default -> throw new IllegalArgumentException("bad varint");
            };
        });
        Ingest.Outcome ok = avro.decode(null, new byte[] {0, 0, 0, 0, 1}, "x", 0);
        assertTrue(ok.accepted());
        assertEquals("k9", ok.pieces().get(0).key());
        assertArrayEquals(utf8("hello avro"), joined(ok.pieces()));
        Ingest.Outcome corrupt = avro.decode(null, new byte[] {7, 1}, "x", 0);
        assertEquals("corrupt", corrupt.reasonCode());
        assertTrue(corrupt.reason().contains("unknown magic byte 7"), corrupt.reason());
        Ingest.Outcome unknown = avro.decode(null, new byte[] {0, 0, 0, 0, 2}, "x", 0);
        assertEquals("unknown-schema", unknown.reasonCode());
        assertTrue(unknown.reason().contains("schema id 2"), unknown.reason());
        Ingest.Outcome wrong = avro.decode(null, new byte[] {0, 0, 0, 0, 3}, "x", 0);
        assertEquals("wrong-schema", wrong.reasonCode());
        assertTrue(wrong.reason().contains("org.hopestreams.avro.CheckpointEvent"), wrong.reason());
        Ingest.Outcome garbled = avro.decode(null, new byte[] {0, 0, 0, 0, 9}, "x", 0);
        assertEquals("undecodable", garbled.reasonCode());
        assertTrue(garbled.reason().contains("bad varint"), garbled.reason());
    }

    @Test
    void aRegistryThatCouldNotAnswerIsNotADeadLetterButAnError() {
        Ingest refused = new Ingest(InputFormat.AVRO, 8, 40, 32, "default", v -> {
            throw new RuntimeException("lookup failed", new java.net.ConnectException("Connection refused"));
        });
        RegistryUnavailableException e = assertThrows(RegistryUnavailableException.class,
                () -> refused.decode(null, new byte[] {0, 0, 0, 0, 1}, "x", 0));
        assertTrue(e.getMessage().contains("Connection refused"), e.getMessage());
        Ingest gated = new Ingest(InputFormat.AVRO, 8, 40, 32, "default", v -> {
            throw new RegistryUnavailableException("the schema registry http://r did not answer", null);
        });
        assertThrows(RegistryUnavailableException.class, () -> gated.decode(null, new byte[] {0, 0, 0, 0, 1}, "x", 0));
    }

    @Test
    void bytesThatAreNotUtf8AreStillCutAtTheLimit() {
        byte[] raw = new byte[20];
        java.util.Arrays.fill(raw, (byte) 0x80);   // continuation bytes only
        List<byte[]> parts = Ingest.split(raw, 8);
        assertEquals(List.of(8, 8, 4), parts.stream().map(b -> b.length).toList());
    }
}

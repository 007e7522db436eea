package org.hopestreams.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.hopestreams.avro.TextEvent;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The ingest step (ARCHITECTURE.md §2): decode an input value, validate it, and cut its text into
 * records of at most {@code maxRecordBytes}, or say why it goes to the dead-letter topic.
 *
 * <p>Pure and thread-safe: no state, no I/O of its own; the topology supplies the Avro decoder (the
 * configured serde) and routes the outcome.
 */
public final class Ingest {
    /** One learnable piece of an event: part {@code part} of {@code parts}. */
    public record Piece(String id, String key, byte[] bytes, long eventTime, int part, int parts) {
    }

    /** The outcome: pieces to learn, or a dead-letter reason (a short code and a sentence). */
    public record Outcome(List<Piece> pieces, String reasonCode, String reason) {
        public boolean accepted() {
            return reasonCode == null;
        }

        static Outcome reject(String code, String reason) {
            return new Outcome(List.of(), code, reason);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final InputFormat format;
    private final int maxRecordBytes;
    private final int maxTextBytes;
    private final int maxKeyBytes;
    private final String defaultKey;
    private final Function<byte[], ?> avro;

    /**
     * @param maxRecordBytes longest record handed to the learner; longer text is split
     * @param maxTextBytes   hard cap on one event's text; longer text is rejected, not split
     * @param maxKeyBytes    longest context key and event id (UTF-8 bytes); longer ones are rejected
     * @param defaultKey     context key of events that carry none
     * @param avro           decodes an Avro value to a TextEvent, or to whatever record its schema names
     *                       (then rejected as wrong-schema); throws on corrupt bytes or an unknown schema;
     *                       unused for the other formats. When it fails because the registry could not answer
     *                       ({@link RegistryGate#unanswered}), {@link #decode} throws a
     *                       {@link RegistryUnavailableException}: that says nothing about the bytes.
     */
    public Ingest(InputFormat format, int maxRecordBytes, int maxTextBytes, int maxKeyBytes, String defaultKey,
                  Function<byte[], ?> avro) {
        if (maxRecordBytes < 4 || maxTextBytes < maxRecordBytes) {
            throw new IllegalArgumentException("ingest needs maxRecordBytes >= 4 and maxTextBytes >= maxRecordBytes, got "
                    + maxRecordBytes + " and " + maxTextBytes);
        }
        this.format = format;
        this.maxRecordBytes = maxRecordBytes;
        this.maxTextBytes = maxTextBytes;
        this.maxKeyBytes = maxKeyBytes;
        this.defaultKey = defaultKey;
        this.avro = avro;
    }

    /**
     * Decodes one input record. {@code recordKey} is the Kafka key (may be null), {@code sourceId}
     * names the record for events without an id (topic-partition@offset), {@code timestamp} is the
     * Kafka timestamp, used for events without an event time.
     */
    public Outcome decode(String recordKey, byte[] value, String sourceId, long timestamp) {
        if (value == null || value.length == 0) {
            return Outcome.reject("empty", "the record has no value");
        }
        return switch (format) {
            case TEXT -> text(recordKey, value, sourceId, timestamp);
            case JSON -> json(recordKey, value, sourceId, timestamp);
            case AVRO -> avro(value);
        };
    }

    private Outcome text(String recordKey, byte[] value, String sourceId, long timestamp) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(value));
        } catch (CharacterCodingException e) {
            return Outcome.reject("invalid-utf8", "the value is not valid UTF-8 text (" + e.getMessage() + ")");
        }
        return pieces(sourceId, keyOr(recordKey), value, timestamp);
    }

    private Outcome json(String recordKey, byte[] value, String sourceId, long timestamp) {
        JsonNode node;
        try {
            node = JSON.readTree(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return Outcome.reject("invalid-json", "the value is not JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            return Outcome.reject("invalid-json", "the value is not JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            return Outcome.reject("wrong-schema", "a JSON event must be an object with a string field 'text'");
        }
        JsonNode text = node.get("text");
        if (text == null || !text.isTextual()) {
            return Outcome.reject("wrong-schema", "the JSON event has no string field 'text'");
        }
        JsonNode time = node.get("eventTime");
        if (time != null && (!time.canConvertToExactIntegral() || time.asLong() < 0)) {
            return Outcome.reject("wrong-schema", "'eventTime' must be epoch milliseconds >= 0, got " + time);
        }
        String key = node.hasNonNull("key") ? node.get("key").asText() : keyOr(recordKey);
        String id = node.hasNonNull("id") ? node.get("id").asText() : sourceId;
        return pieces(id, key, text.asText().getBytes(StandardCharsets.UTF_8), time == null ? timestamp : time.asLong());
    }

    private Outcome avro(byte[] value) {
        Object decoded;
        try {
            decoded = avro.apply(value);
        } catch (RuntimeException e) {
            if (RegistryGate.holdsInput(e)) {
                Throwable root = e;
                while (root.getCause() != null && root.getCause() != root) {
                    root = root.getCause();
                }
                throw e instanceof RegistryUnavailableException r ? r
                        : new RegistryUnavailableException("the schema registry could not answer for this record, or refused access: "
                        + root, e);
            }
            return undecodable(value, e);
        }
        if (!(decoded instanceof TextEvent event)) {
            String what = decoded == null ? "nothing"
                    : decoded instanceof org.apache.avro.generic.GenericContainer g ? "a " + g.getSchema().getFullName()
                    : "a " + decoded.getClass().getName();
            return Outcome.reject("wrong-schema", "the value decodes to " + what + ", expected a "
                    + TextEvent.SCHEMA$.getFullName());
        }
        if (event.getEventTime().toEpochMilli() < 0) {
            return Outcome.reject("wrong-schema", "eventTime " + event.getEventTime() + " is before 1970");
        }
        return pieces(event.getId(), event.getKey(), event.getText().getBytes(StandardCharsets.UTF_8),
                event.getEventTime().toEpochMilli());
    }

    /** Why the serde failed: not the wire format at all, a schema id the registry does not know, or else. */
    private static Outcome undecodable(byte[] value, RuntimeException e) {
        StringBuilder why = new StringBuilder();
        for (Throwable t = e; t != null && why.length() < 600; t = t.getCause()) {
            why.append(why.length() == 0 ? "" : ": ").append(t.getMessage() == null ? t.getClass().getSimpleName()
                    : t.getMessage());
        }
        if (value.length < 5 || value[0] != 0) {
            return Outcome.reject("corrupt", "the value is not in the registry wire format (magic byte 0, a 4-byte "
                    + "schema id, Avro binary): " + why);
        }
        String lower = why.toString().toLowerCase(java.util.Locale.ROOT);
        if (lower.contains("specified in writer's schema")) {
            // A valid record of a schema this application has no class for: the specific reader cannot even
            // resolve it (Avro's "Could not find class X specified in writer's schema ..."), so it is another schema.
            return Outcome.reject("wrong-schema", "the value is a record of another schema, expected a "
                    + TextEvent.SCHEMA$.getFullName() + ": " + why);
        }
        if (lower.contains("not found") || lower.contains("404") || lower.contains("no content")) {
            int id = java.nio.ByteBuffer.wrap(value, 1, 4).getInt();
            return Outcome.reject("unknown-schema", "the schema id " + id + " is not in the registry: " + why);
        }
        return Outcome.reject("undecodable", "the value is not a TextEvent this registry knows: " + why);
    }

    private String keyOr(String recordKey) {
        return recordKey == null || recordKey.isEmpty() ? defaultKey : recordKey;
    }

    private Outcome pieces(String id, String key, byte[] text, long eventTime) {
        int keyBytes = key.getBytes(StandardCharsets.UTF_8).length;
        if (keyBytes > maxKeyBytes) {
            return Outcome.reject("key-too-long", "the context key has " + keyBytes + " bytes, over the cap of "
                    + maxKeyBytes + " bytes (hope.key.max.bytes)");
        }
        int idBytes = id.getBytes(StandardCharsets.UTF_8).length;
        if (idBytes > maxKeyBytes) {
            return Outcome.reject("id-too-long", "the event id has " + idBytes + " bytes, over the cap of "
                    + maxKeyBytes + " bytes (hope.key.max.bytes)");
        }
        if (text.length == 0) {
            return Outcome.reject("empty", "the event's text is empty");
        }
        if (text.length > maxTextBytes) {
            return Outcome.reject("oversize", "the text has " + text.length + " bytes, over the hard cap of "
                    + maxTextBytes + " bytes (ingest.maxTextBytes)");
        }
        List<byte[]> cuts = split(text, maxRecordBytes);
        List<Piece> out = new ArrayList<>(cuts.size());
        for (int i = 0; i < cuts.size(); i++) {
            out.add(new Piece(id, key, cuts.get(i), eventTime, i, cuts.size()));
        }
        return new Outcome(List.copyOf(out), null, null);
    }

    /**
     * Cuts bytes into pieces of at most {@code max}, never inside a UTF-8 sequence when the text is
     * UTF-8 (a cut moves back over continuation bytes, at most 3). The pieces concatenate to the input.
     */
    static List<byte[]> split(byte[] text, int max) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        while (text.length - start > max) {
            int end = start + max;
            int back = 0;
            while (back < 3 && (text[end - back] & 0xC0) == 0x80) {
                back++;
            }
            if ((text[end - back] & 0xC0) == 0x80) {
                back = 0;   // not UTF-8 here: bytes are bytes
            }
            end -= back;
            out.add(Arrays.copyOfRange(text, start, end));
            start = end;
        }
        out.add(Arrays.copyOfRange(text, start, text.length));
        return out;
    }
}

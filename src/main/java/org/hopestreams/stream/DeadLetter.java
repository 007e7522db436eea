package org.hopestreams.stream;

import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;

/**
 * A record for the dead-letter topic: the original key and value bytes, and headers that say why
 * ({@code hope.dlq.reason} a short code, {@code hope.dlq.message} a sentence, {@code hope.dlq.stage}
 * ingest or learn) and where it came from ({@code hope.dlq.topic}, {@code .partition}, {@code .offset}).
 * The input's own headers are kept. A dead letter that would not fit in one produce request is cut
 * to fit ({@link #fit}): {@code hope.dlq.truncated}, with the original sizes in
 * {@code hope.dlq.key.size} and {@code hope.dlq.value.size}.
 */
public record DeadLetter(byte[] key, byte[] value, String reason) {
    public static final String REASON = "hope.dlq.reason";
    public static final String MESSAGE = "hope.dlq.message";
    public static final String STAGE = "hope.dlq.stage";
    public static final String TOPIC = "hope.dlq.topic";
    public static final String PARTITION = "hope.dlq.partition";
    public static final String OFFSET = "hope.dlq.offset";
    public static final String TRUNCATED = "hope.dlq.truncated";
    public static final String KEY_SIZE = "hope.dlq.key.size";
    public static final String VALUE_SIZE = "hope.dlq.value.size";
    /** Room left for the record and batch framing and the header names' varints, generously. */
    static final int FRAMING_BYTES = 1024;

    static Headers headers(Headers original, String stage, String code, String message, String topic,
                           int partition, long offset) {
        Headers h = new RecordHeaders(original == null ? new RecordHeaders().toArray() : original.toArray());
        h.remove(REASON).remove(MESSAGE).remove(STAGE).remove(TOPIC).remove(PARTITION).remove(OFFSET);
        return h.add(REASON, utf8(code)).add(MESSAGE, utf8(message)).add(STAGE, utf8(stage))
                .add(TOPIC, utf8(topic)).add(PARTITION, utf8(Integer.toString(partition)))
                .add(OFFSET, utf8(Long.toString(offset)));
    }

    /**
     * This dead letter as it fits in a produce request of {@code maxRequestBytes} with {@code headers}:
     * itself when it does; else its key and value cut (the value gets what the key leaves, the key
     * at most half), and the truncation headers added to {@code headers}, which keep the reason.
     */
    DeadLetter fit(Headers headers, int maxRequestBytes) {
        int k = key == null ? 0 : key.length;
        int v = value == null ? 0 : value.length;
        if (k + v + headerBytes(headers) + FRAMING_BYTES <= maxRequestBytes) {
            return this;
        }
        headers.remove(TRUNCATED).remove(KEY_SIZE).remove(VALUE_SIZE);
        headers.add(TRUNCATED, utf8("true")).add(KEY_SIZE, utf8(Integer.toString(k)))
                .add(VALUE_SIZE, utf8(Integer.toString(v)));
        int room = Math.max(0, maxRequestBytes - FRAMING_BYTES - headerBytes(headers));
        int keyRoom = Math.min(k, room / 2);
        return new DeadLetter(key == null ? null : java.util.Arrays.copyOf(key, keyRoom),
                value == null ? null : java.util.Arrays.copyOf(value, Math.min(v, room - keyRoom)), reason);
    }

    private static int headerBytes(Headers headers) {
        int n = 0;
        for (var h : headers) {
            n += h.key().length() * 3 + (h.value() == null ? 0 : h.value().length) + 10;
        }
        return n;
    }

    private static byte[] utf8(String s) {
        return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    }
}

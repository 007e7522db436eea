package org.hopestreams.stream;

import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.nio.charset.StandardCharsets;

/**
 * A record for the dead-letter topic: the original key and value bytes, and headers that say why
 * ({@code hope.dlq.reason} a short code, {@code hope.dlq.message} a sentence, {@code hope.dlq.stage}
 * ingest or learn) and where it came from ({@code hope.dlq.topic}, {@code .partition}, {@code .offset}).
 * The input's own headers are kept.
 */
public record DeadLetter(byte[] key, byte[] value, String reason) {
    public static final String REASON = "hope.dlq.reason";
    public static final String MESSAGE = "hope.dlq.message";
    public static final String STAGE = "hope.dlq.stage";
    public static final String TOPIC = "hope.dlq.topic";
    public static final String PARTITION = "hope.dlq.partition";
    public static final String OFFSET = "hope.dlq.offset";

    static Headers headers(Headers original, String stage, String code, String message, String topic,
                           int partition, long offset) {
        Headers h = new RecordHeaders(original == null ? new RecordHeaders().toArray() : original.toArray());
        h.remove(REASON).remove(MESSAGE).remove(STAGE).remove(TOPIC).remove(PARTITION).remove(OFFSET);
        return h.add(REASON, utf8(code)).add(MESSAGE, utf8(message)).add(STAGE, utf8(stage))
                .add(TOPIC, utf8(topic)).add(PARTITION, utf8(Integer.toString(partition)))
                .add(OFFSET, utf8(Long.toString(offset)));
    }

    private static byte[] utf8(String s) {
        return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    }
}

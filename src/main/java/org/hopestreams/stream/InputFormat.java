package org.hopestreams.stream;

import java.util.Locale;

/** How the values of the input topic are written. */
public enum InputFormat {
    /** Avro {@code TextEvent} in the Confluent wire format, through the configured serde. */
    AVRO,
    /** The value is the text itself, UTF-8; the record key is the context key (kcat, console producer). */
    TEXT,
    /** A JSON object {@code {"text": …, "key"?, "id"?, "eventTime"?, "attributes"?}}. */
    JSON;

    public static InputFormat parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("input format '" + s + "' is not one of avro, text, json", e);
        }
    }
}

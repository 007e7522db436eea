package org.hopestreams.learn;

/**
 * A key's stored fast state exists but cannot be decoded (corrupt bytes, a format version this build
 * does not know). Thrown by {@link FastStateStore#get}; {@link Learner#learn} lets it through before
 * it has changed anything, so the caller may dead-letter the record or reset the key and learn again.
 */
public final class UnreadableStateException extends IllegalStateException {
    private final String key;

    public UnreadableStateException(String key, String message, Throwable cause) {
        super(message, cause);
        this.key = key;
    }

    public String key() {
        return key;
    }
}

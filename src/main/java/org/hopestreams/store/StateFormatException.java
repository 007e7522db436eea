package org.hopestreams.store;

import java.io.IOException;

/**
 * Stored state bytes that cannot be decoded: wrong magic or version, a damaged, missing or misplaced chunk, or a
 * payload that does not parse. The message names what was wrong and where (chunk, payload offset, file).
 *
 * <p>Decoding throws only this for bad bytes, so a caller can tell "the stored state is unusable" apart from
 * programming errors and from I/O failures of the medium itself.
 */
public class StateFormatException extends IOException {
    public StateFormatException(String message) {
        super(message);
    }

    public StateFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}

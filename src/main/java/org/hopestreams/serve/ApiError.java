package org.hopestreams.serve;

/**
 * An HTTP answer other than 200 that the client can act on: the status, a sentence naming the problem
 * (never a token, a stack trace or a request body), and a Retry-After in seconds where retrying helps.
 * The server writes it as {@code {"error": message}}.
 */
public final class ApiError extends RuntimeException {
    private final int status;
    private long retryAfterSeconds = -1;

    public ApiError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    public int status() {
        return status;
    }

    ApiError retryAfter(long seconds) {
        this.retryAfterSeconds = seconds;
        return this;
    }

    /** Seconds for the Retry-After header, or -1 for none. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}

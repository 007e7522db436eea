package org.hopestreams.registry;

/**
 * A schema registry call that failed, with what kind of failure it was: the kind decides what the application does
 * (wait for the registry, or report an answer about the bytes), the message says what happened for an operator.
 * Messages never carry credentials.
 */
public final class RegistryException extends RuntimeException {
    /** What the failure says. */
    public enum Kind {
        /** No answer: refused or reset connection, DNS, TLS, timeout, or status 5xx, 408, 429. Worth asking again. */
        UNAVAILABLE,
        /** 401 or 403: the registry answers, but not to these credentials. Asking again helps only once fixed. */
        ACCESS_DENIED,
        /** 404: no such subject, version or schema id. */
        NOT_FOUND,
        /** 409: the schema breaks the subject's compatibility rule. */
        INCOMPATIBLE,
        /** 422: the registry refuses the schema or the compatibility level as invalid. */
        INVALID,
        /** Any other answer. */
        OTHER
    }

    private final Kind kind;
    private final int status;
    private final int errorCode;

    public RegistryException(Kind kind, int status, int errorCode, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.status = status;
        this.errorCode = errorCode;
    }

    public Kind kind() {
        return kind;
    }

    /** The HTTP status, or -1 when there was no answer. */
    public int status() {
        return status;
    }

    /** The registry's {@code error_code} (e.g. 40401 subject not found, 40403 schema not found), or -1. */
    public int errorCode() {
        return errorCode;
    }
}

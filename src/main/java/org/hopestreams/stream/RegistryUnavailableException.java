package org.hopestreams.stream;

import org.apache.kafka.common.errors.RetriableException;

/**
 * The schema registry could not answer (connection refused or reset, no answer in time, a 5xx, 408
 * or 429): nothing is known about the bytes at hand, so they are never dead-lettered for it. A
 * Kafka exception, so {@link RecordFailureHandler} fails the task instead of dead-lettering the
 * record, and {@link StreamApp} replaces the thread, which starts again from the committed offset.
 */
public final class RegistryUnavailableException extends RetriableException {
    public RegistryUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}

package org.hopestreams.stream;

import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.InvalidTxnStateException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.streams.errors.StreamsException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the application's stream-thread handler classifies a failure. A commit refused because the broker aborted the
 * transaction while the instance was frozen (seen in FencingTest on CI: {@code StreamsException: Error encountered
 * trying to commit a transaction} caused by {@code InvalidTxnStateException}) must replace the thread, not shut the
 * application down; FencingTest exercises it with a real SIGSTOP.
 */
class StreamAppFailuresTest {

    @Test
    void aTransactionAbortedUnderTheInstanceIsRecognisedInTheCauses() {
        assertTrue(StreamApp.abortedTransaction(new StreamsException("Error encountered trying to commit a transaction",
                new InvalidTxnStateException("The producer attempted a transactional operation in an invalid state."))));
        assertTrue(StreamApp.abortedTransaction(new StreamsException("x", new ProducerFencedException("fenced"))));
        assertTrue(StreamApp.abortedTransaction(new InvalidProducerEpochException("old epoch")));
    }

    @Test
    void otherFailuresAreNot() {
        assertFalse(StreamApp.abortedTransaction(new StreamsException("x", new SerializationException("bad bytes"))));
        assertFalse(StreamApp.abortedTransaction(new IllegalStateException("a bug")));
        assertFalse(StreamApp.abortedTransaction(new StreamsException("no cause")));
    }
}

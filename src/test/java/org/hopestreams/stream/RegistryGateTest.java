package org.hopestreams.stream;

import com.microsoft.kiota.ApiException;
import com.microsoft.kiota.ApiExceptionBuilder;
import org.junit.jupiter.api.Test;

import java.io.EOFException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What counts as "the registry could not answer" (wait for it) and what as an answer about the bytes (dead letter). */
class RegistryGateTest {
    @Test
    void transportFailuresTimeoutsAndServerErrorsAreNoAnswer() {
        assertTrue(RegistryGate.unanswered(new RuntimeException(new ExecutionException(new ConnectException("refused")))));
        assertTrue(RegistryGate.unanswered(new RuntimeException(new SocketTimeoutException("read timed out"))));
        assertTrue(RegistryGate.unanswered(new RuntimeException(new java.util.concurrent.TimeoutException())));
        assertTrue(RegistryGate.unanswered(new RuntimeException(new java.net.UnknownHostException("registry"))));
        assertTrue(RegistryGate.unanswered(new RuntimeException(status(503))));
        assertTrue(RegistryGate.unanswered(new IllegalStateException("the registry answered 500", status(500))));
        assertTrue(RegistryGate.unanswered(status(429)));
        assertTrue(RegistryGate.unanswered(status(408)));
        assertTrue(RegistryGate.unanswered(new RegistryUnavailableException("no answer", null)));
    }

    @Test
    void answersAboutTheBytesAndDecodingErrorsAreNot() {
        assertFalse(RegistryGate.unanswered(new RuntimeException(status(404))));
        assertFalse(RegistryGate.unanswered(status(400)));
        assertFalse(RegistryGate.unanswered(new org.apache.avro.AvroRuntimeException("malformed data")));
        assertFalse(RegistryGate.unanswered(new RuntimeException(new EOFException())), "truncated Avro is bad bytes");
        assertFalse(RegistryGate.unanswered(new IllegalStateException("unknown magic byte 7")));
    }

    private static ApiException status(int code) {
        return new ApiExceptionBuilder().withMessage("status " + code).withResponseStatusCode(code).build();
    }
}

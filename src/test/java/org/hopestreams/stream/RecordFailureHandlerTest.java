package org.hopestreams.stream;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownServerException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessorStateException;
import org.apache.kafka.streams.errors.ProductionExceptionHandler.Result;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which failures stop the application: record-level ones never, the infrastructure's always. */
class RecordFailureHandlerTest {
    /** The context Kafka Streams hands a handler, for one record of in-0@7. */
    static final class Context implements ErrorHandlerContext {
        public String topic() {
            return "in";
        }

        public int partition() {
            return 0;
        }

        public long offset() {
            return 7;
        }

        public Headers headers() {
            return new RecordHeaders().add("mine", new byte[] {1});
        }

        public String processorNodeId() {
            return "hope";
        }

        public TaskId taskId() {
            return new TaskId(0, 0);
        }

        public long timestamp() {
            return 5;
        }

        public byte[] sourceRawKey() {
            return new byte[] {'k'};
        }

        public byte[] sourceRawValue() {
            return new byte[] {'v'};
        }
    }

    final RecordFailureHandler handler = new RecordFailureHandler();

    RecordFailureHandlerTest() {
        handler.configure(Map.of(HopeStreamsConfig.DLQ_TOPIC, "dlq"));
    }

    @Test
    void aRecordLevelProcessingFailureIsADeadLetterAndAnInfrastructureFailureStops() {
        Record<String, String> r = new Record<>("k", "v", 5);
        var dead = handler.handleError(new Context(), r, new IllegalStateException("bad record"));
        assertEquals(org.apache.kafka.streams.errors.ProcessingExceptionHandler.Result.RESUME, dead.result());
        ProducerRecord<byte[], byte[]> d = dead.deadLetterQueueRecords().get(0);
        assertEquals("dlq", d.topic());
        assertEquals("processing-error", new String(d.headers().lastHeader(DeadLetter.REASON).value()));
        assertTrue(new String(d.headers().lastHeader(DeadLetter.MESSAGE).value()).contains("bad record"));
        assertEquals("7", new String(d.headers().lastHeader(DeadLetter.OFFSET).value()));
        assertTrue(d.headers().lastHeader("mine") != null, "the input's headers are kept");
        for (Exception e : new Exception[] {new ProcessorStateException("disk"), new TimeoutException("broker"),
                new UncheckedIOException(new IOException("disk full")), new RuntimeException(new TimeoutException("x"))}) {
            assertEquals(org.apache.kafka.streams.errors.ProcessingExceptionHandler.Result.FAIL,
                    handler.handleError(new Context(), r, e).result(), e.toString());
        }
        assertEquals(org.apache.kafka.streams.errors.ProcessingExceptionHandler.Result.RESUME,
                handler.handleError(new Context(), r, new SerializationException("bad bytes")).result());
    }

    @Test
    void aRecordTheBrokerCannotTakeIsSkippedRetriableErrorsRetryOthersStop() {
        ProducerRecord<byte[], byte[]> p = new ProducerRecord<>("learning", new byte[10]);
        assertEquals(Result.RESUME, handler.handleError(new Context(), p, new RecordTooLargeException("big")).result());
        assertEquals(Result.RETRY, handler.handleError(new Context(), p, new TimeoutException("slow")).result());
        assertEquals(Result.FAIL, handler.handleError(new Context(), p, new UnknownServerException("?")).result());
    }
}

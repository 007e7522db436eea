package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * Kafka Streams' processing, deserialization and production exception handlers in one (configured
 * by {@link HopeStreamsConfig#streamsProperties()}): a failure that belongs to one record never
 * stops the application, a failure of the infrastructure always does.
 *
 * <ul>
 *   <li>processing: an exception from a processor on one record goes to the dead-letter topic
 *       ({@code processing-error}, the exception in {@code hope.dlq.message}) and processing resumes;
 *       a Kafka, Streams, state-store or I/O failure (broker, disk) fails the task as before;</li>
 *   <li>deserialization: only internal topics have a deserializer that can fail (the input is read as
 *       bytes), so a record there that does not decode (a {@link LearnRecord} of an unknown format
 *       version during a rolling upgrade, or corrupt) is dead-lettered ({@code unknown-format},
 *       {@code corrupt-internal});</li>
 *   <li>production: a record the broker cannot take (too large, timestamp out of range) is logged,
 *       counted ({@code hope.dead.letters{stage=produce}}) and skipped; retriable errors are retried,
 *       others fail. Under exactly-once such a send error still aborts the transaction, so the
 *       application prevents these records instead (key cap, time bound, fitted dead letters).</li>
 * </ul>
 *
 * <p>Kafka Streams instantiates it; {@link #HUB} in the configuration (an object, set by
 * {@link StreamApp}) is where the counts go. Thread-safe: configured once, then stateless.
 */
public final class RecordFailureHandler implements ProcessingExceptionHandler, DeserializationExceptionHandler,
        ProductionExceptionHandler {
    /** Configuration key of the {@link LearnerHub} that counts what this handler dead-letters or drops. */
    public static final String HUB = "hope.internal.hub";
    private static final Logger LOG = LoggerFactory.getLogger(RecordFailureHandler.class);

    private String dlqTopic;
    private int maxRequestBytes;
    private LearnerHub hub = new LearnerHub();

    @Override
    public void configure(Map<String, ?> configs) {
        HopeStreamsConfig config = new HopeStreamsConfig(configs);
        dlqTopic = config.dlqTopic();
        maxRequestBytes = config.maxRequestBytes();
        if (configs.get(HUB) instanceof LearnerHub h) {
            hub = h;
        }
    }

    @Override
    public ProcessingExceptionHandler.Response handleError(ErrorHandlerContext c, Record<?, ?> record, Exception e) {
        if (infrastructure(e)) {
            return ProcessingExceptionHandler.Response.fail();
        }
        return ProcessingExceptionHandler.Response.resume(List.of(deadLetter(c, c.sourceRawKey(), c.sourceRawValue(),
                "processing-error", "processor " + c.processorNodeId() + " failed: " + e)));
    }

    @Override
    public DeserializationExceptionHandler.Response handleError(ErrorHandlerContext c,
                                                                ConsumerRecord<byte[], byte[]> record, Exception e) {
        String code = String.valueOf(e.getMessage()).contains("format version") ? "unknown-format" : "corrupt-internal";
        return DeserializationExceptionHandler.Response.resume(List.of(deadLetter(c, record.key(), record.value(),
                code, "a record of " + record.topic() + " does not decode: " + e.getMessage())));
    }

    @Override
    public ProductionExceptionHandler.Response handleError(ErrorHandlerContext c, ProducerRecord<byte[], byte[]> record,
                                                           Exception e) {
        if (e instanceof RecordTooLargeException || e instanceof InvalidTimestampException) {
            LOG.warn("a record for {} ({} bytes) from {}-{}@{} was not written and is skipped: {}", record.topic(),
                    size(record.key()) + size(record.value()), c.topic(), c.partition(), c.offset(), e.toString());
            hub.deadLetter("produce", e instanceof RecordTooLargeException ? "too-large" : "invalid-timestamp");
            return ProductionExceptionHandler.Response.resume();
        }
        return e instanceof RetriableException ? ProductionExceptionHandler.Response.retry()
                : ProductionExceptionHandler.Response.fail();
    }

    private ProducerRecord<byte[], byte[]> deadLetter(ErrorHandlerContext c, byte[] key, byte[] value, String code,
                                                      String message) {
        // one line each at DEBUG; DeadLetterLog sums them up at WARN once a minute
        LOG.debug("{}-{}@{} goes to {} ({}): {}", c.topic(), c.partition(), c.offset(), dlqTopic, code, message);
        hub.deadLetter("handler", code);
        Headers headers = DeadLetter.headers(c.headers(), "handler", code, message, c.topic(), c.partition(), c.offset());
        DeadLetter fitted = new DeadLetter(key, value, code).fit(headers, maxRequestBytes);
        return new ProducerRecord<>(dlqTopic, null, c.timestamp() < 0 ? null : c.timestamp(), fitted.key(),
                fitted.value(), headers);
    }

    /** A failure of the broker, the state stores or the disk: never one record's fault. */
    static boolean infrastructure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if ((t instanceof KafkaException && !(t instanceof SerializationException)) || t instanceof IOException
                    || t instanceof UncheckedIOException) {
                return true;
            }
        }
        return false;
    }

    private static int size(byte[] b) {
        return b == null ? 0 : b.length;
    }
}

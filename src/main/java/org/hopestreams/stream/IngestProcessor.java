package org.hopestreams.stream;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The ingest processor: {@link Ingest} on every input record. Accepted events go on as
 * {@link LearnRecord}s keyed by context key and stamped with their event time; rejected ones as
 * {@link DeadLetter}s with the original bytes and the reason in headers.
 *
 * <p>An event time more than {@code maxAheadMs} past the stream time is rejected here, before it
 * reaches a topic or a window clock: the learner's clocks only move forward, so one such time
 * would stop MID for good, and brokers refuse it (log.message.timestamp.after.max.ms). The
 * reference is the later of the task's stream time (the latest event time it accepted; Kafka's own
 * stream time already counts the record at hand) and the wall clock, so that a stream that resumes
 * after an idle gap longer than the bound is not rejected record after record.
 */
public final class IngestProcessor implements Processor<Bytes, byte[], String, Object> {
    private final Ingest ingest;
    private final long maxAheadMs;
    private ProcessorContext<String, Object> context;
    private long streamTime;

    public IngestProcessor(Ingest ingest, long maxAheadMs) {
        this.ingest = ingest;
        this.maxAheadMs = maxAheadMs;
    }

    @Override
    public void init(ProcessorContext<String, Object> context) {
        this.context = context;
        streamTime = Long.MIN_VALUE;
    }

    @Override
    public void process(Record<Bytes, byte[]> record) {
        RecordMetadata m = context.recordMetadata().orElseThrow();
        byte[] rawKey = record.key() == null ? null : record.key().get();
        String key = rawKey == null ? null : new String(rawKey, StandardCharsets.UTF_8);
        Ingest.Outcome o = notTooFarAhead(ingest.decode(key, record.value(), m.topic() + "-" + m.partition() + "@"
                + m.offset(), record.timestamp()));
        if (!o.accepted()) {
            context.forward(new Record<>(key, new DeadLetter(rawKey, record.value(), o.reasonCode()), record.timestamp(),
                    DeadLetter.headers(record.headers(), "ingest", o.reasonCode(), o.reason(), m.topic(),
                            m.partition(), m.offset())));
            return;
        }
        for (Ingest.Piece p : o.pieces()) {
            LearnRecord r = new LearnRecord(p.id(), p.key(), p.bytes(), p.eventTime(), p.part(), p.parts(), m.topic(),
                    m.partition(), m.offset());
            context.forward(new Record<>(p.key(), r, p.eventTime(), record.headers()));
        }
    }

    private Ingest.Outcome notTooFarAhead(Ingest.Outcome o) {
        if (!o.accepted()) {
            return o;
        }
        long reference = Math.max(streamTime, context.currentSystemTimeMs());
        long eventTime = o.pieces().get(0).eventTime();
        if (eventTime - reference <= maxAheadMs) {
            streamTime = Math.max(streamTime, eventTime);
            return o;
        }
        return Ingest.Outcome.reject("future-time", "eventTime " + Instant.ofEpochMilli(eventTime) + " is more than "
                + maxAheadMs + " ms ahead of the stream time " + Instant.ofEpochMilli(reference)
                + " (hope.event.time.max.ahead.ms)");
    }
}

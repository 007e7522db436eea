package org.hopestreams.stream;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

import java.nio.charset.StandardCharsets;

/**
 * The ingest processor: {@link Ingest} on every input record. Accepted events go on as
 * {@link LearnRecord}s keyed by context key and stamped with their event time; rejected ones as
 * {@link DeadLetter}s with the original bytes and the reason in headers.
 */
public final class IngestProcessor implements Processor<Bytes, byte[], String, Object> {
    private final Ingest ingest;
    private ProcessorContext<String, Object> context;

    public IngestProcessor(Ingest ingest) {
        this.ingest = ingest;
    }

    @Override
    public void init(ProcessorContext<String, Object> context) {
        this.context = context;
    }

    @Override
    public void process(Record<Bytes, byte[]> record) {
        RecordMetadata m = context.recordMetadata().orElseThrow();
        byte[] rawKey = record.key() == null ? null : record.key().get();
        String key = rawKey == null ? null : new String(rawKey, StandardCharsets.UTF_8);
        Ingest.Outcome o = ingest.decode(key, record.value(), m.topic() + "-" + m.partition() + "@" + m.offset(),
                record.timestamp());
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
}

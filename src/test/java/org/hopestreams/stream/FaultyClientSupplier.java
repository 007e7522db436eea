package org.hopestreams.stream;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.processor.internals.DefaultKafkaClientSupplier;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Kafka Streams' own clients, except that the producers fail twice as a slow broker makes them fail:
 * the {@code commitNumber}-th {@code commitTransaction} (over all producers) throws a
 * {@link TimeoutException} without committing, and the {@code sendNumber}-th send to {@code topic}
 * completes with a {@link TimeoutException} without sending (as {@link KafkaProducer} reports a
 * metadata or delivery timeout: through the callback). Under exactly-once Kafka Streams answers both
 * by closing the tasks dirty, aborting the transaction and reviving the same processor instances.
 */
final class FaultyClientSupplier extends DefaultKafkaClientSupplier {
    private final int commitNumber;
    private final String topic;
    private final int sendNumber;
    private final AtomicInteger commits = new AtomicInteger();
    private final AtomicInteger sends = new AtomicInteger();
    private final AtomicInteger injected = new AtomicInteger();

    FaultyClientSupplier(int commitNumber, String topic, int sendNumber) {
        this.commitNumber = commitNumber;
        this.topic = topic;
        this.sendNumber = sendNumber;
    }

    /** Faults injected so far (2 once both happened). */
    int injected() {
        return injected.get();
    }

    @Override
    public Producer<byte[], byte[]> getProducer(Map<String, Object> config) {
        return new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer()) {
            @Override
            public void commitTransaction() {
                if (commits.incrementAndGet() == commitNumber) {
                    injected.incrementAndGet();
                    throw new TimeoutException("injected: commitTransaction #" + commitNumber + " timed out");
                }
                super.commitTransaction();
            }

            @Override
            public Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
                if (record.topic().equals(topic) && sends.incrementAndGet() == sendNumber) {
                    injected.incrementAndGet();
                    TimeoutException e = new TimeoutException("injected: send #" + sendNumber + " to " + topic
                            + " timed out");
                    if (callback != null) {
                        callback.onCompletion(null, e);
                    }
                    return CompletableFuture.failedFuture(e);
                }
                return super.send(record, callback);
            }
        };
    }
}

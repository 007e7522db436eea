package org.hopestreams.stream;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.processor.internals.DefaultKafkaClientSupplier;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Kafka Streams' own clients, except that the producers fail twice as a slow broker makes them fail,
 * each time leaving the real {@link KafkaProducer} in the state a real timeout leaves it in:
 * <ul>
 *   <li>the {@code commitNumber}-th {@code commitTransaction} (over all producers) throws a
 *       {@link TimeoutException} before the producer commits: the transaction stays open with the
 *       offsets already added to it, so that the next {@code commitTransaction} commits that same
 *       transaction, as a real producer does when a commit whose request is still in flight is retried;</li>
 *   <li>the {@code sendNumber}-th send to {@code topic} times out inside {@code KafkaProducer.send}, where a
 *       metadata wait times out: its value serializer throws the {@link TimeoutException}, and the producer
 *       itself completes the callback with it and moves its transaction to the abortable error state.</li>
 * </ul>
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
        ByteArraySerializer values = new ByteArraySerializer() {
            @Override
            public byte[] serialize(String t, Headers headers, byte[] data) {
                if (t.equals(topic) && sends.incrementAndGet() == sendNumber) {
                    injected.incrementAndGet();
                    throw new TimeoutException("injected: send #" + sendNumber + " to " + topic + " timed out");
                }
                return super.serialize(t, headers, data);
            }
        };
        return new KafkaProducer<>(config, new ByteArraySerializer(), values) {
            @Override
            public void commitTransaction() {
                if (commits.incrementAndGet() == commitNumber) {
                    injected.incrementAndGet();
                    throw new TimeoutException("injected: commitTransaction #" + commitNumber + " timed out");
                }
                super.commitTransaction();
            }
        };
    }
}

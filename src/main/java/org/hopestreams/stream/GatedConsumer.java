package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.KafkaClientSupplier;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A stream thread's main consumer that hands Kafka Streams no input record the {@link RegistryGate}
 * does not admit yet. Where a partition's record is not admitted, that record and every later one of
 * the partition are held back: the consumer seeks back to it and pauses the partition, and the batch
 * says that the partition's next offset is that record's, so that Kafka Streams commits no offset
 * past it (it commits a drained partition's next offset). A later {@link #poll} resumes the partition
 * once the gate admits the record, and the records are fetched again from there. Nothing waits on
 * the stream thread: it keeps polling, processing the other partitions and committing.
 *
 * <p>Kafka Streams pauses and resumes partitions itself (full buffers, tasks not yet running): a
 * partition is fetched only when neither it nor the gate holds it. A seek by Kafka Streams (offset
 * reset, a revived task) or by the {@link RevivalSafeClients} consumer around this one (a task about to
 * run that was handed records past its committed offset) ends the hold: the records are checked again
 * from the new position.
 *
 * <p>Only with the classic group protocol: with {@code group.protocol=streams} Kafka Streams builds its
 * own main consumer and nothing is held back (a record that meets an unavailable registry then fails
 * the thread, which {@link StreamApp} replaces).
 */
final class GatedConsumer extends KafkaConsumer<byte[], byte[]> {
    private final RegistryGate gate;
    private final String topic;
    private final Map<TopicPartition, ConsumerRecord<byte[], byte[]>> held = new HashMap<>();
    private final Set<TopicPartition> pausedByStreams = new HashSet<>();

    GatedConsumer(Map<String, Object> config, RegistryGate gate, String topic) {
        super(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.gate = gate;
        this.topic = topic;
    }

    /** {@code clients}, except that the main consumer is a {@link GatedConsumer} (a {@link KafkaConsumer}). */
    static KafkaClientSupplier supplier(KafkaClientSupplier clients, RegistryGate gate, String topic) {
        return ClientSuppliers.withMainConsumer(clients, config -> new GatedConsumer(config, gate, topic));
    }

    @Override
    public ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
        releaseAdmitted();
        ConsumerRecords<byte[], byte[]> polled = super.poll(timeout);
        if (polled.partitions().stream().noneMatch(p -> p.topic().equals(topic))) {
            return polled;
        }
        Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> admitted = new HashMap<>();
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>(polled.nextOffsets());
        for (TopicPartition p : polled.partitions()) {
            List<ConsumerRecord<byte[], byte[]>> records = polled.records(p);
            int n = 0;
            if (p.topic().equals(topic)) {
                while (n < records.size() && gate.admits(records.get(n).value())) {
                    n++;
                }
            } else {
                n = records.size();
            }
            if (n > 0) {
                admitted.put(p, records.subList(0, n));
            }
            if (n < records.size()) {
                ConsumerRecord<byte[], byte[]> first = records.get(n);
                OffsetAndMetadata at = new OffsetAndMetadata(first.offset(), first.leaderEpoch(), "");
                held.put(p, first);
                super.seek(p, at);
                super.pause(List.of(p));
                next.put(p, at);
            }
        }
        return new ConsumerRecords<>(admitted, next);
    }

    private void releaseAdmitted() {
        pausedByStreams.retainAll(super.paused());
        Set<TopicPartition> assigned = super.assignment();
        for (Iterator<Map.Entry<TopicPartition, ConsumerRecord<byte[], byte[]>>> it = held.entrySet().iterator();
             it.hasNext(); ) {
            Map.Entry<TopicPartition, ConsumerRecord<byte[], byte[]>> h = it.next();
            if (!assigned.contains(h.getKey())) {
                it.remove();
            } else if (gate.admits(h.getValue().value())) {
                it.remove();
                resumeUnlessStreamsPaused(h.getKey());
            }
        }
    }

    private void release(TopicPartition p) {
        if (held.remove(p) != null) {
            resumeUnlessStreamsPaused(p);
        }
    }

    private void resumeUnlessStreamsPaused(TopicPartition p) {
        if (!pausedByStreams.contains(p)) {
            super.resume(List.of(p));
        }
    }

    @Override
    public void pause(Collection<TopicPartition> partitions) {
        pausedByStreams.addAll(partitions);
        super.pause(partitions);
    }

    @Override
    public void resume(Collection<TopicPartition> partitions) {
        pausedByStreams.removeAll(partitions);
        super.resume(partitions.stream().filter(p -> !held.containsKey(p)).toList());
    }

    @Override
    public void seek(TopicPartition partition, long offset) {
        release(partition);
        super.seek(partition, offset);
    }

    @Override
    public void seek(TopicPartition partition, OffsetAndMetadata offsetAndMetadata) {
        release(partition);
        super.seek(partition, offsetAndMetadata);
    }

    @Override
    public void seekToBeginning(Collection<TopicPartition> partitions) {
        partitions.forEach(this::release);
        super.seekToBeginning(partitions);
    }

    @Override
    public void seekToEnd(Collection<TopicPartition> partitions) {
        partitions.forEach(this::release);
        super.seekToEnd(partitions);
    }
}

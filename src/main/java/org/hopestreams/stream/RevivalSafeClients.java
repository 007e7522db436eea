package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.consumer.OffsetCommitCallback;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.streams.KafkaClientSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Kafka Streams' clients with a main consumer that keeps exactly-once recovery from skipping input
 * (issue 9; see docs/streaming.md, "Task revival").
 *
 * <p>Kafka Streams 4.3.1 revives a corrupted active task by closing it dirty, dropping the records it had
 * buffered, pausing its input and marking it for a seek to the committed offset when it runs again
 * ({@code TaskManager.closeDirtyAndRevive}, {@code StreamTask.addPartitionsForOffsetReset}); then the
 * stream thread asks for a rebalance ("Active tasks corrupted"). With one group member that rebalance
 * completes in the next poll, before the revived task is initialised, and {@code
 * TaskManager.handleTasksPendingInitialization} closes the revived task and creates a new one for the same
 * partitions, without the mark. The partitions stay assigned, so the new task reads on from where the
 * consumer had fetched: the dropped records are never processed (a stall when they were the end of the
 * input). Two measures here:
 * <ul>
 *   <li>when Kafka Streams asks the main consumer for the committed offsets of a task's input (it does so
 *       exactly when an active task is about to run, {@code StreamTask.resetOffsetsIfNeededAndInitializeMetadata}),
 *       every such partition that this consumer has already handed out records past the committed offset is
 *       sought back to it: under exactly-once the task's stores hold what that offset committed, and Kafka
 *       Streams itself clears a suspended task's buffer because "the consumer would re-fetch those records
 *       starting from the committed position";</li>
 *   <li>unless {@link HopeStreamsConfig#CORRUPTION_REBALANCE} is on, the rebalance asked for after a
 *       corruption is not made: without standby replicas on other instances it gives the task back to the
 *       same thread, and skipping it lets Kafka Streams revive the task in place, with its own seek.</li>
 * </ul>
 *
 * <p>{@link StreamApp} wraps the {@link GatedConsumer} of the registry gate in this consumer, not the other way
 * round: only records the gate admitted count as handed out (a record the gate holds back was never given to
 * Kafka Streams, and the gate's own seek back to it and pause do not pass through here), and the next offset the
 * gate reports for a held partition, which Kafka Streams may commit, is not a handed-out record either, so a
 * task's partition whose committed offset is that held record is left alone. A seek back to the committed offset
 * goes through the gate's {@code seek}, which ends its hold on the partition (the records are checked against
 * the registry again from there) and keeps Kafka Streams' own pauses.
 */
final class RevivalSafeClients {
    private static final Logger LOG = LoggerFactory.getLogger(RevivalSafeClients.class);
    /** The reason Kafka Streams 4.3.1 gives to {@code enforceRebalance} after an active task got corrupted. */
    static final String CORRUPTION_REBALANCE_REASON = "Active tasks corrupted";

    private RevivalSafeClients() {
    }

    /** {@code clients}, except that each main consumer of theirs is wrapped in a {@link MainConsumer}. */
    static KafkaClientSupplier supplier(KafkaClientSupplier clients, boolean corruptionRebalance) {
        return ClientSuppliers.withMainConsumer(clients,
                config -> new MainConsumer(clients.getConsumer(config), corruptionRebalance));
    }

    /** The main consumer: every call delegated, with the two measures above. Used by its stream thread only. */
    static final class MainConsumer implements Consumer<byte[], byte[]> {
        private final Consumer<byte[], byte[]> delegate;
        private final boolean corruptionRebalance;
        /** Per partition: the offset after the last record handed out since the last seek. */
        private final Map<TopicPartition, Long> handedOut = new HashMap<>();

        MainConsumer(Consumer<byte[], byte[]> delegate, boolean corruptionRebalance) {
            this.delegate = delegate;
            this.corruptionRebalance = corruptionRebalance;
        }

        @Override
        public ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            ConsumerRecords<byte[], byte[]> records = delegate.poll(timeout);
            for (TopicPartition tp : records.partitions()) {
                List<ConsumerRecord<byte[], byte[]>> l = records.records(tp);
                if (!l.isEmpty()) {
                    handedOut.merge(tp, l.get(l.size() - 1).offset() + 1, Math::max);
                }
            }
            return records;
        }

        @Override
        public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions) {
            return rewound(delegate.committed(partitions));
        }

        @Override
        public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> partitions, Duration timeout) {
            return rewound(delegate.committed(partitions, timeout));
        }

        private Map<TopicPartition, OffsetAndMetadata> rewound(Map<TopicPartition, OffsetAndMetadata> committed) {
            Set<TopicPartition> assigned = delegate.assignment();
            committed.forEach((tp, c) -> {
                Long next = handedOut.get(tp);
                if (c != null && next != null && next > c.offset() && assigned.contains(tp)) {
                    LOG.info("{}: records from offset {} to {} were fetched but not committed; reading again from {}",
                            tp, c.offset(), next - 1, c.offset());
                    seek(tp, c);
                }
            });
            return committed;
        }

        @Override
        public void enforceRebalance(String reason) {
            if (!corruptionRebalance && CORRUPTION_REBALANCE_REASON.equals(reason)) {
                LOG.debug("no rebalance after a task corruption ({}=false)", HopeStreamsConfig.CORRUPTION_REBALANCE);
                return;
            }
            delegate.enforceRebalance(reason);
        }

        @Override
        public void enforceRebalance() {
            delegate.enforceRebalance();
        }

        @Override
        public void seek(TopicPartition partition, long offset) {
            handedOut.remove(partition);
            delegate.seek(partition, offset);
        }

        @Override
        public void seek(TopicPartition partition, OffsetAndMetadata offsetAndMetadata) {
            handedOut.remove(partition);
            delegate.seek(partition, offsetAndMetadata);
        }

        @Override
        public void seekToBeginning(Collection<TopicPartition> partitions) {
            partitions.forEach(handedOut::remove);
            delegate.seekToBeginning(partitions);
        }

        @Override
        public void seekToEnd(Collection<TopicPartition> partitions) {
            partitions.forEach(handedOut::remove);
            delegate.seekToEnd(partitions);
        }

        @Override
        public Set<TopicPartition> assignment() {
            return delegate.assignment();
        }

        @Override
        public Set<String> subscription() {
            return delegate.subscription();
        }

        @Override
        public void subscribe(Collection<String> topics) {
            delegate.subscribe(topics);
        }

        @Override
        public void subscribe(Collection<String> topics, ConsumerRebalanceListener callback) {
            delegate.subscribe(topics, callback);
        }

        @Override
        public void assign(Collection<TopicPartition> partitions) {
            delegate.assign(partitions);
        }

        @Override
        public void subscribe(Pattern pattern, ConsumerRebalanceListener callback) {
            delegate.subscribe(pattern, callback);
        }

        @Override
        public void subscribe(Pattern pattern) {
            delegate.subscribe(pattern);
        }

        @Override
        public void subscribe(SubscriptionPattern pattern, ConsumerRebalanceListener callback) {
            delegate.subscribe(pattern, callback);
        }

        @Override
        public void subscribe(SubscriptionPattern pattern) {
            delegate.subscribe(pattern);
        }

        @Override
        public void unsubscribe() {
            delegate.unsubscribe();
        }

        @Override
        public void commitSync() {
            delegate.commitSync();
        }

        @Override
        public void commitSync(Duration timeout) {
            delegate.commitSync(timeout);
        }

        @Override
        public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
            delegate.commitSync(offsets);
        }

        @Override
        public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
            delegate.commitSync(offsets, timeout);
        }

        @Override
        public void commitAsync() {
            delegate.commitAsync();
        }

        @Override
        public void commitAsync(OffsetCommitCallback callback) {
            delegate.commitAsync(callback);
        }

        @Override
        public void commitAsync(Map<TopicPartition, OffsetAndMetadata> offsets, OffsetCommitCallback callback) {
            delegate.commitAsync(offsets, callback);
        }

        @Override
        public void registerMetricForSubscription(KafkaMetric metric) {
            delegate.registerMetricForSubscription(metric);
        }

        @Override
        public void unregisterMetricFromSubscription(KafkaMetric metric) {
            delegate.unregisterMetricFromSubscription(metric);
        }

        @Override
        public long position(TopicPartition partition) {
            return delegate.position(partition);
        }

        @Override
        public long position(TopicPartition partition, Duration timeout) {
            return delegate.position(partition, timeout);
        }

        @Override
        public Uuid clientInstanceId(Duration timeout) {
            return delegate.clientInstanceId(timeout);
        }

        @Override
        public Map<MetricName, ? extends Metric> metrics() {
            return delegate.metrics();
        }

        @Override
        public List<PartitionInfo> partitionsFor(String topic) {
            return delegate.partitionsFor(topic);
        }

        @Override
        public List<PartitionInfo> partitionsFor(String topic, Duration timeout) {
            return delegate.partitionsFor(topic, timeout);
        }

        @Override
        public Map<String, List<PartitionInfo>> listTopics() {
            return delegate.listTopics();
        }

        @Override
        public Map<String, List<PartitionInfo>> listTopics(Duration timeout) {
            return delegate.listTopics(timeout);
        }

        @Override
        public Set<TopicPartition> paused() {
            return delegate.paused();
        }

        @Override
        public void pause(Collection<TopicPartition> partitions) {
            delegate.pause(partitions);
        }

        @Override
        public void resume(Collection<TopicPartition> partitions) {
            delegate.resume(partitions);
        }

        @Override
        public Map<TopicPartition, OffsetAndTimestamp> offsetsForTimes(Map<TopicPartition, Long> timestamps) {
            return delegate.offsetsForTimes(timestamps);
        }

        @Override
        public Map<TopicPartition, OffsetAndTimestamp> offsetsForTimes(Map<TopicPartition, Long> timestamps,
                                                                       Duration timeout) {
            return delegate.offsetsForTimes(timestamps, timeout);
        }

        @Override
        public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions) {
            return delegate.beginningOffsets(partitions);
        }

        @Override
        public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions, Duration timeout) {
            return delegate.beginningOffsets(partitions, timeout);
        }

        @Override
        public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions) {
            return delegate.endOffsets(partitions);
        }

        @Override
        public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions, Duration timeout) {
            return delegate.endOffsets(partitions, timeout);
        }

        @Override
        public OptionalLong currentLag(TopicPartition partition) {
            return delegate.currentLag(partition);
        }

        @Override
        public ConsumerGroupMetadata groupMetadata() {
            return delegate.groupMetadata();
        }

        @Override
        public void close() {
            delegate.close();
        }

        @Override
        public void close(Duration timeout) {
            delegate.close(timeout);
        }

        @Override
        public void close(CloseOptions option) {
            delegate.close(option);
        }

        @Override
        public void wakeup() {
            delegate.wakeup();
        }
    }
}

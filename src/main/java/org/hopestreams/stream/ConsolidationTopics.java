package org.hopestreams.stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.streams.StreamsConfig;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The two topics of one model across shards, checked (and created where missing) before the application starts:
 * the consolidation topic with one partition (one consolidator), the global topic with as many partitions as the
 * input topic (partition p feeds learner task p). Both keep records by append time, so that the event times they
 * carry never make the broker's time retention delete a version before every task has read it.
 */
final class ConsolidationTopics {
    private ConsolidationTopics() {
    }

    /** Checks and creates the topics; returns the number of learner tasks (the input topic's partitions). */
    static int prepare(HopeStreamsConfig config) {
        Properties p = new Properties();
        p.putAll(config.clientProperties());
        p.putIfAbsent("default.api.timeout.ms", "60000");
        String input = config.inputTopic();
        String deltas = config.getString(HopeStreamsConfig.SHARDS_TOPIC);
        String global = config.getString(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC);
        short replicas = Short.parseShort(String.valueOf(config.streamsProperties()
                .getOrDefault(StreamsConfig.REPLICATION_FACTOR_CONFIG, "-1")).trim());
        try (Admin admin = Admin.create(p)) {
            int learners = partitions(admin, input).orElseThrow(() -> new IllegalStateException(
                    HopeStreamsConfig.SHARDS_ENABLED + "=true: the input topic '" + input + "' does not exist, so the "
                            + "number of learners is unknown; create it (or run with --create-topics) first"));
            ensure(admin, deltas, 1, replicas);
            ensure(admin, global, learners, replicas);
            return learners;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while preparing the consolidation topics", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot prepare the consolidation topics '" + deltas + "' and '" + global
                    + "': " + e.getMessage(), e);
        }
    }

    private static void ensure(Admin admin, String topic, int partitions, short replicas)
            throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
        Optional<Integer> have = partitions(admin, topic);
        if (have.isEmpty()) {
            try {
                admin.createTopics(List.of(new NewTopic(topic, Optional.of(partitions),
                        replicas < 1 ? Optional.empty() : Optional.of(replicas))
                        .configs(Map.of("message.timestamp.type", "LogAppendTime"))))
                        .all().get(60, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
                have = partitions(admin, topic);
            }
        }
        if (have.isPresent() && have.get() != partitions) {
            throw new IllegalStateException("topic '" + topic + "' has " + have.get() + " partitions, "
                    + "one model across shards needs " + partitions + (partitions == 1 ? " (one consolidator)"
                    : " (one per partition of the input topic)") + "; delete it or name another topic");
        }
    }

    private static Optional<Integer> partitions(Admin admin, String topic)
            throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
        try {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(60, TimeUnit.SECONDS)
                    .get(topic);
            return Optional.of(d.partitions().size());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return Optional.empty();
            }
            throw e;
        }
    }
}

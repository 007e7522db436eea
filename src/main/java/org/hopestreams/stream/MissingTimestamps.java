package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.processor.UsePartitionTimeOnInvalidTimestamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The timestamp extractor of every source (issue 9, "no input stops the application"): a record's own
 * timestamp, or, where it has none (-1: written by an old client or a tool that set none), the
 * partition's stream time, as Kafka Streams' {@link UsePartitionTimeOnInvalidTimestamp} does, or the
 * wall clock before the partition has one (where that class throws). Kafka Streams' default
 * ({@code FailOnInvalidTimestamp}) stops the stream thread on such a record, and its
 * {@code LogAndSkipOnInvalidTimestamp} would drop an event that may be good; Avro and JSON events carry
 * their event time in the payload anyway (ingest reads it there), so the Kafka timestamp only orders
 * stream time. Replacements are counted and logged at WARN for the first one and every 1,000th.
 */
public final class MissingTimestamps extends UsePartitionTimeOnInvalidTimestamp {
    private static final Logger LOG = LoggerFactory.getLogger(MissingTimestamps.class);
    private static final AtomicLong REPLACED = new AtomicLong();

    @Override
    public long onInvalidTimestamp(ConsumerRecord<Object, Object> record, long recordTimestamp, long partitionTime) {
        long replaced = REPLACED.incrementAndGet();
        long now = partitionTime >= 0 ? partitionTime : System.currentTimeMillis();
        if (replaced == 1 || replaced % 1000 == 0) {
            LOG.warn("{}-{}@{} has no timestamp ({}): it takes {} ({}); {} such records so far", record.topic(),
                    record.partition(), record.offset(), recordTimestamp, now, partitionTime >= 0
                            ? "the partition's stream time" : "the wall clock, the partition has no stream time yet",
                    replaced);
        }
        return now;
    }

    /** Records given a timestamp here since the JVM started. */
    public static long replaced() {
        return REPLACED.get();
    }
}

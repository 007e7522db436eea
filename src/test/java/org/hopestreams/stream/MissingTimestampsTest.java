package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MissingTimestampsTest {
    private static ConsumerRecord<Object, Object> at(long timestamp) {
        return new ConsumerRecord<>("in", 0, 7, timestamp, org.apache.kafka.common.record.TimestampType.CREATE_TIME,
                0, 0, null, null, new org.apache.kafka.common.header.internals.RecordHeaders(), java.util.Optional.empty());
    }

    @Test
    void aRecordsOwnTimestampWinsAndAMissingOneTakesStreamTimeOrTheWallClock() {
        MissingTimestamps x = new MissingTimestamps();
        assertEquals(5L, x.extract(at(5), 100));
        assertEquals(0L, x.extract(at(0), 100), "1970-01-01 is a timestamp");
        assertEquals(100L, x.extract(at(-1), 100), "the partition's stream time");
        long before = System.currentTimeMillis();
        long t = x.extract(at(-1), -1);
        assertTrue(t >= before && t <= System.currentTimeMillis(), "the wall clock before the partition has a stream time");
    }
}

package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The main consumer of {@link RevivalSafeClients}; end to end: {@link TaskRevivalIntegrationTest}. */
class RevivalSafeClientsTest {
    private static final TopicPartition TP = new TopicPartition("app-by-key-repartition", 0);

    private static MockConsumer<byte[], byte[]> consumerWithTenRecords() {
        return withTenRecords(new MockConsumer<>("earliest"));
    }

    private static <C extends MockConsumer<byte[], byte[]>> C withTenRecords(C mock) {
        mock.assign(List.of(TP));
        mock.updateBeginningOffsets(Map.of(TP, 0L));
        for (int i = 0; i < 10; i++) {
            mock.addRecord(new ConsumerRecord<>(TP.topic(), TP.partition(), i, new byte[0], new byte[] {(byte) i}));
        }
        return mock;
    }

    @Test
    void aTaskAboutToRunReadsAgainFromTheCommittedOffsetWhatWasFetchedPastIt() {
        MockConsumer<byte[], byte[]> mock = consumerWithTenRecords();
        var consumer = new RevivalSafeClients.MainConsumer(mock, false);
        assertEquals(10, consumer.poll(Duration.ZERO).count());
        mock.commitSync(Map.of(TP, new OffsetAndMetadata(4)));

        assertEquals(4, consumer.committed(Set.of(TP)).get(TP).offset());
        assertEquals(4, mock.position(TP), "sought back to the committed offset");
    }

    @Test
    void aPositionAtTheCommittedOffsetIsLeftAlone() {
        MockConsumer<byte[], byte[]> mock = consumerWithTenRecords();
        var consumer = new RevivalSafeClients.MainConsumer(mock, false);
        consumer.poll(Duration.ZERO);
        mock.commitSync(Map.of(TP, new OffsetAndMetadata(10)));
        consumer.seek(TP, 7);

        consumer.committed(Set.of(TP));
        assertEquals(7, mock.position(TP), "nothing handed out since the last seek");
    }

    /**
     * The registry gate's side of the main consumer, as {@link GatedConsumer} does it: records from offset 5 on are
     * held back (the consumer seeks back to 5, pauses the partition and reports 5 as its next offset); a seek from
     * outside ends the hold.
     */
    private static final class HoldingFromFive extends MockConsumer<byte[], byte[]> {
        HoldingFromFive() {
            super("earliest");
        }

        @Override
        public synchronized ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            List<ConsumerRecord<byte[], byte[]>> admitted = super.poll(timeout).records(TP).stream()
                    .filter(r -> r.offset() < 5).toList();
            super.seek(TP, 5);
            super.pause(List.of(TP));
            return new ConsumerRecords<>(Map.of(TP, admitted), Map.of(TP, new OffsetAndMetadata(5)));
        }

        @Override
        public synchronized void seek(TopicPartition partition, long offset) {
            super.resume(List.of(partition));
            super.seek(partition, offset);
        }

        @Override
        public synchronized void seek(TopicPartition partition, OffsetAndMetadata offset) {
            seek(partition, offset.offset());
        }
    }

    @Test
    void aPartitionTheGateHoldsIsLeftHeldAtTheCommittedHeldRecord() {
        HoldingFromFive gated = withTenRecords(new HoldingFromFive());
        var consumer = new RevivalSafeClients.MainConsumer(gated, false);
        assertEquals(5, consumer.poll(Duration.ZERO).count());
        gated.commitSync(Map.of(TP, new OffsetAndMetadata(5)));

        consumer.committed(Set.of(TP));
        assertEquals(5, gated.position(TP));
        assertEquals(Set.of(TP), gated.paused(), "the held records were never handed out: the hold stays");
    }

    @Test
    void aRewindPastWhatTheGateAdmittedEndsTheHold() {
        HoldingFromFive gated = withTenRecords(new HoldingFromFive());
        var consumer = new RevivalSafeClients.MainConsumer(gated, false);
        consumer.poll(Duration.ZERO);
        gated.commitSync(Map.of(TP, new OffsetAndMetadata(3)));

        consumer.committed(Set.of(TP));
        assertEquals(3, gated.position(TP), "sought back to the committed offset");
        assertEquals(Set.of(), gated.paused(), "through the gate's seek, which releases the partition");
    }

    @Test
    void theCorruptionRebalanceIsSkippedUnlessConfigured() {
        MockConsumer<byte[], byte[]> mock = consumerWithTenRecords();
        new RevivalSafeClients.MainConsumer(mock, false).enforceRebalance(RevivalSafeClients.CORRUPTION_REBALANCE_REASON);
        assertFalse(mock.shouldRebalance());
        new RevivalSafeClients.MainConsumer(mock, false).enforceRebalance("triggered followup rebalance scheduled for 0");
        assertTrue(mock.shouldRebalance(), "other rebalances go through");

        mock.resetShouldRebalance();
        new RevivalSafeClients.MainConsumer(mock, true).enforceRebalance(RevivalSafeClients.CORRUPTION_REBALANCE_REASON);
        assertTrue(mock.shouldRebalance());
    }
}

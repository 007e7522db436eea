package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
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
        MockConsumer<byte[], byte[]> mock = new MockConsumer<>("earliest");
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

package org.hopestreams.stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.streams.KafkaClientSupplier;

import java.util.Map;
import java.util.function.Function;

/** Kafka clients for Kafka Streams that differ only in the stream threads' main consumer. */
final class ClientSuppliers {
    private ClientSuppliers() {
    }

    /** {@code clients}, except that each main consumer is {@code main} applied to its configuration. */
    static KafkaClientSupplier withMainConsumer(KafkaClientSupplier clients,
                                                Function<Map<String, Object>, Consumer<byte[], byte[]>> main) {
        return new KafkaClientSupplier() {
            @Override
            public Admin getAdmin(Map<String, Object> config) {
                return clients.getAdmin(config);
            }

            @Override
            public Producer<byte[], byte[]> getProducer(Map<String, Object> config) {
                return clients.getProducer(config);
            }

            @Override
            public Consumer<byte[], byte[]> getConsumer(Map<String, Object> config) {
                return main.apply(config);
            }

            @Override
            public Consumer<byte[], byte[]> getRestoreConsumer(Map<String, Object> config) {
                return clients.getRestoreConsumer(config);
            }

            @Override
            public Consumer<byte[], byte[]> getGlobalConsumer(Map<String, Object> config) {
                return clients.getGlobalConsumer(config);
            }
        };
    }
}

package org.hopestreams.registry;

import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

import java.util.Map;

/**
 * The Avro serde of the Confluent Schema Registry API ({@code hope.registry.api=confluent}): a
 * {@link ConfluentAvroSerializer} and a {@link ConfluentAvroDeserializer} sharing one {@link ConfluentRegistryClient}
 * (and so its caches). Configured once (later calls are ignored), with the application's serde configuration (see {@link RegistryClientConfig}).
 */
public final class ConfluentAvroSerde implements Serde<Object> {
    private ConfluentRegistryClient client;
    private ConfluentAvroSerializer<Object> serializer;
    private ConfluentAvroDeserializer<Object> deserializer;

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        if (client != null) {
            return;   // configured once: a second configure would drop the caches the registry gate filled
        }
        client = new ConfluentRegistryClient(RegistryClientConfig.from(configs));
        serializer = new ConfluentAvroSerializer<>(client);
        serializer.configure(configs, isKey);
        deserializer = new ConfluentAvroDeserializer<>(client, false);
        deserializer.configure(configs, isKey);
    }

    /** The registry client (set by {@link #configure}). */
    public ConfluentRegistryClient client() {
        return client;
    }

    @Override
    public Serializer<Object> serializer() {
        return serializer;
    }

    @Override
    public Deserializer<Object> deserializer() {
        return deserializer;
    }
}

package org.hopestreams.stream;

import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.hopestreams.avro.TextEvent;

import java.util.HashMap;
import java.util.Map;

/** A standard Kafka producer of TextEvents (schema registered on first use), as a user runs one. */
public final class TextEventProducer {
    private TextEventProducer() {
    }

    /**
     * A producer with the application's own Avro serializer ({@link HopeTopology#avroSerde}: the serde of
     * {@value HopeStreamsConfig#REGISTRY_API}, with the registry URL, credentials and trust store of {@code config}).
     *
     * @param extra further producer settings (e.g. linger.ms); may be empty
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static KafkaProducer<String, TextEvent> create(HopeStreamsConfig config, Map<String, Object> extra) {
        org.apache.kafka.common.serialization.Serializer ser = HopeTopology.avroSerde(config).serializer();
        // the cluster's address and security settings (security.protocol, sasl.*, ssl.*) as the application's
        Map<String, Object> props = new HashMap<>(config.clientProperties());
        props.putAll(extra);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<String, TextEvent>(props, new StringSerializer(), ser);
    }

    /**
     * A producer with Apicurio's Avro serializer, which speaks Apicurio's v3 API ({@code registryUrl} .../apis/registry/v3).
     *
     * @param extra further producer settings (e.g. linger.ms); may be empty
     */
    public static KafkaProducer<String, TextEvent> create(String bootstrap, String registryUrl, Map<String, Object> extra) {
        AvroKafkaSerializer<TextEvent> ser = new AvroKafkaSerializer<>();
        ser.configure(Map.of("apicurio.registry.url", registryUrl, "apicurio.registry.auto-register", true), false);
        Map<String, Object> props = new HashMap<>(extra);
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(props, new StringSerializer(), ser);
    }
}

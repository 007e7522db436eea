package org.hopestreams.stream;

import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import org.hopestreams.avro.TextEvent;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * A standard Kafka producer of TextEvents (schema registered on first use), as a user runs one.
 *
 * <p>One request in flight per connection ({@link #IN_FLIGHT}): with several, the idempotent producer's first batch to a
 * partition the broker has not opened yet (a topic just created) is refused and retried while a later batch is
 * already accepted; the broker, which takes any first sequence from an idempotent producer it has no state for,
 * then refuses the retried first batch as out of order until the delivery timeout, and its records are lost (seen
 * in CrashRecoveryTest: the first 17 of 241 events never arrived, "0 (incoming seq. number), 240 (current end
 * sequence number)"). Callers check every send ({@link #sendAll}).
 */
public final class TextEventProducer {
    /** Requests in flight per connection, unless {@code extra} says otherwise (see the class comment). */
    public static final int IN_FLIGHT = 1;

    private TextEventProducer() {
    }

    /**
     * Sends every record, waits until each is acknowledged and returns where each went; a record the broker refused
     * fails the call with the topic, how many records of how many failed and the first reason (never a silent loss).
     */
    public static <K, V> List<RecordMetadata> sendAll(Producer<K, V> producer, List<ProducerRecord<K, V>> records) {
        List<Future<RecordMetadata>> sent = new ArrayList<>(records.size());
        for (ProducerRecord<K, V> r : records) {
            sent.add(producer.send(r));
        }
        producer.flush();
        List<RecordMetadata> out = new ArrayList<>(records.size());
        Throwable first = null;
        int failed = 0;
        for (Future<RecordMetadata> f : sent) {
            try {
                out.add(f.get());
            } catch (ExecutionException e) {
                failed++;
                first = first == null ? e.getCause() : first;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while sending", e);
            }
        }
        if (failed > 0) {
            throw new IllegalStateException(failed + " of " + records.size() + " records to "
                    + records.get(0).topic() + " were not written: " + first, first);
        }
        return out;
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
        props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, IN_FLIGHT);
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
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, IN_FLIGHT);
        props.putAll(extra);
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(props, new StringSerializer(), ser);
    }
}

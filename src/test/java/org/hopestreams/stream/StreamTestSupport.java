package org.hopestreams.stream;

import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.avro.TextEvent;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

/** Shared pieces of the tests that run the application on a real broker and registry. */
public final class StreamTestSupport {
    private StreamTestSupport() {
    }

    /** A small, fast, reproducible configuration: tiny model, no warm-up, stream-time windows and checkpoints. */
    public static Map<String, Object> appConfig(String bootstrap, String registryUrl, String appId, Path stateDir) {
        Map<String, Object> m = new HashMap<>();
        m.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        m.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        m.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "1");
        m.put(HopeStreamsConfig.REGISTRY_URL, registryUrl);
        m.put(HopeStreamsConfig.MODEL_PRESET, "tiny");
        m.put(HopeStreamsConfig.WARMUP_RECORDS, "0");
        m.put(HopeStreamsConfig.WINDOW_MS, "1000");
        m.put(HopeStreamsConfig.CHECKPOINT_CLOCK, "stream");
        m.put(HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, "5000");
        m.put(HopeStreamsConfig.RECORD_MAX_BYTES, "128");
        m.put(HopeStreamsConfig.CHECKPOINTS_KEEP, "3");
        return m;
    }

    public static Map<String, Object> serdeConfig(String registryUrl) {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("apicurio.registry.url", registryUrl);
        cfg.put("apicurio.registry.auto-register", true);
        cfg.put("apicurio.registry.use-specific-avro-reader", true);
        return cfg;
    }

    public static TextEvent event(String id, String key, String text, long eventTime) {
        return TextEvent.newBuilder().setId(id).setKey(key).setText(text).setEventTime(Instant.ofEpochMilli(eventTime))
                .setAttributes(Map.of()).build();
    }

    /** Writes the events with a standard producer and the Apicurio Avro serializer, keyed by context key. */
    public static void produce(String bootstrap, String registryUrl, String topic, List<TextEvent> events) {
        AvroKafkaSerializer<TextEvent> ser = new AvroKafkaSerializer<>();
        ser.configure(serdeConfig(registryUrl), false);
        try (KafkaProducer<String, TextEvent> p = new KafkaProducer<>(producerProps(bootstrap), new StringSerializer(),
                ser)) {
            for (TextEvent e : events) {
                p.send(new ProducerRecord<>(topic, e.getKey(), e));
            }
            p.flush();
        }
    }

    public static void produceRaw(String bootstrap, String topic, byte[] key, byte[] value) {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerProps(bootstrap), new ByteArraySerializer(),
                new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(topic, key, value));
            p.flush();
        }
    }

    static Map<String, Object> producerProps(String bootstrap) {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        return props;
    }

    public static <V> Deserializer<V> avroDeserializer(String registryUrl) {
        AvroKafkaDeserializer<V> d = new AvroKafkaDeserializer<>();
        d.configure(serdeConfig(registryUrl), false);
        return d;
    }

    /** Reads {@code topic} with read_committed until {@code done} holds for what was read, or the deadline. */
    public static <K, V> List<ConsumerRecord<K, V>> readCommitted(String bootstrap, String topic, Deserializer<K> kd,
                                                                 Deserializer<V> vd, Duration deadline,
                                                                 Predicate<List<ConsumerRecord<K, V>>> done) {
        Map<String, Object> props = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "test-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<K, V>> out = new ArrayList<>();
        try (KafkaConsumer<K, V> consumer = new KafkaConsumer<>(props, kd, vd)) {
            consumer.subscribe(List.of(topic));
            long end = System.nanoTime() + deadline.toNanos();
            while (!done.test(out) && System.nanoTime() < end) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    public static List<ConsumerRecord<String, Object>> readAvro(String bootstrap, String registryUrl, String topic,
                                                                int expected, Duration deadline) {
        return readCommitted(bootstrap, topic, new StringDeserializer(), avroDeserializer(registryUrl), deadline,
                l -> l.size() >= expected);
    }

    public static List<ConsumerRecord<byte[], byte[]>> readBytes(String bootstrap, String topic, int expected,
                                                                 Duration deadline) {
        return readCommitted(bootstrap, topic, new ByteArrayDeserializer(), new ByteArrayDeserializer(), deadline,
                l -> l.size() >= expected);
    }
}

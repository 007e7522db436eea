package org.hopestreams.stream;

import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.avro.TextEvent;

import java.nio.ByteBuffer;
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

    /** A real broker and a real registry, started together (the registry is a child process). */
    public record Infra(org.hopestreams.embedded.EmbeddedKafka kafka, org.hopestreams.embedded.EmbeddedRegistry registry) {
        public static Infra start() throws Exception {
            return start(Map.of());
        }

        /** @param brokerOverrides broker settings over {@link org.hopestreams.embedded.EmbeddedKafka#SINGLE_NODE_DEFAULTS} */
        public static Infra start(Map<String, ?> brokerOverrides) throws Exception {
            java.util.concurrent.CompletableFuture<org.hopestreams.embedded.EmbeddedRegistry> r =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        try {
                            return org.hopestreams.embedded.EmbeddedRegistry.builder().start();
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
            return new Infra(org.hopestreams.embedded.EmbeddedKafka.start(brokerOverrides), r.join());
        }

        public static void stop(org.hopestreams.embedded.EmbeddedKafka kafka,
                                org.hopestreams.embedded.EmbeddedRegistry registry) throws Exception {
            if (registry != null) {
                registry.close();
            }
            if (kafka != null) {
                kafka.close();
            }
        }
    }

    /**
     * A real broker and registry for a test class: {@code @RegisterExtension static final Servers SERVERS = new
     * Servers();} starts both before the class's tests and stops them after.
     */
    public static final class Servers implements org.junit.jupiter.api.extension.BeforeAllCallback,
            org.junit.jupiter.api.extension.AfterAllCallback {
        private final Map<String, ?> brokerOverrides;
        private Infra infra;

        public Servers() {
            this(Map.of());
        }

        /** @param brokerOverrides broker settings over {@link org.hopestreams.embedded.EmbeddedKafka#SINGLE_NODE_DEFAULTS} */
        public Servers(Map<String, ?> brokerOverrides) {
            this.brokerOverrides = brokerOverrides;
        }

        @Override
        public void beforeAll(org.junit.jupiter.api.extension.ExtensionContext context) throws Exception {
            infra = Infra.start(brokerOverrides);
        }

        @Override
        public void afterAll(org.junit.jupiter.api.extension.ExtensionContext context) throws Exception {
            if (infra != null) {
                Infra.stop(infra.kafka(), infra.registry());
            }
        }

        public org.hopestreams.embedded.EmbeddedKafka kafka() {
            return infra.kafka();
        }

        public org.hopestreams.embedded.EmbeddedRegistry registry() {
            return infra.registry();
        }
    }

    /** A real registry (no broker) for a test class, started before its tests and stopped after. */
    public static final class Registry implements org.junit.jupiter.api.extension.BeforeAllCallback,
            org.junit.jupiter.api.extension.AfterAllCallback {
        private org.hopestreams.embedded.EmbeddedRegistry registry;

        @Override
        public void beforeAll(org.junit.jupiter.api.extension.ExtensionContext context) throws Exception {
            registry = org.hopestreams.embedded.EmbeddedRegistry.builder().start();
        }

        @Override
        public void afterAll(org.junit.jupiter.api.extension.ExtensionContext context) {
            if (registry != null) {
                registry.close();
            }
        }

        public String apiUrl() {
            return registry.apiUrl();
        }
    }

    /** A small, fast, reproducible configuration: tiny model, no warm-up, stream-time windows and checkpoints. */
    public static Map<String, Object> appConfig(String bootstrap, String registryUrl, String appId, Path stateDir) {
        Map<String, Object> m = new HashMap<>();
        m.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        m.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        m.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "1");
        m.put(HopeStreamsConfig.REGISTRY_URL, registryUrl);
        m.put(HopeStreamsConfig.REGISTRY_API, api(registryUrl));
        m.put(HopeStreamsConfig.MODEL_PRESET, "tiny");
        m.put(HopeStreamsConfig.WARMUP_RECORDS, "0");
        m.put(HopeStreamsConfig.WINDOW_MS, "1000");
        m.put(HopeStreamsConfig.CHECKPOINT_CLOCK, "stream");
        m.put(HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, "5000");
        m.put(HopeStreamsConfig.RECORD_MAX_BYTES, "128");
        m.put(HopeStreamsConfig.CHECKPOINTS_KEEP, "3");
        m.put(HopeStreamsConfig.HTTP_PORT, "0");
        // health and metrics on the API port: the tests of the management server set their own
        m.put(HopeStreamsConfig.HTTP_MANAGEMENT_PORT, "-1");
        return m;
    }

    /** The API a test's registry URL names: confluent for Apicurio's /apis/ccompat/v7, apicurio for its v3 API. */
    public static String api(String registryUrl) {
        return registryUrl.contains("/apis/registry/") ? "apicurio" : "confluent";
    }

    /** The application's four topics under one prefix: PREFIX.events, .learning, .checkpoints, .dlq. */
    public static void topics(Map<String, Object> m, String prefix) {
        m.put(HopeStreamsConfig.INPUT_TOPIC, prefix + ".events");
        m.put(HopeStreamsConfig.LEARNING_TOPIC, prefix + ".learning");
        m.put(HopeStreamsConfig.CHECKPOINTS_TOPIC, prefix + ".checkpoints");
        m.put(HopeStreamsConfig.DLQ_TOPIC, prefix + ".dlq");
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

    /**
     * {@code n} short events (under 128 bytes of text, so one record each at {@link #appConfig}'s record size)
     * with ids ev-0, ev-1, ..., keys taken in turn from {@code keys}, event times {@code stepMs} apart from
     * {@code t0}.
     */
    public static List<TextEvent> shortEvents(int n, List<String> keys, long t0, long stepMs) {
        List<TextEvent> events = new ArrayList<>();
        String[] words = {"river", "quartz", "lantern", "meadow", "copper", "harbor", "violet", "summit"};
        for (int i = 0; i < n; i++) {
            String key = keys.get(i % keys.size());
            String text = "entry " + i + " of " + key + ": the " + words[i % words.length] + " near the "
                    + words[(i * 3 + 1) % words.length] + " is " + (i * 37 % 101) + " steps away.";
            events.add(event("ev-" + i, key, text, t0 + stepMs * i));
        }
        return events;
    }

    /** Writes the events with a standard producer and the Apicurio Avro serializer, keyed by context key. */
    public static void produce(String bootstrap, String registryUrl, String topic, List<TextEvent> events) {
        try (KafkaProducer<String, TextEvent> p = TextEventProducer.create(bootstrap, registryUrl, Map.of())) {
            TextEventProducer.sendAll(p, events.stream().map(e -> new ProducerRecord<>(topic, e.getKey(), e)).toList());
        }
    }

    /** Writes Avro records of any schema (e.g. a later TextEvent version) with the Apicurio serializer, keyed by 'key'. */
    public static void produceGeneric(String bootstrap, String registryUrl, String topic, List<GenericRecord> records) {
        AvroKafkaSerializer<GenericRecord> ser = new AvroKafkaSerializer<>();
        ser.configure(serdeConfig(registryUrl), false);
        try (KafkaProducer<String, GenericRecord> p = new KafkaProducer<>(producerProps(bootstrap),
                new StringSerializer(), ser)) {
            TextEventProducer.sendAll(p, records.stream()
                    .map(r -> new ProducerRecord<>(topic, r.get("key").toString(), r)).toList());
        }
    }

    /**
     * TextEvent v2: the generated class's schema (v1) plus {@code language} (string, default "und"), as a later
     * producer might write it; a BACKWARD-compatible change.
     */
    public static Schema textEventV2() {
        return withField(TextEvent.getClassSchema(),
                new Schema.Field("language", Schema.create(Schema.Type.STRING), "ISO language code (added in v2)", "und"));
    }

    /** {@code base} with {@code extra} appended (same name, namespace and doc). */
    public static Schema withField(Schema base, Schema.Field extra) {
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : base.getFields()) {
            fields.add(new Schema.Field(f, f.schema()));
        }
        fields.add(extra);
        return Schema.createRecord(base.getName(), base.getDoc(), base.getNamespace(), false, fields);
    }

    /** The registry id in a value of the Confluent wire format (magic byte 0, 4-byte id, Avro binary). */
    public static int schemaId(byte[] value) {
        if (value == null || value.length < 5 || value[0] != 0) {
            throw new IllegalArgumentException("not in the registry wire format");
        }
        return ByteBuffer.wrap(value, 1, 4).getInt();
    }

    /** A header's value as UTF-8, or null when the record has none of that name. */
    public static String header(ConsumerRecord<?, ?> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8);
    }

    public static void produceRaw(String bootstrap, String topic, byte[] key, byte[] value) {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerProps(bootstrap), new ByteArraySerializer(),
                new ByteArraySerializer())) {
            TextEventProducer.sendAll(p, List.of(new ProducerRecord<>(topic, key, value)));
        }
    }

    /**
     * Writes one record, with {@code headers} (name, UTF-8 value pairs), and returns where the broker put it: the
     * partition and offset that a dead letter of it must name.
     */
    public static org.apache.kafka.clients.producer.RecordMetadata send(String bootstrap, String topic, Integer partition,
                                                                         byte[] key, byte[] value, String... headers)
            throws Exception {
        List<org.apache.kafka.common.header.Header> h = new ArrayList<>();
        for (int i = 0; i < headers.length; i += 2) {
            h.add(new org.apache.kafka.common.header.internals.RecordHeader(headers[i],
                    headers[i + 1].getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(producerProps(bootstrap), new ByteArraySerializer(),
                new ByteArraySerializer())) {
            return p.send(new ProducerRecord<>(topic, partition, key, value, h)).get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** {@code record} (a TextEvent or any Avro record) as the Apicurio serializer writes it for {@code topic}. */
    public static byte[] avroBytes(String registryUrl, String topic, Object record) {
        try (AvroKafkaSerializer<Object> ser = new AvroKafkaSerializer<>()) {
            ser.configure(serdeConfig(registryUrl), false);
            return ser.serialize(topic, record);
        }
    }

    public static byte[] utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    static Map<String, Object> producerProps(String bootstrap) {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, TextEventProducer.IN_FLIGHT);
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

    /**
     * Everything committed in {@code topic} right now: reads with read_committed from the beginning up to the last
     * stable offset of every partition (so an empty answer means nothing committed, not "not read yet").
     */
    public static List<ConsumerRecord<byte[], byte[]>> readAllCommitted(String bootstrap, String topic,
                                                                      Duration deadline) {
        Map<String, Object> props = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic, deadline).stream()
                    .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts, deadline);
            long until = System.nanoTime() + deadline.toNanos();
            while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                if (System.nanoTime() > until) {
                    throw new IllegalStateException("could not read " + topic + " up to " + end + " in " + deadline);
                }
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

package org.hopestreams.embedded;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.apicurio.registry.serde.avro.AvroDatumProvider;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.hopestreams.avro.TextEvent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Integration test of the embedded infrastructure: a real in-JVM KRaft broker ({@link EmbeddedKafka}) and a real
 * Apicurio Registry child process ({@link EmbeddedRegistry}), both started once for the class. Standard Kafka clients
 * with the Apicurio Avro serde write and read the generated {@link TextEvent} in the Confluent wire format.
 *
 * <p>Needs the registry distribution unpacked by the build ({@code mvn -B process-resources}); surefire passes its
 * folder as {@code -Dapicurio.registry.home}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EmbeddedInfraTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Duration POLL_DEADLINE = Duration.ofSeconds(30);

    /** TextEvent v2: v1 (the generated class's schema) plus a field with a default, as a later producer might add. */
    static final Schema TEXT_EVENT_V2 = v2Schema();

    private EmbeddedKafka kafka;
    private EmbeddedRegistry registry;

    @BeforeAll
    void startInfrastructure() throws Exception {
        // sequential: on 2 cores, starting both in parallel is not faster (see FINDINGS.md)
        long t0 = System.nanoTime();
        kafka = EmbeddedKafka.start();
        registry = EmbeddedRegistry.builder().start();
        System.out.printf("[timing] broker start %d ms, registry start %d ms, both %d ms%n",
                kafka.startupTime().toMillis(), registry.startupTime().toMillis(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    @AfterAll
    void stopInfrastructure() throws Exception {
        try {
            if (registry != null) {
                registry.close();   // idempotent: normally already closed by the last test
            }
        } finally {
            if (kafka != null) {
                kafka.close();
            }
        }
    }

    // ------------------------------------------------------------------ Confluent wire format, generated class

    @Test
    @Order(1)
    void generatedTextEventRoundTripsInConfluentWireFormat() throws Exception {
        String topic = "hope.events";
        kafka.createTopics(1, topic);
        TextEvent event = TextEvent.newBuilder()
                .setId("e-1")
                .setKey("doc-1")
                .setText("Hello, continual learner!")
                .setEventTime(Instant.ofEpochMilli(1_700_000_000_123L))
                .setAttributes(Map.of("lang", "en", "source", "test"))
                .build();

        // a standard (here transactional) producer with the Apicurio Avro serializer
        Map<String, Object> producerProps = producerProps();
        producerProps.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "text-events-" + UUID.randomUUID());
        try (KafkaProducer<String, TextEvent> producer =
                     new KafkaProducer<>(producerProps, new StringSerializer(), serializer())) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, event.getKey(), event));
            producer.commitTransaction();
        }

        // read_committed consumer + Apicurio deserializer decodes it into the generated class
        ConsumerRecord<String, TextEvent> decoded = consume(topic, 1, new StringDeserializer(),
                specificDeserializer()).get(0);
        assertEquals("doc-1", decoded.key());
        assertEquals(event, decoded.value());

        // raw bytes: 0x00 | 4-byte big-endian id | Avro binary; no Apicurio headers
        ConsumerRecord<byte[], byte[]> raw = consume(topic, 1, new ByteArrayDeserializer(), new ByteArrayDeserializer()).get(0);
        byte[] bytes = raw.value();
        assertEquals(0, bytes[0], "magic byte");
        int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
        assertEquals(0, raw.headers().toArray().length, "ids travel in the payload, not in headers");

        // the id resolves the way a Confluent deserializer resolves it
        JsonNode byId = getJson(registry.ccompatUrl() + "/schemas/ids/" + id);
        Schema writerSchema = new Schema.Parser().parse(byId.get("schema").asText());
        assertEquals(TextEvent.getClassSchema(), writerSchema);
        assertEquals(id, getJson(registry.ccompatUrl() + "/subjects/" + topic + "-value/versions/latest")
                .get("id").asInt(), "TopicIdStrategy subject <topic>-value has the same id");
        // and the rest is plain Avro binary
        GenericRecord plain = new GenericDatumReader<GenericRecord>(writerSchema).read(null,
                DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null));
        assertEquals("Hello, continual learner!", plain.get("text").toString());
        assertEquals(1_700_000_000_123L, plain.get("eventTime"));
        System.out.printf("[serde] wire bytes %s... id=%d%n", hex(bytes, 8), id);
    }

    // ------------------------------------------------------------------ schema evolution

    @Test
    @Order(2)
    void v2DataIsReadWithTheGeneratedV1ReaderSchema() throws Exception {
        String topic = "evolution.v2-written";
        kafka.createTopics(1, topic);
        GenericRecord v2 = new GenericData.Record(TEXT_EVENT_V2);
        v2.put("id", "e-2");
        v2.put("key", "doc-2");
        v2.put("text", "written by a v2 producer");
        v2.put("eventTime", 1_700_000_000_456L);
        v2.put("attributes", Map.of("k", "v"));
        v2.put("language", "de");
        try (KafkaProducer<String, GenericRecord> producer =
                     new KafkaProducer<>(producerProps(), new StringSerializer(), serializer())) {
            producer.send(new ProducerRecord<>(topic, "doc-2", v2)).get();
        }

        TextEvent v1 = consume(topic, 1, new StringDeserializer(), specificDeserializer()).get(0).value();
        assertEquals(new TextEvent("e-2", "doc-2", "written by a v2 producer", Instant.ofEpochMilli(1_700_000_000_456L),
                Map.of("k", "v")), v1);
    }

    @Test
    @Order(3)
    void v1DataIsReadWithTheV2ReaderSchema() throws Exception {
        String topic = "evolution.v1-written";
        kafka.createTopics(1, topic);
        TextEvent v1 = new TextEvent("e-3", "doc-3", "written by a v1 producer", Instant.ofEpochMilli(1_700_000_000_789L),
                Map.of());
        try (KafkaProducer<String, TextEvent> producer =
                     new KafkaProducer<>(producerProps(), new StringSerializer(), serializer())) {
            producer.send(new ProducerRecord<>(topic, "doc-3", v1)).get();
        }

        Map<String, Object> cfg = serdeConfig();
        cfg.put("apicurio.registry.avro-datum-provider", V2ReaderDatumProvider.class.getName());
        AvroKafkaDeserializer<GenericRecord> v2Deserializer = new AvroKafkaDeserializer<>();
        v2Deserializer.configure(cfg, false);
        GenericRecord v2 = consume(topic, 1, new StringDeserializer(), v2Deserializer).get(0).value();
        assertEquals(TEXT_EVENT_V2, v2.getSchema());
        assertEquals("written by a v1 producer", v2.get("text").toString());
        assertEquals(1_700_000_000_789L, v2.get("eventTime"));
        assertTrue(((Map<?, ?>) v2.get("attributes")).isEmpty());
        assertEquals("und", v2.get("language").toString(), "the v2 field's default fills in for v1 data");
    }

    // ------------------------------------------------------------------ lifecycle

    @Test
    @Order(Integer.MAX_VALUE)
    void registryStopsAndLeavesNoChildProcess() {
        ProcessHandle server = registry.processHandle();
        assertTrue(server.isAlive());
        long t0 = System.nanoTime();
        registry.close();
        System.out.printf("[timing] registry stop %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        assertFalse(server.isAlive(), "registry pid " + server.pid() + " still alive");
        assertFalse(registry.isAlive());
        assertTrue(ProcessHandle.current().descendants().noneMatch(ProcessHandle::isAlive),
                "child processes left: " + ProcessHandle.current().descendants().map(ProcessHandle::pid).toList());
    }

    // ------------------------------------------------------------------ helpers

    /** Confluent wire format; the serde 3.1.x defaults already match, set explicitly for clarity. */
    private Map<String, Object> serdeConfig() {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("apicurio.registry.url", registry.apiUrl());
        cfg.put("apicurio.registry.id-handler", "io.apicurio.registry.serde.Default4ByteIdHandler");
        cfg.put("apicurio.registry.use-id", "contentId");
        cfg.put("apicurio.registry.headers.enabled", false);
        cfg.put("apicurio.registry.auto-register", true);
        return cfg;
    }

    private <T> Serializer<T> serializer() {
        AvroKafkaSerializer<T> s = new AvroKafkaSerializer<>();
        s.configure(serdeConfig(), false);
        return s;
    }

    /** Reads into the generated class: its schema (v1) is the reader schema, the registry's the writer schema. */
    private Deserializer<TextEvent> specificDeserializer() {
        Map<String, Object> cfg = serdeConfig();
        cfg.put("apicurio.registry.use-specific-avro-reader", true);
        AvroKafkaDeserializer<TextEvent> d = new AvroKafkaDeserializer<>();
        d.configure(cfg, false);
        return d;
    }

    private Map<String, Object> producerProps() {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        return props;
    }

    private <K, V> List<ConsumerRecord<K, V>> consume(String topic, int expected, Deserializer<K> kd, Deserializer<V> vd) {
        List<ConsumerRecord<K, V>> out = org.hopestreams.stream.StreamTestSupport.readCommitted(kafka.bootstrapServers(),
                topic, kd, vd, POLL_DEADLINE, l -> l.size() >= expected);
        assertEquals(expected, out.size(), "records read from " + topic);
        return out;
    }

    private static JsonNode getJson(String url) throws IOException, InterruptedException {
        HttpResponse<String> resp = HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, resp.statusCode(), url + " -> " + resp.body());
        JsonNode json = JSON.readTree(resp.body());
        assertNotNull(json);
        return json;
    }

    private static String hex(byte[] b, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(n, b.length); i++) {
            sb.append(String.format("%02x ", b[i]));
        }
        return sb.toString().trim();
    }

    private static Schema v2Schema() {
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : TextEvent.getClassSchema().getFields()) {
            fields.add(new Schema.Field(f, f.schema()));
        }
        fields.add(new Schema.Field("language", Schema.create(Schema.Type.STRING), "ISO language code (added in v2)", "und"));
        Schema v1 = TextEvent.getClassSchema();
        return Schema.createRecord(v1.getName(), v1.getDoc(), v1.getNamespace(), false, fields);
    }

    /** Decodes any TextEvent writer version with {@link #TEXT_EVENT_V2} as the reader schema (Avro schema resolution). */
    public static final class V2ReaderDatumProvider implements AvroDatumProvider<GenericRecord> {
        @Override
        public DatumWriter<GenericRecord> createDatumWriter(GenericRecord data, Schema schema) {
            return new GenericDatumWriter<>(schema);
        }

        @Override
        public DatumReader<GenericRecord> createDatumReader(Schema writerSchema) {
            return new GenericDatumReader<>(writerSchema, TEXT_EVENT_V2);
        }

        @Override
        public Schema toSchema(GenericRecord data) {
            return data.getSchema();
        }
    }
}

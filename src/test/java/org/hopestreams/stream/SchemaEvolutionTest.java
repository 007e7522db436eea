package org.hopestreams.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.registry.ConfluentAvroSerializer;
import org.hopestreams.registry.RegistryException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Schema evolution while the application runs, on a real broker and a real registry, through either API
 * ({@code hope.registry.api}: Apicurio's v3 API with Apicurio's serde, or the Confluent API at Apicurio's
 * {@code /apis/ccompat/v7} with this application's serde): v1 producers (the generated TextEvent), then a v2 producer
 * (GenericRecord, TextEvent plus {@code language} with a default: a new optional field), then v1 again, all learned.
 * The input subject carries a FULL_TRANSITIVE rule (the application sets it at start on the Confluent API; on the
 * Apicurio API the test sets it through the v3 REST API): FORWARD is what protects this application, which reads
 * with the schema it was built with, so a producer's schema without {@code text} is refused (409), as is {@code text}
 * changed to an int; a subject without the rule takes the same deletion.
 */
class SchemaEvolutionTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final int PER_PHASE = 6;

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path stateDir;

    @ParameterizedTest(name = "hope.registry.api={0}")
    @ValueSource(strings = {"apicurio", "confluent"})
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void v1ThenV2ThenV1EventsAreEachLearnedOnceAndDeletingTextIsRefusedUnderFullTransitive(String registryApi)
            throws Exception {
        boolean confluent = registryApi.equals("confluent");
        String in = "evo-" + registryApi + ".events";
        String learning = "evo-" + registryApi + ".learning";
        String subject = in + "-value";   // TopicIdStrategy / topic-name strategy, group "default"
        String api = SERVERS.registry().apiUrl();
        String ccompat = SERVERS.registry().ccompatUrl();
        String url = confluent ? ccompat : api;
        Map<String, Object> m = StreamTestSupport.appConfig(SERVERS.kafka().bootstrapServers(), url,
                "it-evolution-" + registryApi, stateDir);
        StreamTestSupport.topics(m, "evo-" + registryApi);
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        assertEquals(registryApi, config.getString(HopeStreamsConfig.REGISTRY_API));
        StreamApp.createTopics(config, 1, (short) 1);
        String bootstrap = SERVERS.kafka().bootstrapServers();

        try (StreamApp app = StreamApp.start(config)) {
            assertTrue(app.awaitRunning(Duration.ofSeconds(60)), "application RUNNING, failure: " + app.failure());

            // (a) v1: the generated class; the serializer registers the subject's first version
            produce(config, in, v1Events(0));
            assertLearned(learning, 0, PER_PHASE);

            if (confluent) {
                assertEquals("FULL_TRANSITIVE", json("GET", ccompat + "/config/" + subject, null)
                        .get("compatibilityLevel").asText(), "set by the application at start");
            } else {
                // the artifact's COMPATIBILITY rule (v3 API; needs the artifact to exist, 404 before)
                HttpResponse<String> set = send("POST", api + "/groups/default/artifacts/" + subject + "/rules",
                        "{\"ruleType\":\"COMPATIBILITY\",\"config\":\"FULL_TRANSITIVE\"}");
                assertEquals(204, set.statusCode(), set.body());
            }
            assertEquals("FULL_TRANSITIVE", json("GET", api + "/groups/default/artifacts/" + subject
                    + "/rules/COMPATIBILITY", null).get("config").asText(), "both APIs see the same rule");
            assertEquals("FULL_TRANSITIVE", json("GET", ccompat + "/config/" + subject, null)
                    .get("compatibilityLevel").asText(), "both APIs see the same rule");

            // (b) v2: a GenericRecord producer with a new optional field; accepted as version 2, and learned
            Schema v2 = StreamTestSupport.textEventV2();
            List<Object> v2Events = new ArrayList<>();
            for (int i = PER_PHASE; i < 2 * PER_PHASE; i++) {
                GenericRecord r = new GenericData.Record(v2);
                r.put("id", "e" + i);
                r.put("key", key(i));
                r.put("text", text(i));
                r.put("eventTime", time(i));
                r.put("attributes", Map.of("writer", "v2"));
                r.put("language", i % 2 == 0 ? "en" : "de");
                v2Events.add(r);
            }
            produce(config, in, v2Events);
            assertLearned(learning, 0, 2 * PER_PHASE);

            // (c) v1 again, after v2 is the latest version
            produce(config, in, v1Events(2 * PER_PHASE));
            List<ConsumerRecord<String, Object>> learned = assertLearned(learning, 0, 3 * PER_PHASE);
            for (int i = 0; i < learned.size(); i++) {
                LearningEvent e = (LearningEvent) learned.get(i).value();
                assertEquals(i, e.getSourceOffset(), "input order kept");
                assertEquals(i + 1, e.getHighSteps(), "every event learned once, in order");
                assertEquals(key(i), e.getKey());
                assertEquals(text(i).getBytes(StandardCharsets.UTF_8).length, e.getBytes());
                assertEquals(time(i), e.getEventTime().toEpochMilli());
            }

            // the input carries two schema versions: v1 ids, then the v2 id, then the v1 id again
            List<ConsumerRecord<byte[], byte[]>> raw = StreamTestSupport.readBytes(bootstrap, in, 3 * PER_PHASE,
                    Duration.ofSeconds(30));
            assertEquals(3 * PER_PHASE, raw.size());
            int v1Id = StreamTestSupport.schemaId(raw.get(0).value());
            int v2Id = StreamTestSupport.schemaId(raw.get(PER_PHASE).value());
            assertNotEquals(v1Id, v2Id, "v2 has its own registry id");
            for (int i = 0; i < raw.size(); i++) {
                assertEquals(i / PER_PHASE == 1 ? v2Id : v1Id, StreamTestSupport.schemaId(raw.get(i).value()),
                        "schema id of input " + i);
            }
            assertEquals(2, versionCount(subject), "v1 and v2, nothing else");
            assertEquals(StreamTestSupport.textEventV2(), new Schema.Parser().parse(
                    json("GET", ccompat + "/schemas/ids/" + v2Id, null).get("schema").asText()), "the v2 id names v2");
            assertEquals(TextEvent.getClassSchema(), new Schema.Parser().parse(
                    json("GET", ccompat + "/schemas/ids/" + v1Id, null).get("schema").asText()), "the v1 id names v1");

            // nothing reached the dead-letter topic, and the application is still healthy
            List<ConsumerRecord<byte[], byte[]>> dead = StreamTestSupport.readAllCommitted(bootstrap,
                    "evo-" + registryApi + ".dlq", Duration.ofSeconds(30));
            assertEquals(List.of(), dead.stream().map(r -> StreamTestSupport.header(r, DeadLetter.REASON) + ": "
                    + StreamTestSupport.header(r, DeadLetter.MESSAGE)).toList(), "dead letters");
            assertNull(app.failure());
            assertEquals(org.apache.kafka.streams.KafkaStreams.State.RUNNING, app.streams().state());
        }

        // the rule is enforced on the producers' serializer: a version without 'text' (every event would then be
        // dead-lettered by this application) is refused ...
        Schema noText = withoutText(StreamTestSupport.textEventV2());
        GenericRecord deleted = new GenericData.Record(noText);
        deleted.put("id", "bad");
        deleted.put("key", "doc-0");
        deleted.put("eventTime", time(99));
        deleted.put("attributes", Map.of());
        deleted.put("language", "en");
        try (Serializer<Object> ser = serializer(config)) {
            RuntimeException e = assertThrows(RuntimeException.class, () -> ser.serialize(in, deleted));
            assertEquals(409, httpStatus(e), "the serializer's registration was refused by the rule: " + e);

            // ... and so is 'text' changed from string to int
            Schema textAsInt = textAsInt(StreamTestSupport.textEventV2());
            GenericRecord bad = new GenericData.Record(textAsInt);
            bad.put("id", "bad");
            bad.put("key", "doc-0");
            bad.put("text", 42);
            bad.put("eventTime", time(99));
            bad.put("attributes", Map.of());
            bad.put("language", "en");
            RuntimeException e2 = assertThrows(RuntimeException.class, () -> ser.serialize(in, bad));
            assertEquals(409, httpStatus(e2), "the serializer's registration was refused by the rule: " + e2);

            // control: a subject without the rule takes the same deletion, so the 409s above are the rule's doing
            String control = "evo-" + registryApi + ".control";
            ser.serialize(control, StreamTestSupport.event("c", "k", "t", 1));
            ser.serialize(control, deleted);
        }
        assertEquals(2, versionCount(subject), "no version added by the refused schemas");
        assertEquals(2, versionCount("evo-" + registryApi + ".control-value"), "the control subject took both");
    }

    // ------------------------------------------------------------------ events

    private static List<TextEvent> v1Events(int from) {
        List<TextEvent> out = new ArrayList<>();
        for (int i = from; i < from + PER_PHASE; i++) {
            out.add(StreamTestSupport.event("e" + i, key(i), text(i), time(i)));
        }
        return out;
    }

    private static String key(int i) {
        return "doc-" + (i % 2);
    }

    private static String text(int i) {
        return "event " + i + ": the capital of Zorbia is Quelt.";
    }

    private static long time(int i) {
        return 2_000_000L + 300L * i;
    }

    /** Writes {@code records} with the serializer of {@code config}'s API, keyed by their context key. */
    private static void produce(HopeStreamsConfig config, String topic, List<?> records) {
        try (KafkaProducer<String, Object> p = new KafkaProducer<>(StreamTestSupport.producerProps(
                SERVERS.kafka().bootstrapServers()), new StringSerializer(), serializer(config))) {
            TextEventProducer.sendAll(p, records.stream().map(r -> new ProducerRecord<String, Object>(topic,
                    ((GenericRecord) r).get("key").toString(), r)).toList());
        }
    }

    /** A producer's Avro serializer for {@code config}'s API: Apicurio's, or this application's Confluent-API one. */
    @SuppressWarnings("unchecked")
    private static Serializer<Object> serializer(HopeStreamsConfig config) {
        if (config.confluentApi()) {
            Serializer<Object> ser = new ConfluentAvroSerializer<>();
            ser.configure(Map.of("schema.registry.url", config.getString(HopeStreamsConfig.REGISTRY_URL)), false);
            return ser;
        }
        Serializer<Object> ser = (Serializer<Object>) (Serializer<?>) new AvroKafkaSerializer<>();
        ser.configure(StreamTestSupport.serdeConfig(config.getString(HopeStreamsConfig.REGISTRY_URL)), false);
        return ser;
    }

    /** Reads the learning topic (read_committed) until {@code to} events, and checks they are e{from}..e{to-1}. */
    private static List<ConsumerRecord<String, Object>> assertLearned(String topic, int from, int to) {
        List<ConsumerRecord<String, Object>> learned = StreamTestSupport.readAvro(SERVERS.kafka().bootstrapServers(),
                SERVERS.registry().apiUrl(), topic, to, Duration.ofSeconds(90));
        List<String> ids = learned.stream().map(r -> ((LearningEvent) r.value()).getId()).toList();
        List<String> expected = new ArrayList<>();
        for (int i = from; i < to; i++) {
            expected.add("e" + i);
        }
        assertEquals(expected, ids, "exactly one LearningEvent per event, in order");
        return learned;
    }

    // ------------------------------------------------------------------ registry REST

    private static Schema textAsInt(Schema base) {
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : base.getFields()) {
            fields.add(new Schema.Field(f, f.name().equals("text") ? Schema.create(Schema.Type.INT) : f.schema()));
        }
        return Schema.createRecord(base.getName(), base.getDoc(), base.getNamespace(), false, fields);
    }

    private static Schema withoutText(Schema base) {
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : base.getFields()) {
            if (!f.name().equals("text")) {
                fields.add(new Schema.Field(f, f.schema()));
            }
        }
        return Schema.createRecord(base.getName(), base.getDoc(), base.getNamespace(), false, fields);
    }

    private static int versionCount(String artifact) throws Exception {
        return json("GET", SERVERS.registry().apiUrl() + "/groups/default/artifacts/" + artifact + "/versions", null)
                .get("count").asInt();
    }

    private static HttpResponse<String> send(String method, String url, String body)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
        if (body == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(String method, String url, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = send(method, url, body);
        assertEquals(200, r.statusCode(), method + " " + url + " -> " + r.body());
        return JSON.readTree(r.body());
    }

    /** The HTTP status the registry client saw, from the exception chain (either API's client), or -1. */
    private static int httpStatus(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof com.microsoft.kiota.ApiException a && a.getResponseStatusCode() > 0) {
                return a.getResponseStatusCode();
            }
            if (t instanceof RegistryException r) {
                return r.status();
            }
        }
        return -1;
    }
}

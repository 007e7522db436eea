package org.hopestreams.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.junit.jupiter.api.Test;
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
 * Schema evolution while the application runs, on a real broker and a real Apicurio registry: v1 producers (the
 * generated TextEvent), then a v2 producer (GenericRecord, TextEvent plus {@code language} with a default), then v1
 * again. The input artifact carries a BACKWARD compatibility rule, set through the registry's v3 REST API and shown
 * to be enforced: incompatible versions are refused, and the same change is accepted on an artifact without it.
 */
class SchemaEvolutionTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String IN = "evo.events";
    private static final String ARTIFACT = IN + "-value";   // TopicIdStrategy, group "default"
    private static final int PER_PHASE = 6;

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path stateDir;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void v1ThenV2ThenV1EventsAreEachLearnedOnceUnderAnEnforcedBackwardRule() throws Exception {
        Map<String, Object> m = StreamTestSupport.appConfig(SERVERS.kafka().bootstrapServers(), SERVERS.registry().apiUrl(), "it-evolution",
                stateDir);
        m.put(HopeStreamsConfig.INPUT_TOPIC, IN);
        m.put(HopeStreamsConfig.LEARNING_TOPIC, "evo.learning");
        m.put(HopeStreamsConfig.CHECKPOINTS_TOPIC, "evo.checkpoints");
        m.put(HopeStreamsConfig.DLQ_TOPIC, "evo.dlq");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        StreamApp.createTopics(config, 1, (short) 1);
        String bootstrap = SERVERS.kafka().bootstrapServers();
        String api = SERVERS.registry().apiUrl();

        try (StreamApp app = StreamApp.start(config)) {
            assertTrue(app.awaitRunning(Duration.ofSeconds(60)), "application RUNNING, failure: " + app.failure());

            // (a) v1: the generated class; its serializer registers the artifact (version 1)
            StreamTestSupport.produce(bootstrap, api, IN, v1Events(0));
            assertLearned(0, PER_PHASE);

            // the artifact's COMPATIBILITY rule := BACKWARD (v3 API; needs the artifact to exist, 404 before)
            HttpResponse<String> set = send("POST", api + "/groups/default/artifacts/" + ARTIFACT + "/rules",
                    "{\"ruleType\":\"COMPATIBILITY\",\"config\":\"BACKWARD\"}");
            assertEquals(204, set.statusCode(), set.body());
            assertEquals("BACKWARD", json("GET", api + "/groups/default/artifacts/" + ARTIFACT
                    + "/rules/COMPATIBILITY", null).get("config").asText());
            assertEquals("BACKWARD", json("GET", SERVERS.registry().ccompatUrl() + "/config/" + ARTIFACT, null)
                    .get("compatibilityLevel").asText(), "the Confluent-compatible API sees the same rule");

            // (b) v2: a GenericRecord producer with the evolved schema; the registry accepts it as version 2
            Schema v2 = StreamTestSupport.textEventV2();
            List<GenericRecord> v2Events = new ArrayList<>();
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
            StreamTestSupport.produceGeneric(bootstrap, api, IN, v2Events);
            assertLearned(0, 2 * PER_PHASE);

            // (c) v1 again, after v2 is the latest version
            StreamTestSupport.produce(bootstrap, api, IN, v1Events(2 * PER_PHASE));
            List<ConsumerRecord<String, Object>> learned = assertLearned(0, 3 * PER_PHASE);
            for (int i = 0; i < learned.size(); i++) {
                LearningEvent e = (LearningEvent) learned.get(i).value();
                assertEquals(i, e.getSourceOffset(), "input order kept");
                assertEquals(i + 1, e.getHighSteps(), "every event learned once, in order");
                assertEquals(key(i), e.getKey());
                assertEquals(text(i).getBytes(StandardCharsets.UTF_8).length, e.getBytes());
                assertEquals(time(i), e.getEventTime().toEpochMilli());
            }

            // the input carries two schema versions: v1 ids, then the v2 id, then the v1 id again
            List<ConsumerRecord<byte[], byte[]>> raw = StreamTestSupport.readBytes(bootstrap, IN, 3 * PER_PHASE,
                    Duration.ofSeconds(30));
            assertEquals(3 * PER_PHASE, raw.size());
            int v1Id = StreamTestSupport.schemaId(raw.get(0).value());
            int v2Id = StreamTestSupport.schemaId(raw.get(PER_PHASE).value());
            assertNotEquals(v1Id, v2Id, "v2 has its own registry id");
            for (int i = 0; i < raw.size(); i++) {
                assertEquals(i / PER_PHASE == 1 ? v2Id : v1Id, StreamTestSupport.schemaId(raw.get(i).value()),
                        "schema id of input " + i);
            }
            assertEquals(2, versionCount(ARTIFACT), "v1 and v2, nothing else");
            assertEquals(StreamTestSupport.textEventV2(), new Schema.Parser().parse(
                    send("GET", api + "/ids/contentIds/" + v2Id, null).body()), "the v2 id names the v2 schema");
            assertEquals(TextEvent.getClassSchema(), new Schema.Parser().parse(
                    send("GET", api + "/ids/contentIds/" + v1Id, null).body()), "the v1 id names the v1 schema");

            // nothing reached the dead-letter topic, and the application is still healthy
            List<ConsumerRecord<byte[], byte[]>> dead = StreamTestSupport.readAllCommitted(bootstrap, "evo.dlq",
                    Duration.ofSeconds(30));
            assertEquals(List.of(), dead.stream().map(r -> StreamTestSupport.header(r, DeadLetter.REASON) + ": "
                    + StreamTestSupport.header(r, DeadLetter.MESSAGE)).toList(), "dead letters");
            assertNull(app.failure());
            assertEquals(org.apache.kafka.streams.KafkaStreams.State.RUNNING, app.streams().state());
        }

        // the rule is enforced: a new field without a default (v2 data has no value for it) is refused ...
        Schema v3 = StreamTestSupport.withField(StreamTestSupport.textEventV2(),
                new Schema.Field("source", Schema.create(Schema.Type.STRING), "added without a default"));
        HttpResponse<String> refused = createVersion(ARTIFACT, v3);
        assertEquals(409, refused.statusCode(), refused.body());
        assertEquals("RuleViolationException", JSON.readTree(refused.body()).get("name").asText(), refused.body());

        // ... and so is 'text' changed from string to int, when the serializer tries to register it
        Schema textAsInt = textAsInt(StreamTestSupport.textEventV2());
        GenericRecord bad = new GenericData.Record(textAsInt);
        bad.put("id", "bad");
        bad.put("key", "doc-0");
        bad.put("text", 42);
        bad.put("eventTime", time(99));
        bad.put("attributes", Map.of());
        bad.put("language", "en");
        try (AvroKafkaSerializer<GenericRecord> ser = new AvroKafkaSerializer<>()) {
            ser.configure(StreamTestSupport.serdeConfig(api), false);
            RuntimeException e = assertThrows(RuntimeException.class, () -> ser.serialize(IN, bad));
            assertEquals(409, httpStatus(e), "the serializer's registration was refused by the rule: " + e);
        }
        assertEquals(2, versionCount(ARTIFACT), "no version added by the refused schemas");

        // control: without the rule the registry takes the same v3, so the 409s above are the rule's doing
        String control = "evo.control-value";
        HttpResponse<String> created = send("POST", api + "/groups/default/artifacts", JSON.writeValueAsString(
                JSON.createObjectNode().put("artifactId", control).put("artifactType", "AVRO")
                        .set("firstVersion", content(TextEvent.getClassSchema()))));
        assertEquals(200, created.statusCode(), created.body());
        HttpResponse<String> accepted = createVersion(control, v3);
        assertEquals(200, accepted.statusCode(), accepted.body());
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

    /** Reads the learning topic (read_committed) until {@code to} events, and checks they are e{from}..e{to-1}. */
    private static List<ConsumerRecord<String, Object>> assertLearned(int from, int to) {
        List<ConsumerRecord<String, Object>> learned = StreamTestSupport.readAvro(SERVERS.kafka().bootstrapServers(),
                SERVERS.registry().apiUrl(), "evo.learning", to, Duration.ofSeconds(90));
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

    private static ObjectNode content(Schema schema) {
        ObjectNode version = JSON.createObjectNode();
        version.putObject("content").put("content", schema.toString()).put("contentType", "application/json");
        return version;
    }

    private static HttpResponse<String> createVersion(String artifact, Schema schema) throws Exception {
        return send("POST", SERVERS.registry().apiUrl() + "/groups/default/artifacts/" + artifact + "/versions",
                JSON.writeValueAsString(content(schema)));
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

    /** The HTTP status the registry client saw, from the exception chain (kiota ApiException), or -1. */
    private static int httpStatus(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof com.microsoft.kiota.ApiException a && a.getResponseStatusCode() > 0) {
                return a.getResponseStatusCode();
            }
        }
        return -1;
    }
}

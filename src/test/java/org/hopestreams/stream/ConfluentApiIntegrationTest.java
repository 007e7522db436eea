package org.hopestreams.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.registry.RegistryProxy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The application on the Confluent Schema Registry API of a real registry (Apicurio's {@code /apis/ccompat/v7}, the
 * embedded child process) and a real broker. What it writes is read back with no project code: a plain consumer,
 * the writer's schema fetched by id over HTTP, Avro's own {@link GenericDatumReader}; what a producer frames by hand
 * (magic byte 0, 4-byte big-endian id, Avro binary, the schema registered over HTTP) is learned. Registry failures
 * seen through a proxy in front of the same registry (401, 503, no answer) hold the input with a clear reason and
 * dead-letter nothing.
 */
class ConfluentApiIntegrationTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path stateDir;

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void theApplicationsAvroIsPlainConfluentWireFormatAndHandFramedRecordsAreLearned() throws Exception {
        String bootstrap = SERVERS.kafka().bootstrapServers();
        String ccompat = SERVERS.registry().ccompatUrl();
        Map<String, Object> m = StreamTestSupport.appConfig(bootstrap, ccompat, "it-ccompat", stateDir);
        StreamTestSupport.topics(m, "cc");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        assertEquals(HopeStreamsConfig.CONFLUENT_SERDE, config.serdeClass(), "the default API");
        StreamApp.createTopics(config, 1, (short) 1);

        try (StreamApp app = StreamApp.start(config)) {
            assertTrue(app.awaitRunning(Duration.ofSeconds(60)), "running, failure: " + app.failure());
            // (a) the application's own serializer, as a producer of the demo uses it
            try (KafkaProducer<String, TextEvent> p = TextEventProducer.create(config, Map.of())) {
                for (int i = 0; i < 3; i++) {
                    p.send(new ProducerRecord<>("cc.events", "doc", StreamTestSupport.event("e" + i, "doc",
                            "serializer line " + i, 1_000_000L + i)));
                }
                p.flush();
            }
            // (b) framed by hand: TextEvent plus an optional field, registered over HTTP, written with Avro alone
            Schema v2 = new Schema.Parser().parse(Files.readString(Path.of("schemas/TextEvent.avsc"))
                    .replace("\"fields\": [", "\"fields\": [{\"name\": \"source\", \"type\": [\"null\", \"string\"], "
                            + "\"default\": null},"));
            int v2Id = register(ccompat, "cc.events-value", v2);
            List<byte[]> framed = new ArrayList<>();
            for (int i = 3; i < 6; i++) {
                GenericRecord r = new GenericData.Record(v2);
                r.put("source", "by hand");
                r.put("id", "e" + i);
                r.put("key", "doc");
                r.put("text", "hand-framed line " + i);
                r.put("eventTime", 1_000_000L + i);
                r.put("attributes", Map.of());
                framed.add(frame(v2Id, v2, r));
            }
            framed.add(frame(987_654, v2, (GenericRecord) new GenericData.Record(v2) {{
                put("source", null);
                put("id", "unknown");
                put("key", "doc");
                put("text", "an id no registry has");
                put("eventTime", 1_000_000L);
                put("attributes", Map.of());
            }}));
            for (byte[] f : framed) {
                StreamTestSupport.produceRaw(bootstrap, "cc.events", StreamTestSupport.utf8("doc"), f);
            }

            // the LearningEvents, as any Confluent-API consumer reads them
            List<ConsumerRecord<byte[], byte[]>> learned = StreamTestSupport.readBytes(bootstrap, "cc.learning", 6,
                    Duration.ofSeconds(90));
            List<String> ids = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> r : learned) {
                GenericRecord e = readWithAvroAlone(ccompat, r.value());
                assertEquals("org.hopestreams.avro.LearningEvent", e.getSchema().getFullName());
                assertEquals("doc", e.get("key").toString());
                ids.add(e.get("id").toString());
            }
            assertEquals(List.of("e0", "e1", "e2", "e3", "e4", "e5"), ids, "every event learned once, in order");

            // the input the application's serializer wrote reads back the same way
            List<ConsumerRecord<byte[], byte[]>> input = StreamTestSupport.readBytes(bootstrap, "cc.events", 7,
                    Duration.ofSeconds(30));
            for (int i = 0; i < 3; i++) {
                GenericRecord e = readWithAvroAlone(ccompat, input.get(i).value());
                assertEquals("serializer line " + i, e.get("text").toString());
                assertEquals(1_000_000L + i, e.get("eventTime"));
            }
            assertEquals(v2Id, StreamTestSupport.schemaId(input.get(3).value()));

            // an id the registry does not know (its 404 for the id) is the one dead letter
            List<ConsumerRecord<byte[], byte[]>> dead = StreamTestSupport.readAllCommitted(bootstrap, "cc.dlq",
                    Duration.ofSeconds(30));
            assertEquals(1, dead.size(), "one dead letter");
            assertEquals("unknown-schema", StreamTestSupport.header(dead.get(0), DeadLetter.REASON));
            assertTrue(StreamTestSupport.header(dead.get(0), DeadLetter.MESSAGE).contains("987654"),
                    StreamTestSupport.header(dead.get(0), DeadLetter.MESSAGE));

            // the compatibility levels the application set at start
            for (String subject : List.of("cc.events-value", "cc.learning-value", "cc.checkpoints-value")) {
                assertEquals("FULL_TRANSITIVE", json(ccompat + "/config/" + subject).path("compatibilityLevel").asText(),
                        subject);
            }
            assertNull(app.failure());
            assertEquals(KafkaStreams.State.RUNNING, app.streams().state());
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void refusedCredentialsServerErrorsAndSilenceHoldTheInputWithAClearReasonAndDeadLetterNothing() throws Exception {
        String bootstrap = SERVERS.kafka().bootstrapServers();
        String ccompat = SERVERS.registry().ccompatUrl();
        try (RegistryProxy proxy = new RegistryProxy(SERVERS.registry().baseUrl()).requireAuth("app:right")) {
            String url = proxy.baseUrl() + "/apis/ccompat/v7";
            Map<String, Object> m = StreamTestSupport.appConfig(bootstrap, url, "it-ccompat-faults", stateDir);
            StreamTestSupport.topics(m, "ccf");
            m.put(HopeStreamsConfig.REGISTRY_BASIC_AUTH_USER_INFO, "app:right");
            m.put(HopeStreamsConfig.REGISTRY_CALL_TIMEOUT_MS, "1000");
            m.put(HopeStreamsConfig.REGISTRY_RETRIES, "0");
            m.put(HopeStreamsConfig.REGISTRY_RETRY_BACKOFF_MAX_MS, "500");
            HopeStreamsConfig config = new HopeStreamsConfig(m);
            StreamApp.createTopics(config, 1, (short) 1);
            try (StreamApp app = StreamApp.start(config)) {
                assertTrue(app.awaitRunning(Duration.ofSeconds(60)), "running, failure: " + app.failure());
                // a schema version the application has not met: each event below needs the registry
                List<Schema> versions = new ArrayList<>();
                for (String field : List.of("a", "b", "c", "d")) {
                    versions.add(StreamTestSupport.withField(TextEvent.getClassSchema(), new Schema.Field(field,
                            Schema.createUnion(Schema.create(Schema.Type.NULL), Schema.create(Schema.Type.STRING)),
                            null, Schema.Field.NULL_DEFAULT_VALUE)));
                }
                send(bootstrap, ccompat, versions.get(0), 0);
                assertEquals(1, StreamTestSupport.readBytes(bootstrap, "ccf.learning", 1, Duration.ofSeconds(60)).size(),
                        "learned through the proxy with the right credentials");
                assertEquals(200, get(app, "/health/ready").statusCode());

                proxy.requireAuth("app:rotated");   // the registry no longer takes the application's credentials
                send(bootstrap, ccompat, versions.get(1), 1);
                assertHeld(app, bootstrap, r -> r.contains("401 Unauthorized")
                        && r.contains("the configured hope.registry.basic.auth.user.info was not accepted"));
                assertTrue(!get(app, "/health/ready").body().contains("right"), "no credentials in the reason");

                proxy.requireAuth("app:right").answer(503);
                send(bootstrap, ccompat, versions.get(2), 2);
                assertHeld(app, bootstrap, r -> r.contains("status 503"));

                proxy.answer(0).hang();
                send(bootstrap, ccompat, versions.get(3), 3);
                assertHeld(app, bootstrap, r -> r.contains("did not answer"));

                proxy.forward();
                List<ConsumerRecord<byte[], byte[]>> learned = StreamTestSupport.readBytes(bootstrap, "ccf.learning", 4,
                        Duration.ofSeconds(60));
                List<String> ids = new ArrayList<>();
                for (ConsumerRecord<byte[], byte[]> r : learned) {
                    ids.add(readWithAvroAlone(ccompat, r.value()).get("id").toString());
                }
                assertEquals(List.of("e0", "e1", "e2", "e3"), ids, "every held event learned once, in order");
                assertEquals(200, await(() -> get(app, "/health/ready"), r -> r.statusCode() == 200).statusCode());
                assertEquals(0, StreamTestSupport.readAllCommitted(bootstrap, "ccf.dlq", Duration.ofSeconds(30)).size(),
                        "nothing dead-lettered");
                assertNull(app.failure());
                assertEquals(KafkaStreams.State.RUNNING, app.streams().state());
            }
        }
    }

    /** Not ready with a reason that passes {@code reason}, alive, running, nothing dead-lettered. */
    private static void assertHeld(StreamApp app, String bootstrap, Predicate<String> reason) throws Exception {
        HttpResponse<String> ready = await(() -> get(app, "/health/ready"),
                r -> r.statusCode() == 503 && reason.test(r.body()));
        assertEquals(503, ready.statusCode(), ready.body());
        assertTrue(reason.test(ready.body()), ready.body());
        assertEquals(200, get(app, "/health/live").statusCode());
        assertEquals(KafkaStreams.State.RUNNING, app.streams().state());
        assertEquals(0, StreamTestSupport.readAllCommitted(bootstrap, "ccf.dlq", Duration.ofSeconds(30)).size(),
                "nothing dead-lettered: " + ready.body());
    }

    /** Event e{i} written with {@code schema}, registered straight at the registry (not through the proxy). */
    private static void send(String bootstrap, String ccompat, Schema schema, int i) throws Exception {
        int id = register(ccompat, "ccf.events-value", schema);
        GenericRecord r = new GenericData.Record(schema);
        r.put("id", "e" + i);
        r.put("key", "doc");
        r.put("text", "line " + i + " while the registry misbehaves");
        r.put("eventTime", 2_000_000L + i);
        r.put("attributes", Map.of());
        StreamTestSupport.produceRaw(bootstrap, "ccf.events", StreamTestSupport.utf8("doc"), frame(id, schema, r));
    }

    // ------------------------------------------------------------------ no project code below: HTTP and Avro alone

    private static int register(String ccompat, String subject, Schema schema) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(ccompat + "/subjects/" + subject + "/versions"))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.createObjectNode().put("schema", schema.toString())
                        .toString())).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body()).get("id").asInt();
    }

    private static byte[] frame(int id, Schema schema, GenericRecord record) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        out.write(ByteBuffer.allocate(4).putInt(id).array());
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, enc);
        enc.flush();
        return out.toByteArray();
    }

    /** Magic byte, id, the writer's schema from {@code GET /schemas/ids/{id}}, Avro's GenericDatumReader. */
    private static GenericRecord readWithAvroAlone(String ccompat, byte[] value) throws Exception {
        assertEquals(0, value[0], "magic byte");
        int id = ByteBuffer.wrap(value, 1, 4).getInt();
        Schema writer = new Schema.Parser().parse(json(ccompat + "/schemas/ids/" + id).get("schema").asText());
        return new GenericDatumReader<GenericRecord>(writer).read(null,
                DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null));
    }

    private static JsonNode json(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url))
                .header("Accept", "application/vnd.schemaregistry.v1+json").GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), url + " -> " + r.body());
        return JSON.readTree(r.body());
    }

    private static HttpResponse<String> get(StreamApp app, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.httpPort() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private interface Call<T> {
        T call() throws Exception;
    }

    private static <T> T await(Call<T> call, Predicate<T> done) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        T last = call.call();
        while (!done.test(last) && System.nanoTime() < end) {
            Thread.sleep(100);
            last = call.call();
        }
        return last;
    }
}

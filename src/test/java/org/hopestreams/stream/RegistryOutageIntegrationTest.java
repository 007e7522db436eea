package org.hopestreams.stream;

import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.embedded.EmbeddedKafka;
import org.hopestreams.embedded.EmbeddedRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
import java.util.TreeMap;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 9, "a registry outage is not bad data", on a real broker and a real registry process: the
 * application learns, the registry process is stopped, producers go on writing events (bytes they
 * serialized while it was up: the same TextEvent schema, and a new version the application has not
 * seen yet, so it must ask the registry), and the registry comes back on the same port with the
 * same data (H2 file storage, so ids stay the same, as after a restart of a production registry).
 * While it is down the application is not ready, says why, and commits no input offset past the
 * first event it cannot decode; afterwards every event is learned exactly once and nothing is
 * dead-lettered.
 */
class RegistryOutageIntegrationTest {
    private static final String APP = "it-registry-outage";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path stateDir;
    @TempDir
    Path registryData;

    @Test
    void goodEventsWaitForTheRegistryInsteadOfBeingDeadLettered() throws Exception {
        EmbeddedKafka kafka = EmbeddedKafka.start();
        EmbeddedRegistry registry = EmbeddedRegistry.builder().storageDir(registryData).start();
        try {
            String bootstrap = kafka.bootstrapServers();
            String url = registry.apiUrl();
            Map<String, Object> m = StreamTestSupport.appConfig(bootstrap, url, APP, stateDir);
            StreamTestSupport.topics(m, "outage");
            m.put(HopeStreamsConfig.REGISTRY_RETRY_BACKOFF_MAX_MS, "1000");
            HopeStreamsConfig config = new HopeStreamsConfig(m);
            StreamApp.createTopics(config, 1, (short) 1);

            try (StreamApp app = StreamApp.start(config)) {
                assertTrue(app.awaitRunning(Duration.ofSeconds(60)), "running");
                List<byte[]> before = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    before.add(v1(url, i));
                }
                produce(bootstrap, "outage.events", before);
                assertEquals(10, learned(bootstrap, url, 10).size(), "learned before the outage");
                assertEquals(200, get(app, "/health/ready").statusCode());

                // serialized while the registry is up; the v2 events carry a schema id the application has not met
                List<byte[]> during = new ArrayList<>();
                for (int i = 10; i < 15; i++) {
                    during.add(v2(url, i));
                }
                for (int i = 15; i < 20; i++) {
                    during.add(v1(url, i));
                }
                int port = registry.port();
                registry.close();
                produce(bootstrap, "outage.events", during);

                HttpResponse<String> ready = await(() -> get(app, "/health/ready"), r -> r.statusCode() == 503,
                        Duration.ofSeconds(60));
                assertEquals(0, StreamTestSupport.readAllCommitted(bootstrap, "outage.dlq", Duration.ofSeconds(30))
                        .size(), "nothing dead-lettered while the registry is down");
                assertEquals(503, ready.statusCode(), "not ready while the registry is down");
                assertTrue(ready.body().contains(url), ready.body());
                assertEquals(KafkaStreams.State.RUNNING, app.streams().state(), "still running");
                assertEquals(200, get(app, "/health/live").statusCode(), "alive: nothing to restart");
                assertTrue(get(app, "/metrics").body().contains("hope_registry_available 0.0"), "metric");
                assertTrue(committed(bootstrap) <= 10, "no input offset committed past the first event that waits: "
                        + committed(bootstrap));

                registry = EmbeddedRegistry.builder().storageDir(registryData).port(port).start();
                List<ConsumerRecord<String, Object>> all = learned(bootstrap, url, 20);
                Map<Long, String> byOffset = new TreeMap<>();
                for (ConsumerRecord<String, Object> r : all) {
                    LearningEvent e = (LearningEvent) r.value();
                    String old = byOffset.put(e.getSourceOffset(), e.getId());
                    assertNull(old, "two LearningEvents for input offset " + e.getSourceOffset());
                }
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    ids.add("e" + i);
                }
                assertEquals(ids, new ArrayList<>(byOffset.values()), "every event learned once, in input order");
                assertEquals(20, all.size(), "one LearningEvent per input offset");
                assertEquals(0, StreamTestSupport.readAllCommitted(bootstrap, "outage.dlq", Duration.ofSeconds(30))
                        .size(), "no dead letters");
                assertEquals(200, await(() -> get(app, "/health/ready"), r -> r.statusCode() == 200,
                        Duration.ofSeconds(60)).statusCode(), "ready again");
                assertTrue(get(app, "/metrics").body().contains("hope_registry_available 1.0"), "metric");
                assertEquals(KafkaStreams.State.RUNNING, app.streams().state());
                assertNull(app.failure());
            }
        } finally {
            StreamTestSupport.Infra.stop(kafka, registry);
        }
    }

    private static byte[] v1(String url, int i) {
        return serialize(url, StreamTestSupport.event("e" + i, "doc-" + (i % 3), "line " + i + " of a stream.",
                1_000_000L + 400L * i));
    }

    /** TextEvent v2 (one more field): a schema version registered now, met by the application only during the outage. */
    private static byte[] v2(String url, int i) {
        GenericRecord r = new GenericData.Record(StreamTestSupport.textEventV2());
        r.put("id", "e" + i);
        r.put("key", "doc-" + (i % 3));
        r.put("text", "line " + i + " of a stream, v2.");
        r.put("eventTime", 1_000_000L + 400L * i);
        r.put("attributes", Map.of());
        r.put("language", "en");
        return serialize(url, r);
    }

    private static byte[] serialize(String url, Object value) {
        try (AvroKafkaSerializer<Object> ser = new AvroKafkaSerializer<>()) {
            ser.configure(StreamTestSupport.serdeConfig(url), false);
            return ser.serialize("outage.events", value);
        }
    }

    private static void produce(String bootstrap, String topic, List<byte[]> values) {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(StreamTestSupport.producerProps(bootstrap),
                new ByteArraySerializer(), new ByteArraySerializer())) {
            TextEventProducer.sendAll(p, values.stream()
                    .map(v -> new ProducerRecord<>(topic, "k".getBytes(StandardCharsets.UTF_8), v)).toList());
        }
    }

    private static List<ConsumerRecord<String, Object>> learned(String bootstrap, String url, int n) {
        return StreamTestSupport.readAvro(bootstrap, url, "outage.learning", n, Duration.ofSeconds(120));
    }

    /** The application's committed offset of the input partition (0 when none). */
    private static long committed(String bootstrap) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            OffsetAndMetadata o = admin.listConsumerGroupOffsets(APP).partitionsToOffsetAndMetadata().get()
                    .get(new TopicPartition("outage.events", 0));
            return o == null ? 0 : o.offset();
        }
    }

    private static HttpResponse<String> get(StreamApp app, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.httpPort() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private interface Call<T> {
        T call() throws Exception;
    }

    /** Calls until the answer passes {@code done} or the deadline; returns the last answer. */
    private static <T> T await(Call<T> call, Predicate<T> done, Duration deadline) throws Exception {
        long end = System.nanoTime() + deadline.toNanos();
        T last = call.call();
        while (!done.test(last) && System.nanoTime() < end) {
            Thread.sleep(200);
            last = call.call();
        }
        return last;
    }
}

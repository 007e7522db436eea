package org.hopestreams.stream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.embedded.EmbeddedRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.hopestreams.RequiredTools;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The application end to end against a real Kafka broker in a container ({@code apache/kafka:3.9.1}, KRaft, the
 * image Apache ships), with the registry still the {@link EmbeddedRegistry} child process: Avro events in,
 * LearningEvents out with read_committed, a corrupt value to the dead-letter topic. Skipped where no Docker
 * engine answers (the container is neither created nor pulled then, nor the registry started), and failed there
 * instead where {@code HOPE_REQUIRE_TOOLS} lists docker ({@link RequiredTools}).
 */
class TestcontainersKafkaTest {
    static final String IMAGE = "apache/kafka:3.9.1";

    static KafkaContainer KAFKA;
    static EmbeddedRegistry REGISTRY;

    private static boolean docker() {
        return DockerClientFactory.instance().isDockerAvailable();
    }

    @BeforeAll
    static void start() throws Exception {
        if (!docker()) {
            return;   // the test reports it (skipped, or failed where docker is required)
        }
        KAFKA = new KafkaContainer(IMAGE);
        KAFKA.start();
        REGISTRY = EmbeddedRegistry.builder().start();
    }

    @AfterAll
    static void stop() {
        if (REGISTRY != null) {
            REGISTRY.close();
        }
        if (KAFKA != null) {
            KAFKA.stop();
        }
    }

    @TempDir
    Path stateDir;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void avroEventsAreLearnedOnAContainerBrokerAndCorruptOnesAreDeadLettered() throws Exception {
        RequiredTools.assumeInstalled(RequiredTools.DOCKER, docker(), "no Docker engine answers");
        String bootstrap = KAFKA.getBootstrapServers();
        Map<String, Object> m = StreamTestSupport.appConfig(bootstrap, REGISTRY.apiUrl(), "tc-basic", stateDir);
        StreamTestSupport.topics(m, "tc");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        StreamApp.createTopics(config, 1, (short) 1);

        List<TextEvent> events = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            events.add(StreamTestSupport.event("e" + i, "doc-" + (i % 2), "line " + i + ": the capital of Zorbia is Quelt.",
                    1_000_000L + 400L * i));
        }
        StreamTestSupport.produce(bootstrap, REGISTRY.apiUrl(), "tc.events", events);
        StreamTestSupport.produceRaw(bootstrap, "tc.events", "k".getBytes(StandardCharsets.UTF_8),
                "not avro at all".getBytes(StandardCharsets.UTF_8));

        try (StreamApp app = StreamApp.start(config)) {
            List<ConsumerRecord<String, Object>> learned = StreamTestSupport.readAvro(bootstrap, REGISTRY.apiUrl(),
                    "tc.learning", 5, Duration.ofSeconds(120));
            assertEquals(5, learned.size(), "one LearningEvent per event");
            for (int i = 0; i < 5; i++) {
                LearningEvent e = (LearningEvent) learned.get(i).value();
                assertEquals("e" + i, e.getId());
                assertEquals("doc-" + (i % 2), e.getKey());
                assertEquals("doc-" + (i % 2), learned.get(i).key());
                assertEquals(i, e.getSourceOffset());
                assertEquals("tc.events", e.getSourceTopic());
                assertEquals(i + 1, e.getHighSteps());
                assertTrue(Double.isFinite(e.getBitsPerByte()));
            }

            List<ConsumerRecord<byte[], byte[]>> dead = StreamTestSupport.readBytes(bootstrap, "tc.dlq", 1,
                    Duration.ofSeconds(30));
            assertEquals(1, dead.size());
            assertEquals("corrupt", StreamTestSupport.header(dead.get(0), DeadLetter.REASON));
            assertEquals("not avro at all", new String(dead.get(0).value(), StandardCharsets.UTF_8));
            assertEquals("5", StreamTestSupport.header(dead.get(0), DeadLetter.OFFSET));
            assertNull(app.failure());
        }
    }
}

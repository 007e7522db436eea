package org.hopestreams.log;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The logging backend: SLF4J goes to it; levels by prefix; file mode takes what is printed; JSON lines parse. */
class LoggingTest {
    @AfterEach
    void reset() {
        System.clearProperty("hope.log.level.org.example");
        Logging.reset();
    }

    @Test
    void slf4jLogsThroughThisBackend() {
        assertEquals("org.hopestreams.log.HopeLogger", LoggerFactory.getLogger("x").getClass().getName());
    }

    @Test
    void levelsByLongestPrefixAndSystemProperties() {
        assertEquals(Level.WARN.toInt(), Logging.levelOf("org.apache.kafka.clients.NetworkClient"));
        assertEquals(Level.INFO.toInt(), Logging.levelOf("org.hopestreams.stream.StreamApp"));
        assertEquals(Logging.OFF, Logging.levelOf("io.apicurio.registry.resolver.cache.ERCache"));
        System.setProperty("hope.log.level.org.example", "debug");
        Logging.reloadLevels();
        assertTrue(LoggerFactory.getLogger("org.example.A").isDebugEnabled());
        assertFalse(LoggerFactory.getLogger("org.apache.kafka.A").isInfoEnabled());
        assertThrows(IllegalArgumentException.class, () -> Logging.parseLevel("loud"));
    }

    @Test
    void toFileTakesLibraryLogsAndWhatIsPrinted(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub/demo.log");
        Logging.toFile(file, false);
        LoggerFactory.getLogger("org.apache.kafka.Some").warn("broker said {}", "hello", new IllegalStateException("why"));
        LoggerFactory.getLogger("org.apache.kafka.Some").info("not at INFO");
        System.out.println("printed by a library");
        System.err.println("complained by a library");
        Logging.console().println("LoggingTest: the program's own line");
        Logging.reset();
        String log = Files.readString(file);
        assertTrue(log.contains("WARN [main] org.apache.kafka.Some - broker said hello"), log);
        assertTrue(log.contains("java.lang.IllegalStateException: why"), log);
        assertFalse(log.contains("not at INFO"), log);
        assertTrue(log.contains("INFO [main] stdout - printed by a library"), log);
        assertTrue(log.contains("WARN [main] stderr - complained by a library"), log);
        assertFalse(log.contains("the program's own line"), log);
    }

    @Test
    void routineWarningsAreInfo(@TempDir Path dir) throws Exception {
        String client = "org.apache.kafka.clients.NetworkClient";
        String routine = "[Consumer clientId=c] The metadata response from the cluster reported a recoverable issue "
                + "with correlation id 2 : {app-by-key-repartition=UNKNOWN_TOPIC_OR_PARTITION}";
        assertEquals(Level.INFO, Logging.effectiveLevel(client, Level.WARN, routine));
        assertEquals(Level.WARN, Logging.effectiveLevel(client, Level.WARN, "Bootstrap broker b:9092 disconnected"));
        assertEquals(Level.INFO, Logging.effectiveLevel(client, Level.WARN, "[NodeToControllerChannelManager id=0 "
                + "name=registration] Attempting to close NetworkClient that has already been closed."));
        assertEquals(Level.ERROR, Logging.effectiveLevel(client, Level.ERROR, routine), "only WARN records");
        assertEquals(Level.WARN, Logging.effectiveLevel("org.example.Other", Level.WARN, routine), "only that logger");
        // transactions v2 (Kafka 4.x, KAFKA-18202): the broker refuses, retriably, a batch with a sequence above 0 to a
        // partition where the producer has no state yet (its first batch still in flight); the producer retries it
        String sender = "org.apache.kafka.clients.producer.internals.Sender";
        String retried = "[Producer clientId=a-StreamThread-1-producer, transactionalId=a-1] Got error produce response "
                + "with correlation id 96 on topic-partition a-fast-memory-changelog-0, retrying (2147483646 attempts "
                + "left). Error: OUT_OF_ORDER_SEQUENCE_NUMBER";
        assertEquals(Level.INFO, Logging.effectiveLevel(sender, Level.WARN, retried));
        assertEquals(Level.WARN, Logging.effectiveLevel(sender, Level.WARN, "[Producer clientId=p] Got error produce "
                + "response in correlation id 7 on topic-partition t-0, splitting and retrying (5 attempts left). "
                + "Error: MESSAGE_TOO_LARGE"), "another produce error stays a WARN");
        assertEquals(Level.WARN, Logging.effectiveLevel(sender, Level.WARN, "[Producer clientId=p] The broker returned "
                + "OUT_OF_ORDER_SEQUENCE_NUMBER for topic-partition t-0 and it is not retried"),
                "an out-of-order sequence that is not retried stays a WARN");

        Path file = dir.resolve("a.log");
        Logging.toFile(file, false);
        LoggerFactory.getLogger(client).warn(routine);
        LoggerFactory.getLogger(client).warn("Bootstrap broker {} disconnected", "b:9092");
        System.setProperty("hope.log.level.org.example", "info");
        Logging.reloadLevels();
        LoggerFactory.getLogger("org.example.Other").warn("a routine line elsewhere: reported a recoverable issue");
        Logging.reset();
        String log = Files.readString(file);
        assertFalse(log.contains("recoverable issue with"), "below Kafka's WARN level: " + log);
        assertTrue(log.contains("WARN [main] org.apache.kafka.clients.NetworkClient - Bootstrap broker b:9092 disconnected"),
                log);
        assertTrue(log.contains("WARN [main] org.example.Other - a routine line elsewhere"), log);

        System.setProperty("hope.log.level.org.example", "info");
        System.setProperty("hope.log.level.org.apache.kafka.clients", "info");
        try {
            Logging.reloadLevels();
            Logging.toFile(file, false);
            LoggerFactory.getLogger(client).warn(routine);
            Logging.reset();
            assertTrue(Files.readString(file).contains("INFO [main] org.apache.kafka.clients.NetworkClient - "
                    + routine), "at INFO where Kafka's clients log at INFO");
        } finally {
            System.clearProperty("hope.log.level.org.apache.kafka.clients");
        }
    }

    @Test
    void jsonLinesParse() throws Exception {
        String line = Logging.json(0, Level.WARN, "org.x.Y", "main", "a \"quoted\"\tline\nand\u0001 more",
                new RuntimeException("boom"));
        assertFalse(line.contains("\n"));
        JsonNode n = new ObjectMapper().readTree(line);
        assertEquals("1970-01-01T00:00:00Z", n.get("time").asText());
        assertEquals("WARN", n.get("level").asText());
        assertEquals("org.x.Y", n.get("logger").asText());
        assertEquals("a \"quoted\"\tline\nand\u0001 more", n.get("message").asText());
        assertTrue(n.get("error").asText().startsWith("java.lang.RuntimeException: boom"));
    }
}

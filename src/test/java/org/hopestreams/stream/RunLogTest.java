package org.hopestreams.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code run}'s log for operators, as k8s runs it ({@code hope.log.format=json}, what HOPE_LOG_FORMAT sets): every
 * line on its console is a JSON object with time, level, logger and message; one line per significant event
 * (started, task assigned with its model version, checkpoint, dead letters summed up per period, stopped); and a
 * dead letter (an unknown schema id) is a WARN summary, never an ERROR; and no library logs a WARN line in a
 * normal start, run and stop (what Kafka's clients say then at WARN is routine: hope-logging.properties).
 */
class RunLogTest {
    @RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @Test
    void runLogsOneJsonLinePerEvent(@TempDir Path dir) throws Exception {
        String app = "it-runlog";
        String in = app + ".events";
        String bootstrap = SERVERS.kafka().bootstrapServers();
        SERVERS.kafka().createTopics(1, in, app + ".learning", app + ".checkpoints", app + ".dlq");
        Map<String, Object> config = ChildApp.config(SERVERS, app, in, dir.resolve("state"));
        config.put("hope.log.format", "json");
        config.put("hope.log.dlq.interval.ms", "1000");
        // 12 records one second of stream time apart: checkpoints every 5 s of stream time
        StreamTestSupport.produce(bootstrap, SERVERS.registry().apiUrl(), in,
                StreamTestSupport.shortEvents(12, List.of("a", "b"), 1_700_000_000_000L, 1000));
        StreamTestSupport.produceRaw(bootstrap, in, StreamTestSupport.utf8("k"),
                new byte[] {0, 0, 0, 0x7f, 0x7f, 1, 2, 3});   // a schema id the registry does not know
        // the state directory lies in JUnit's folder under /tmp, which Kafka Streams rightly warns about: the child's
        // own temp folder is elsewhere (an operator's state directory is a volume: k8s, compose)
        java.nio.file.Files.createDirectories(dir.resolve("jvm-tmp"));
        ChildApp child = ChildApp.start(app, config, List.of("-Djava.io.tmpdir=" + dir.resolve("jvm-tmp")),
                dir.resolve("logs"));
        try {
            ChildApp.awaitCommitted(bootstrap, app + ".learning", 12, Duration.ofSeconds(120), child);
            long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!child.log().contains("dead letter") && System.nanoTime() < end) {
                Thread.sleep(200);
            }
            child.terminate();
        } finally {
            child.kill();
        }
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : child.log().split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            try {
                lines.add(json.readTree(line));
            } catch (Exception e) {
                fail("not a JSON line: " + line + "\n" + child.tail());
            }
        }
        List<String> libraryWarnings = new ArrayList<>();
        for (JsonNode l : lines) {
            for (String field : List.of("time", "level", "logger", "message")) {
                assertTrue(l.hasNonNull(field), "has " + field + ": " + l);
            }
            assertTrue(!l.get("level").asText().equals("ERROR"), "no ERROR for handled input: " + l);
            if (l.get("level").asText().equals("WARN") && !l.get("logger").asText().startsWith("org.hopestreams.")) {
                libraryWarnings.add(l.toString());
            }
        }
        // a normal start, run and stop: the libraries (Kafka's clients and Streams, the registry client) have
        // nothing to warn about; what they say then is routine, and at DEBUG/INFO (hope-logging.properties)
        assertEquals(List.of(), libraryWarnings, "no library WARN line in a normal run");
        assertEquals(1, count(lines, "started: application " + app), child.log());
        assertTrue(count(lines, "task 1_0 assigned: new tiny model, version 0") == 1, child.log());
        assertTrue(count(lines, "checkpoint, model version") >= 1, child.log());
        List<JsonNode> dead = lines.stream().filter(l -> l.get("message").asText().contains("dead letter")).toList();
        assertEquals(1, dead.size(), child.log());
        assertEquals("WARN", dead.get(0).get("level").asText());
        assertTrue(dead.get(0).get("message").asText().startsWith("1 dead letter to " + app + ".dlq"), dead.toString());
        assertTrue(dead.get(0).get("message").asText().contains("ingest/unknown-schema 1"), dead.toString());
        assertEquals(1, count(lines, "stopped cleanly"), child.log());
    }

    private static long count(List<JsonNode> lines, String text) {
        return lines.stream().filter(l -> l.get("message").asText().contains(text)).count();
    }
}

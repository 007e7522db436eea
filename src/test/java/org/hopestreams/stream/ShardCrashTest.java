package org.hopestreams.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.NewTopic;
import org.hopestreams.avro.TextEvent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 13, one model across shards under SIGKILL: three instances of one application in child JVMs
 * ({@code hope run}) learn an input of six partitions, every partition busy, with consolidation on. Each starts
 * with fault points ({@link CrashPoints}): whichever runs the consolidator dies in the middle of its first merge, B
 * also in the middle of its third publication of a delta, C in the middle of its fourth adoption of a global
 * version; a killed instance is started again (same state directory, no fault). Afterwards: one LearningEvent per input
 * record; every committed delta, with sequences 1, 2, ... per partition, merged into exactly one committed global
 * version (none lost, none counted twice); every version in every partition of the global topic once; every task at
 * the last version. Logs: {@code target/shard-crash/}.
 */
class ShardCrashTest {
    private static final int PARTITIONS = 6;
    private static final int N = 120;
    private static final String APP = "shardcrash";
    private static final String INPUT = APP + ".events";
    private static final long ROUND_TIMEOUT_MS = 2000;
    private static final Path LOGS = Path.of("target", "shard-crash");
    private static final Duration DEADLINE = Duration.ofSeconds(150);
    private static final ObjectMapper JSON = new ObjectMapper();

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path work;

    private final List<ChildApp> children = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        children.forEach(ChildApp::kill);
    }

    @Test
    void killedInstancesLoseNoDeltaAndCountNoneTwice() throws Exception {
        long t0 = System.nanoTime();
        SERVERS.kafka().admin().createTopics(List.of(new NewTopic(INPUT, PARTITIONS, (short) 1))).all()
                .get(30, TimeUnit.SECONDS);
        SERVERS.kafka().admin().createTopics(Stream.of(".learning", ".checkpoints", ".dlq")
                .map(t -> new NewTopic(APP + t, 1, (short) 1).configs(Map.of("retention.ms", "-1"))).toList())
                .all().get(30, TimeUnit.SECONDS);
        List<String> keys = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
            keys.add(ShardConsolidationTest.keyOf(p, "doc-" + p + "a-"));
            keys.add(ShardConsolidationTest.keyOf(p, "doc-" + p + "b-"));
        }
        List<TextEvent> events = StreamTestSupport.shortEvents(N, keys, 1_000_000L, 250L);
        StreamTestSupport.produce(bootstrap(), SERVERS.registry().apiUrl(), INPUT, events);

        Map<String, String> faults = Map.of("a", "merge:1", "b", "merge:1,publish:3", "c", "merge:1,adopt:4");
        Map<String, ChildApp> live = new TreeMap<>();
        for (String name : faults.keySet()) {
            live.put(name, start(name, name, List.of("-D" + CrashPoints.PROPERTY + "=" + faults.get(name))));
        }
        List<String> killed = new ArrayList<>();
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        Map<Integer, Long> versions = Map.of();
        long settledSince = System.nanoTime();
        while (true) {
            for (String name : faults.keySet()) {
                ChildApp c = live.get(name);
                if (!c.process.isAlive()) {
                    int exit = c.process.exitValue();
                    assertEquals(137, exit, c.name + " died, not by its fault point\n" + c.tail());
                    assertTrue(c.log().contains("hope.crash.at: SIGKILL at"), c.name + "\n" + c.tail());
                    java.util.regex.Matcher at = java.util.regex.Pattern.compile("SIGKILL at (\\S+ #\\d+)").matcher(c.log());
                    killed.add(c.name + " at " + (at.find() ? at.group(1) : "?"));
                    live.put(name, start(name + "-again", name, List.of()));
                }
            }
            Map<Integer, Long> now = versions(live.values());
            if (!now.equals(versions)) {
                versions = now;
                settledSince = System.nanoTime();
            } else if (now.size() == PARTITIONS && new TreeSet<>(now.values()).size() == 1
                    && now.values().iterator().next() > 0       // quiet at a global version, not before the first
                    && System.nanoTime() - settledSince > 2 * ROUND_TIMEOUT_MS * 1_000_000L
                    && RunComparison.countCommitted(bootstrap(), APP + ".learning") >= N) {
                break;
            }
            if (System.nanoTime() > deadline) {
                StringBuilder tails = new StringBuilder();
                live.values().forEach(c -> tails.append(c.tail()).append('\n'));
                fail("no quiet end: global versions by partition " + versions + ", "
                        + RunComparison.countCommitted(bootstrap(), APP + ".learning") + " of " + N + " learned\n" + tails);
            }
            Thread.sleep(250);
        }
        assertTrue(killed.stream().anyMatch(k -> k.contains("merge")), "the consolidator was killed: " + killed);

        assertEquals(N, RunComparison.learningEvents(bootstrap(), SERVERS.registry().apiUrl(), APP + ".learning").size(),
                "one LearningEvent per input record");
        long version = versions.get(0);
        TreeSet<String> deltas = ShardConsolidationTest.assertEachDeltaMergedOnce(bootstrap(), APP, PARTITIONS, version);
        TreeSet<Integer> reporting = new TreeSet<>();
        deltas.forEach(d -> reporting.add(Integer.parseInt(d.substring(0, d.indexOf(':')))));
        assertEquals(PARTITIONS, reporting.size(), "every partition published: " + deltas);
        for (ChildApp c : live.values()) {
            c.terminate();
        }
        System.out.printf("ShardCrashTest: killed %s; %d deltas in %d global versions, every task at version %d; "
                + "%.0f s%n", killed, deltas.size(), version, version, (System.nanoTime() - t0) / 1e9);
    }

    private ChildApp start(String name, String instance, List<String> flags) throws Exception {
        Map<String, Object> m = ChildApp.config(SERVERS, APP, INPUT, work.resolve(instance + "-state"));
        m.put("client.id", name);
        m.put(HopeStreamsConfig.CONTEXT_MODE, "off");
        m.put(HopeStreamsConfig.SHARDS_ENABLED, "true");
        m.put(HopeStreamsConfig.SHARDS_ROUND_TIMEOUT_MS, Long.toString(ROUND_TIMEOUT_MS));
        m.put(HopeStreamsConfig.SHARDS_TOPIC, APP + ".consolidation");
        m.put(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC, APP + ".global");
        m.put("producer.transaction.timeout.ms", "5000");
        ChildApp c = ChildApp.start(name, m, flags, LOGS);
        children.add(c);
        return c;
    }

    /** The global version of each partition's task, from the live instances' /v1/model (a partition held twice: any). */
    private static Map<Integer, Long> versions(Iterable<ChildApp> live) {
        Map<Integer, Long> out = new TreeMap<>();
        for (ChildApp c : live) {
            try {
                if (!c.process.isAlive() || !c.log().contains("HTTP on port")) {
                    continue;
                }
                JsonNode model = JSON.readTree(c.get("/v1/model"));
                for (JsonNode t : model.get("tasks")) {
                    out.put(t.get("partition").asInt(), t.path("globalVersion").asLong(-1));
                }
            } catch (Exception | AssertionError e) {
                // starting or stopping: asked again on the next turn
            }
        }
        return out;
    }

    private static String bootstrap() {
        return SERVERS.kafka().bootstrapServers();
    }
}

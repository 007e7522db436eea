package org.hopestreams.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.cli.HopeCli;
import org.hopestreams.stream.HopeStreamsConfig;
import org.w3c.dom.Document;
import picocli.CommandLine;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The application's side of the deployment contract, read from the code (never restated): the hope.* keys and the
 * environment mapping of {@link HopeStreamsConfig}, the HTTP paths of {@link org.hopestreams.serve.Routes}, the
 * {@code run} command's options, the jar the pom builds. Shared by the docker/ and k8s/ tests.
 */
final class DeployContract {
    /** The repository root (surefire runs tests in the module's base directory). */
    static final Path ROOT = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    static final YAMLMapper YAML = new YAMLMapper();

    private DeployContract() {
    }

    /** Default of {@code hope.http.port}: the container port, the probes' port, EXPOSE. */
    static int httpPort() {
        return (Integer) HopeStreamsConfig.DEF.defaultValues().get(HopeStreamsConfig.HTTP_PORT);
    }

    /** Default of {@code hope.http.management.port}: /health/* and /metrics, the probes' port. */
    static int managementPort() {
        return (Integer) HopeStreamsConfig.DEF.defaultValues().get(HopeStreamsConfig.HTTP_MANAGEMENT_PORT);
    }

    /** The four topics' default names (hope.input.topic, hope.learning.topic, hope.checkpoints.topic, hope.dlq.topic). */
    static Set<String> defaultTopics() {
        Map<String, Object> d = HopeStreamsConfig.DEF.defaultValues();
        return Set.of((String) d.get(HopeStreamsConfig.INPUT_TOPIC), (String) d.get(HopeStreamsConfig.LEARNING_TOPIC),
                (String) d.get(HopeStreamsConfig.CHECKPOINTS_TOPIC), (String) d.get(HopeStreamsConfig.DLQ_TOPIC),
                (String) d.get(HopeStreamsConfig.SHARDS_TOPIC), (String) d.get(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC));
    }

    /** Every YAML document of a file (multi-document files too), as Jackson trees; empty documents are skipped. */
    static List<JsonNode> yamlDocuments(Path file) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            while (it.hasNext()) {
                JsonNode n = it.next();
                if (n != null && !n.isNull() && !n.isMissingNode()) {
                    docs.add(n);
                }
            }
        }
        return docs;
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // ---- environment variables -> configuration keys ----

    private static final List<String> CLIENT_PREFIXES = List.of(StreamsConfig.PRODUCER_PREFIX,
            StreamsConfig.CONSUMER_PREFIX, StreamsConfig.MAIN_CONSUMER_PREFIX, StreamsConfig.RESTORE_CONSUMER_PREFIX,
            StreamsConfig.GLOBAL_CONSUMER_PREFIX, StreamsConfig.ADMIN_CLIENT_PREFIX);

    /** Keys of Kafka Streams and its producer, consumer and admin clients. */
    static Set<String> kafkaKeys() {
        Set<String> k = new HashSet<>(StreamsConfig.configDef().names());
        k.addAll(ProducerConfig.configNames());
        k.addAll(ConsumerConfig.configNames());
        k.addAll(AdminClientConfig.configNames());
        return k;
    }

    /** Topic-level configs (the values of TopicConfig's *_CONFIG constants), for topic.-prefixed keys. */
    static Set<String> topicKeys() {
        Set<String> k = new HashSet<>();
        for (Field f : TopicConfig.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getName().endsWith("_CONFIG") && f.getType() == String.class) {
                try {
                    k.add((String) f.get(null));
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
        return k;
    }

    /** Whether {@code key} is one the application reads: a hope.* key of the ConfigDef, a Kafka key, a serde key. */
    static boolean knownKey(String key) {
        if (key.startsWith("hope.")) {
            return HopeStreamsConfig.DEF.names().contains(key);
        }
        if (key.startsWith("apicurio.") && key.length() > "apicurio.".length()) {
            return true; // the Apicurio serde's keys (it receives every key of the configuration)
        }
        Set<String> kafka = kafkaKeys();
        if (kafka.contains(key)) {
            return true;
        }
        for (String prefix : CLIENT_PREFIXES) {
            if (key.startsWith(prefix) && kafka.contains(key.substring(prefix.length()))) {
                return true;
            }
        }
        return key.startsWith(StreamsConfig.TOPIC_PREFIX)
                && topicKeys().contains(key.substring(StreamsConfig.TOPIC_PREFIX.length()));
    }

    /**
     * Checks the names of an environment handed to the application: each HOPE_* / STREAMS_* name must map (through
     * {@link HopeStreamsConfig#fromEnvironment}) to a known key; any other name must be in {@code others} (names the
     * application ignores but the manifest needs, e.g. the downward-API POD_NAME).
     */
    static void assertEnvNamesKnown(String where, Iterable<String> names, Set<String> others) {
        List<String> bad = new ArrayList<>();
        for (String name : names) {
            Map<String, String> keys = HopeStreamsConfig.fromEnvironment(Map.of(name, "x"));
            if (keys.isEmpty()) {
                if (!others.contains(name)) {
                    bad.add(name + " (sets no key: neither HOPE_* nor STREAMS_*)");
                }
                continue;
            }
            String key = keys.keySet().iterator().next();
            if (!knownKey(key)) {
                bad.add(name + " -> " + key + " (no such hope.* / Kafka Streams / client key)");
            }
        }
        assertTrue(bad.isEmpty(), where + ": environment variables the application does not know: " + bad);
    }

    /**
     * Checks the values too: builds the application's configuration from the environment (as {@code run} does) and
     * Kafka Streams' configuration from it; types, ranges and valid strings are checked by their ConfigDefs.
     */
    static HopeStreamsConfig assertEnvValuesValid(String where, Map<String, String> env) {
        Map<String, Object> m = new LinkedHashMap<>(HopeStreamsConfig.fromEnvironment(env));
        m.putIfAbsent(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "placeholder:9092");
        try {
            HopeStreamsConfig c = new HopeStreamsConfig(m);
            new StreamsConfig(c.streamsProperties());
            return c;
        } catch (RuntimeException e) {
            throw new AssertionError(where + ": the environment " + env + " is not a valid configuration: " + e, e);
        }
    }

    // ---- the run command ----

    /** Parses a container command line (after the entrypoint's jar) as the hope CLI does; must be {@code run}. */
    static CommandLine.ParseResult parseRun(String where, List<String> args) {
        CommandLine.ParseResult pr;
        try {
            pr = new CommandLine(new HopeCli()).parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new AssertionError(where + ": " + args + " is not a valid hope command line: " + e.getMessage(), e);
        }
        assertTrue(pr.hasSubcommand(), where + ": " + args + " names no command");
        assertEquals("run", pr.subcommand().commandSpec().name(), where + ": " + args + " is not the run command");
        assertTrue(pr.subcommand().unmatched().isEmpty(), where + ": unmatched " + pr.subcommand().unmatched());
        return pr.subcommand();
    }

    // ---- the pom ----

    static Document pom() {
        try {
            return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(ROOT.resolve("pom.xml").toFile());
        } catch (Exception e) {
            throw new AssertionError("cannot read pom.xml", e);
        }
    }

    /** target/&lt;finalName&gt;.jar: the jar {@code mvn package} builds. */
    static String builtJar() {
        var nodes = pom().getElementsByTagName("finalName");
        assertEquals(1, nodes.getLength(), "one <finalName> in pom.xml");
        return "target/" + nodes.item(0).getTextContent().trim() + ".jar";
    }

    /** The jar manifest's class path prefix (maven-jar-plugin classpathPrefix). */
    static String classpathPrefix() {
        var nodes = pom().getElementsByTagName("classpathPrefix");
        assertEquals(1, nodes.getLength(), "one <classpathPrefix> in pom.xml");
        return nodes.item(0).getTextContent().trim();
    }

    /** The value of a property that the profile {@code id} sets, or null. */
    static String profileProperty(String id, String property) {
        var profiles = pom().getElementsByTagName("profile");
        for (int i = 0; i < profiles.getLength(); i++) {
            var p = (org.w3c.dom.Element) profiles.item(i);
            var ids = p.getElementsByTagName("id");
            if (ids.getLength() > 0 && ids.item(0).getTextContent().trim().equals(id)) {
                var props = p.getElementsByTagName(property);
                return props.getLength() == 0 ? null : props.item(0).getTextContent().trim();
            }
        }
        return null;
    }

    static JsonNode required(JsonNode n, String where, String... path) {
        JsonNode cur = n;
        for (String p : path) {
            cur = cur == null ? null : cur.get(p);
        }
        assertNotNull(cur, where + ": missing " + String.join(".", path));
        return cur;
    }
}

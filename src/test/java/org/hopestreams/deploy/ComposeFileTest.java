package org.hopestreams.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.serve.Routes;
import org.hopestreams.stream.HopeStreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.hopestreams.deploy.DeployContract.required;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docker/compose.yaml, read with Jackson YAML: Kafka (KRaft, one node, exactly-once capable), the registry, and the
 * app wired to both, on hope.http.port, with a healthcheck on a real route and a real {@code run} command line.
 */
class ComposeFileTest {
    static final Path COMPOSE = DeployContract.ROOT.resolve("docker/compose.yaml");
    static JsonNode services;

    @BeforeAll
    static void load() throws Exception {
        List<JsonNode> docs = DeployContract.yamlDocuments(COMPOSE);
        assertEquals(1, docs.size(), "compose.yaml: one document");
        services = required(docs.get(0), "compose.yaml", "services");
    }

    static JsonNode service(String name) {
        return required(services, "compose.yaml", name);
    }

    /** environment: in either compose form (a map, or a list of KEY=VALUE). */
    static Map<String, String> environment(JsonNode service) {
        Map<String, String> env = new LinkedHashMap<>();
        JsonNode e = service.path("environment");
        if (e.isArray()) {
            e.forEach(kv -> {
                String s = kv.asText();
                int eq = s.indexOf('=');
                env.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? "" : s.substring(eq + 1));
            });
        } else {
            e.fields().forEachRemaining(f -> env.put(f.getKey(), f.getValue().asText()));
        }
        return env;
    }

    /** ports: "HOST:CONTAINER" strings (short syntax) or {published, target} maps, as host -> container. */
    static Map<Integer, Integer> ports(JsonNode service) {
        Map<Integer, Integer> m = new LinkedHashMap<>();
        for (JsonNode p : service.path("ports")) {
            if (p.isObject()) {
                m.put(p.path("published").asInt(), p.path("target").asInt());
            } else {
                String[] parts = p.asText().replaceAll("/(tcp|udp)$", "").split(":");
                assertTrue(parts.length >= 2, "port " + p.asText() + ": publish HOST:CONTAINER");
                m.put(Integer.parseInt(parts[parts.length - 2]), Integer.parseInt(parts[parts.length - 1]));
            }
        }
        return m;
    }

    static List<String> command(JsonNode service) {
        JsonNode c = required(service, "app", "command");
        List<String> out = new ArrayList<>();
        if (c.isArray()) {
            c.forEach(x -> out.add(x.asText()));
        } else {
            out.addAll(List.of(c.asText().trim().split("\\s+")));
        }
        return out;
    }

    /** The ports a service listens on inside its container (what it publishes, or for Kafka its listeners). */
    static Set<Integer> containerPorts(String name) {
        Set<Integer> s = new HashSet<>(ports(service(name)).values());
        String listeners = environment(service(name)).get("KAFKA_LISTENERS");
        if (listeners != null) {
            for (String l : listeners.split(",")) {
                s.add(Integer.parseInt(l.substring(l.lastIndexOf(':') + 1)));
            }
        }
        return s;
    }

    @Test
    void appIsBuiltFromTheDockerfileAndPublishesTheHttpPort() {
        JsonNode app = service("app");
        Path context = COMPOSE.getParent().resolve(required(app, "app", "build", "context").asText()).normalize();
        Path dockerfile = context.resolve(app.path("build").path("dockerfile").asText("Dockerfile")).normalize();
        assertEquals(DeployContract.ROOT, context, "build context: the repository root (pom.xml, src/)");
        assertEquals(DeployContract.ROOT.resolve("docker/Dockerfile"), dockerfile, "app: built from docker/Dockerfile");
        assertTrue(Files.isRegularFile(dockerfile));

        int port = DeployContract.httpPort();
        assertTrue(ports(app).containsValue(port), "app publishes its container port " + port + ": " + ports(app));
        Map<Integer, String> hostPorts = new LinkedHashMap<>();
        services.fieldNames().forEachRemaining(s -> ports(service(s)).keySet().forEach(h -> {
            String before = hostPorts.put(h, s);
            assertTrue(before == null, "host port " + h + " published by both " + before + " and " + s);
        }));
    }

    @Test
    void appEnvironmentSetsRealKeysAndPointsAtKafkaAndTheRegistry() {
        Map<String, String> env = environment(service("app"));
        DeployContract.assertEnvNamesKnown("compose app", env.keySet(), Set.of());
        HopeStreamsConfig cfg = DeployContract.assertEnvValuesValid("compose app", env);

        String bootstrap = env.get(HopeStreamsConfig.envName(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG));
        assertNotNull(bootstrap, "STREAMS_BOOTSTRAP_SERVERS");
        String[] hp = bootstrap.split(":");
        assertEquals("kafka", hp[0], "bootstrap host: the kafka service");
        assertTrue(containerPorts("kafka").contains(Integer.parseInt(hp[1])), "bootstrap port is a Kafka listener");
        assertTrue(environment(service("kafka")).get("KAFKA_ADVERTISED_LISTENERS").contains("//" + bootstrap),
                "Kafka advertises " + bootstrap + " to the app");

        URI registry = URI.create(cfg.getString(HopeStreamsConfig.REGISTRY_URL));
        assertEquals("registry", registry.getHost(), "registry URL host: the registry service");
        assertTrue(containerPorts("registry").contains(registry.getPort()), "registry URL port: the registry's port");
        assertEquals("/apis/ccompat/v7", registry.getPath(), "the registry's Confluent-compatible API");
        assertEquals("confluent", cfg.getString(HopeStreamsConfig.REGISTRY_API), "the API of that URL");
        assertEquals("FULL_TRANSITIVE", cfg.getString(HopeStreamsConfig.REGISTRY_COMPATIBILITY_INPUT));
        assertEquals("FULL_TRANSITIVE", cfg.getString(HopeStreamsConfig.REGISTRY_COMPATIBILITY_OUTPUT));

        // application.server = this container's service name and the HTTP port
        assertEquals("app:" + DeployContract.httpPort(), env.get("STREAMS_APPLICATION_SERVER"), "application.server");
        assertEquals(DeployContract.httpPort(), cfg.getInt(HopeStreamsConfig.HTTP_PORT));
    }

    @Test
    void healthcheckUsesTheReadyRouteOnTheManagementPort() {
        List<String> test = new ArrayList<>();
        required(service("app"), "app", "healthcheck", "test").forEach(t -> test.add(t.asText()));
        List<String> urls = test.stream().filter(t -> t.startsWith("http://")).toList();
        assertEquals(1, urls.size(), "healthcheck: one URL in " + test);
        URI u = URI.create(urls.get(0));
        assertEquals(Routes.READY, u.getPath(), "healthcheck path");
        assertTrue(Routes.GET.contains(u.getPath()));
        assertEquals(DeployContract.managementPort(), u.getPort(), "healthcheck port: the management port");
        // the image has no curl: the probe is a class of the jar, run by the image's java
        assertEquals(List.of("CMD", "java", "-cp", "/app/hope-streams.jar", org.hopestreams.cli.HealthProbe.class.getName()),
                test.subList(0, 5), "CMD java -cp <jar> HealthProbe URL: " + test);
    }

    @Test
    void appCommandIsRunCreatingTheTopics() {
        CommandLine.ParseResult run = DeployContract.parseRun("compose app command", command(service("app")));
        Integer partitions = run.matchedOptionValue("--create-topics", 0);
        assertTrue(partitions >= 1, "run --create-topics N (N >= 1): the compose stack has no topic operator");
    }

    @Test
    void kafkaIsOneKraftNodeThatExactlyOnceCanUse() {
        JsonNode kafka = service("kafka");
        assertEquals("apache/kafka:3.9.1", kafka.path("image").asText());
        Map<String, String> env = environment(kafka);
        assertEquals(Set.of("broker", "controller"), Set.of(env.get("KAFKA_PROCESS_ROLES").split(",")), "KRaft combined");
        assertTrue(env.get("KAFKA_CONTROLLER_QUORUM_VOTERS").startsWith(env.get("KAFKA_NODE_ID") + "@"), "voter = node");
        for (String k : List.of("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR")) {
            assertEquals("1", env.get(k), k + " on one node (exactly-once needs the transaction state log)");
        }
        assertEquals("apicurio/apicurio-registry:3.0.9", service("registry").path("image").asText());
    }

    @Test
    void appWaitsForItsDependenciesAndKeepsStateInANamedVolume() throws Exception {
        JsonNode app = service("app");
        JsonNode deps = required(app, "app", "depends_on");
        assertTrue(deps.isObject(), "depends_on with conditions (long form)");
        Set<String> named = new HashSet<>();
        deps.fieldNames().forEachRemaining(named::add);
        assertEquals(Set.of("kafka", "registry"), named);
        deps.fields().forEachRemaining(d -> {
            String cond = d.getValue().path("condition").asText();
            assertTrue(Set.of("service_started", "service_healthy").contains(cond), d.getKey() + ": condition " + cond);
            if (cond.equals("service_healthy")) {
                assertFalse(service(d.getKey()).path("healthcheck").isMissingNode(), d.getKey() + " has a healthcheck");
            }
        });
        assertEquals("service_healthy", deps.path("kafka").path("condition").asText(), "app starts once Kafka answers");

        String stateDir = Dockerfiles.stages(DeployContract.ROOT.resolve("docker/Dockerfile")).get(1).env()
                .get(HopeStreamsConfig.envName(StreamsConfig.STATE_DIR_CONFIG));
        List<String> mounts = new ArrayList<>();
        app.path("volumes").forEach(v -> mounts.add(v.asText()));
        List<String> state = mounts.stream().filter(m -> m.endsWith(":" + stateDir)).toList();
        assertEquals(1, state.size(), "a volume at the image's state dir " + stateDir + ": " + mounts);
        String volume = state.get(0).split(":")[0];
        List<JsonNode> docs = DeployContract.yamlDocuments(COMPOSE);
        assertTrue(docs.get(0).path("volumes").has(volume), "the state volume " + volume + " is a named volume");
    }
}

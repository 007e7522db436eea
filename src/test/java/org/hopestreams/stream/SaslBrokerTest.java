package org.hopestreams.stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.hopestreams.TestCerts;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.embedded.EmbeddedKafka;
import org.hopestreams.embedded.EmbeddedRegistry;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The application against a broker that authenticates its clients: a real in-JVM KRaft broker with two client
 * listeners beside the test kit's PLAINTEXT controller listener:
 * <ul>
 *   <li>the kit's SASL_PLAINTEXT listener with SCRAM-SHA-256 (beside the PLAIN the kit uses for itself and its admin);</li>
 *   <li>{@value #TLS_LISTENER}: SASL_SSL with SCRAM-SHA-512, as the Strimzi listener of {@code k8s/base/kafka.yaml}, its
 *       certificate signed by a CA made for the test ({@link TestCerts}).</li>
 * </ul>
 * The application's user is created with {@code Admin#alterUserScramCredentials} (both mechanisms). With its password
 * the application creates its topics and learns the records it is sent through either listener; on the TLS listener
 * it is configured as an operator does it ({@code STREAMS_*} environment variables, the CA as a PEM file, as
 * {@code k8s/base/configmap.yaml}). With a wrong password, or without the CA in its trust store, it stops at once
 * with a sentence that names the problem and the settings to check, not a retry loop. The two Kafka identities of
 * {@code k8s/base} work with exactly the ACLs that {@code kafka-users.yaml} gives them (read from it): the learners'
 * user {@code hope-streams} learns with exactly-once, and the registry of {@code registry.yaml} (Apicurio's
 * KafkaSQL storage, started with that file's environment) stores the schemas as {@code apicurio-registry}.
 */
class SaslBrokerTest {
    private static final String USER = "hope-app";
    private static final String PASSWORD = "hope-app-secret";
    private static final String TLS_LISTENER = "SECURE";

    @RegisterExtension
    static final StreamTestSupport.Registry REGISTRY = new StreamTestSupport.Registry();

    @TempDir
    static Path certsDir;

    private static TestCerts certs;
    private static KafkaClusterTestKit cluster;
    private static String tlsBootstrap;

    @BeforeAll
    static void startBroker() throws Exception {
        certs = new TestCerts(certsDir);
        certs.authority("kafka-ca");
        Path brokerKeys = certs.signed("broker", "kafka-ca");
        TestKitNodes nodes = new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1)
                .setBrokerSecurityProtocol(SecurityProtocol.SASL_PLAINTEXT).build();
        KafkaClusterTestKit.Builder b = new KafkaClusterTestKit.Builder(nodes);
        EmbeddedKafka.SINGLE_NODE_DEFAULTS.forEach(b::setConfigProp);
        String kitListener = nodes.brokerListenerName().value();
        String controller = nodes.controllerListenerName().value();
        // The kit's listeners (it only makes PLAINTEXT and SASL_PLAINTEXT ones) and ours, SASL_SSL
        b.setConfigProp("listeners", kitListener + "://127.0.0.1:0," + controller + "://127.0.0.1:0,"
                + TLS_LISTENER + "://127.0.0.1:0");
        b.setConfigProp("listener.security.protocol.map", kitListener + ":SASL_PLAINTEXT," + controller + ":PLAINTEXT,"
                + TLS_LISTENER + ":SASL_SSL");
        // The test kit's broker speaks PLAIN (its admin plain-admin, also between brokers); SCRAM as well for us.
        b.setConfigProp("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256");
        b.setConfigProp("listener.name." + kitListener.toLowerCase(Locale.ROOT) + ".scram-sha-256.sasl.jaas.config",
                SCRAM_LOGIN);
        String tls = "listener.name." + TLS_LISTENER.toLowerCase(Locale.ROOT) + ".";
        b.setConfigProp(tls + "sasl.enabled.mechanisms", "SCRAM-SHA-512");
        b.setConfigProp(tls + "scram-sha-512.sasl.jaas.config", SCRAM_LOGIN);
        b.setConfigProp(tls + "ssl.keystore.type", "PKCS12");
        b.setConfigProp(tls + "ssl.keystore.location", brokerKeys.toString());
        b.setConfigProp(tls + "ssl.keystore.password", TestCerts.PASSWORD);
        b.setConfigProp(tls + "ssl.key.password", TestCerts.PASSWORD);
        // The kit turns on the standard authorizer (no ACL, no access): the application's user is a super user here
        // (the tests of k8s/base's users give those their ACLs), and so is ANONYMOUS, the broker itself registering
        // over the kit's PLAINTEXT controller listener (clients reach only the SASL listeners).
        b.setConfigProp("super.users", "User:plain-admin;User:ANONYMOUS;User:" + USER);
        cluster = b.build();
        cluster.format();
        cluster.startup();
        cluster.waitForReadyBrokers();
        tlsBootstrap = "127.0.0.1:" + cluster.brokers().values().iterator().next()
                .boundPort(new ListenerName(TLS_LISTENER));
        try (Admin admin = kitAdmin()) {
            addScramUser(admin, USER, PASSWORD, ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512);
        }
    }

    private static final String SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required;";

    /** The test kit's own admin (a super user) on its SASL_PLAINTEXT listener. */
    private static Admin kitAdmin() {
        return Admin.create(Map.of("bootstrap.servers", cluster.bootstrapServers(),
                "security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required "
                        + "username=\"plain-admin\" password=\"plain-admin-secret\";"));
    }

    /** SCRAM credentials of {@code user}, once the broker has them (they reach it through the metadata log). */
    private static void addScramUser(Admin admin, String user, String password, ScramMechanism... mechanisms)
            throws Exception {
        for (ScramMechanism mechanism : mechanisms) {
            // one credential per request (the broker refuses a user twice in one)
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                    new ScramCredentialInfo(mechanism, 4096), password))).all().get(30, TimeUnit.SECONDS);
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            var d = admin.describeUserScramCredentials(List.of(user)).all().get();
            if (!d.isEmpty() && d.get(user).credentialInfos().size() == mechanisms.length) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("SCRAM credentials of " + user + " not on the broker after 30 s");
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static String jaas(String password) {
        return jaas(USER, password);
    }

    private static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    /** The test configuration of {@code appId}, without topic names (the defaults) and security settings. */
    private static Map<String, Object> appConfig(String bootstrap, String registryUrl, String appId, Path state) {
        Map<String, Object> m = StreamTestSupport.appConfig(bootstrap, registryUrl, appId, state);
        m.put(HopeStreamsConfig.DEVICE, "cpu");
        return m;
    }

    /** The kit's SASL_PLAINTEXT listener, SCRAM-SHA-256 as the application's user (a super user here). */
    private static HopeStreamsConfig config(String appId, String password, Path state) {
        Map<String, Object> m = appConfig(cluster.bootstrapServers(), REGISTRY.apiUrl(), appId, state);
        StreamTestSupport.topics(m, appId);
        return new HopeStreamsConfig(kitListener(m, password));
    }

    private static Map<String, Object> kitListener(Map<String, Object> m, String password) {
        Map<String, Object> out = new HashMap<>(m);
        out.put("security.protocol", "SASL_PLAINTEXT");
        out.put("sasl.mechanism", "SCRAM-SHA-256");
        out.put("sasl.jaas.config", jaas(password));
        return out;
    }

    /** The SASL_SSL listener as the application's user, topics named after {@code appId}. */
    private static HopeStreamsConfig tlsConfig(String appId, boolean trustCa, Path state) {
        return tlsConfig(appId, trustCa, REGISTRY.apiUrl(), state);
    }

    private static HopeStreamsConfig tlsConfig(String appId, boolean trustCa, String registryUrl, Path state) {
        Map<String, Object> m = appConfig(tlsBootstrap, registryUrl, appId, state);
        StreamTestSupport.topics(m, appId);
        return new HopeStreamsConfig(tlsListener(m, USER, PASSWORD, trustCa));
    }

    /**
     * {@code m} on the SASL_SSL listener as {@code user}, through the environment variables of
     * {@code k8s/base/configmap.yaml} and the StatefulSet ({@code STREAMS_SECURITY_PROTOCOL},
     * {@code STREAMS_SASL_MECHANISM}, {@code STREAMS_SSL_TRUSTSTORE_TYPE}/{@code _LOCATION}: the CA as PEM,
     * {@code STREAMS_SASL_JAAS_CONFIG}); without {@code trustCa} no trust store is given (the JVM's default CAs,
     * which do not know this one).
     */
    private static Map<String, Object> tlsListener(Map<String, Object> m, String user, String password, boolean trustCa) {
        Map<String, String> env = new HashMap<>();
        env.put("STREAMS_SECURITY_PROTOCOL", "SASL_SSL");
        env.put("STREAMS_SASL_MECHANISM", "SCRAM-SHA-512");
        env.put("STREAMS_SASL_JAAS_CONFIG", jaas(user, password));
        if (trustCa) {
            env.put("STREAMS_SSL_TRUSTSTORE_TYPE", "PEM");
            env.put("STREAMS_SSL_TRUSTSTORE_LOCATION", certs.pem("kafka-ca").toString());
        }
        Map<String, Object> out = new HashMap<>(m);
        out.putAll(HopeStreamsConfig.fromEnvironment(env));
        return out;
    }

    @Test
    void learnsThroughTheAuthenticatedListener(@TempDir Path dir) throws Exception {
        learnsThrough(config("sasl-ok", PASSWORD, dir), "SASL/SCRAM");
    }

    @Test
    void learnsThroughTheTlsListener(@TempDir Path dir) throws Exception {
        learnsThrough(tlsConfig("tls-ok", true, dir), "SASL_SSL/SCRAM-SHA-512");
    }

    private static void learnsThrough(HopeStreamsConfig config, String listener) throws Exception {
        learnsThrough(config, config, listener);
    }

    /**
     * {@code input} creates the topics and sends 8 records; the application, configured by {@code config}, learns
     * them.
     */
    private static void learnsThrough(HopeStreamsConfig input, HopeStreamsConfig config, String listener)
            throws Exception {
        StreamApp.createTopics(input, 1, (short) 1);
        try (KafkaProducer<String, TextEvent> producer = TextEventProducer.create(input, Map.of())) {
            TextEventProducer.sendAll(producer, StreamTestSupport.shortEvents(8, List.of("a", "b"), 1_700_000_000_000L,
                    100).stream().map(e -> new ProducerRecord<>(config.inputTopic(), e.getKey(), e)).toList());
        }
        try (StreamApp app = StreamApp.start(config)) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            long learned = 0;
            while (learned < 8 && System.nanoTime() < end && app.failure() == null) {
                learned = app.hub().model(0).map(m -> m.steps()[0]).orElse(0L);
                Thread.sleep(200);
            }
            assertEquals(null, app.failure());
            assertEquals(8, learned, "the 8 records learned through the " + listener + " listener");
        }
    }

    @Test
    void aWrongPasswordStopsAtOnceWithAClearError(@TempDir Path dir) throws Exception {
        stopsAtOnce(config("sasl-wrong", "not-the-password", dir), "Kafka refused this application's credentials",
                List.of("not retrying"), List.of("SCRAM-SHA-256", "uthentication failed"));
    }

    @Test
    void withoutTheCaItStopsAtOnceNamingTheCertificate(@TempDir Path dir) throws Exception {
        stopsAtOnce(tlsConfig("tls-untrusted", false, dir), "This application does not trust Kafka's TLS certificate",
                List.of("ssl.truststore.location", "not retrying"), List.of("PKIX", "certification path"));
    }

    /**
     * The learners' KafkaUser of {@code k8s/base/kafka-users.yaml}: the user {@code hope-streams}, not a super user,
     * holding exactly the ACLs written there, with the default application id and topic names that they name,
     * learns through the SASL_SSL listener with exactly-once (its transactional ids, its group, its internal
     * topics). The topics and the input come from elsewhere, as in the cluster (the topic operator, the producers):
     * the kit's super user here.
     */
    @Test
    void learnsAsTheK8sKafkaUserWithOnlyItsAcls(@TempDir Path dir) throws Exception {
        String user = "hope-streams";
        String password = "learner-secret";
        try (Admin admin = kitAdmin()) {
            addScramUser(admin, user, password, ScramMechanism.SCRAM_SHA_512);
            admin.createAcls(strimziAcls(k8sDocument(new YAMLMapper(), "kafka-users.yaml", "KafkaUser", user), user))
                    .all().get(30, TimeUnit.SECONDS);
        }
        Map<String, Object> m = appConfig(tlsBootstrap, REGISTRY.apiUrl(), "hope-streams", dir);
        HopeStreamsConfig input = new HopeStreamsConfig(kitListener(
                appConfig(cluster.bootstrapServers(), REGISTRY.apiUrl(), "hope-streams", dir), PASSWORD));
        learnsThrough(input, new HopeStreamsConfig(tlsListener(m, user, password, true)),
                "SASL_SSL/SCRAM-SHA-512 as the KafkaUser " + user);
    }

    /**
     * The schema registry of {@code k8s/base}: Apicurio 3.0.9 with KafkaSQL storage, configured by the environment
     * of {@code registry.yaml} (the broker's address, the CA file and the JAAS line from the Secret being this
     * test's), as the KafkaUser {@code apicurio-registry} of {@code kafka-users.yaml}: not a super user, only the ACLs
     * written there. The registry stores the application's schemas in its journal topic through the SASL_SSL
     * listener, and the application learns with it.
     */
    @Test
    void theK8sRegistryStoresSchemasThroughTheTlsListenerWithItsOwnAcls(@TempDir Path dir) throws Exception {
        String user = "apicurio-registry";
        String password = "registry-secret";
        YAMLMapper yaml = new YAMLMapper();
        JsonNode kafkaUser = k8sDocument(yaml, "kafka-users.yaml", "KafkaUser", user);
        try (Admin admin = kitAdmin()) {
            addScramUser(admin, user, password, ScramMechanism.SCRAM_SHA_512);
            admin.createAcls(strimziAcls(kafkaUser, user)).all().get(30, TimeUnit.SECONDS);
        }
        Map<String, String> env = new HashMap<>();
        JsonNode container = k8sDocument(yaml, "registry.yaml", "Deployment", user).at("/spec/template/spec/containers/0");
        for (JsonNode e : container.path("env")) {
            if (e.has("value")) {
                env.put(e.get("name").asText(), e.get("value").asText());
            } else {
                assertEquals(user, e.at("/valueFrom/secretKeyRef/name").asText(), "from the KafkaUser's Secret: " + e);
                assertEquals("sasl.jaas.config", e.at("/valueFrom/secretKeyRef/key").asText(), e.toString());
                env.put(e.get("name").asText(), jaas(user, password));
            }
        }
        assertEquals("SASL_SSL", env.get("APICURIO_KAFKA_COMMON_SECURITY_PROTOCOL"));
        assertTrue(env.containsKey("APICURIO_KAFKA_COMMON_SASL_JAAS_CONFIG"), env.toString());
        env.put("APICURIO_KAFKASQL_BOOTSTRAP_SERVERS", tlsBootstrap);
        env.put("APICURIO_KAFKA_COMMON_SSL_TRUSTSTORE_LOCATION", certs.pem("kafka-ca").toString());
        try (EmbeddedRegistry registry = EmbeddedRegistry.builder().environment(env)
                .startTimeout(Duration.ofSeconds(120)).start()) {
            learnsThrough(tlsConfig("tls-k8s-registry", true, registry.apiUrl(), dir), "SASL_SSL/SCRAM-SHA-512");
            try (Admin admin = kitAdmin()) {
                var journal = new org.apache.kafka.common.TopicPartition("kafkasql-journal", 0);
                long end = admin.listOffsets(Map.of(journal, org.apache.kafka.clients.admin.OffsetSpec.latest()))
                        .all().get(30, TimeUnit.SECONDS).get(journal).offset();
                assertTrue(end > 0, "the registry wrote its journal through the TLS listener: " + end + " records");
            }
        }
    }

    /**
     * The ACLs of a Strimzi {@code KafkaUser} ({@code spec.authorization.acls}: resource type, name and pattern,
     * operations; allow, any host) as the broker's {@link AclBinding}s for {@code User:<user>}.
     */
    private static List<AclBinding> strimziAcls(JsonNode kafkaUser, String user) {
        List<AclBinding> out = new ArrayList<>();
        for (JsonNode acl : kafkaUser.at("/spec/authorization/acls")) {
            JsonNode r = acl.get("resource");
            String type = r.get("type").asText();
            ResourcePattern pattern = new ResourcePattern(ResourceType.fromString(upperSnake(type)),
                    "cluster".equals(type) ? "kafka-cluster" : r.get("name").asText(),
                    "prefix".equals(r.path("patternType").asText("literal")) ? PatternType.PREFIXED : PatternType.LITERAL);
            for (JsonNode op : acl.get("operations")) {
                out.add(new AclBinding(pattern, new AccessControlEntry("User:" + user, "*",
                        AclOperation.fromString(upperSnake(op.asText())), AclPermissionType.ALLOW)));
            }
        }
        assertFalse(out.isEmpty(), "ACLs in " + kafkaUser);
        return out;
    }

    /** {@code DescribeConfigs} → {@code DESCRIBE_CONFIGS}, {@code transactionalId} → {@code TRANSACTIONAL_ID}. */
    private static String upperSnake(String camel) {
        return camel.replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
    }

    private static JsonNode k8sDocument(YAMLMapper yaml, String file, String kind, String name) throws Exception {
        Path path = Path.of(System.getProperty("user.dir"), "k8s", "base", file);
        try (var docs = yaml.readerFor(JsonNode.class).<JsonNode>readValues(path.toFile())) {
            while (docs.hasNext()) {
                JsonNode d = docs.next();
                if (kind.equals(d.path("kind").asText()) && name.equals(d.at("/metadata/name").asText())) {
                    return d;
                }
            }
        }
        throw new AssertionError("no " + kind + " " + name + " in " + path);
    }

    /**
     * {@code createTopics} throws, and the application stops (no retry loop) with a failure whose message starts
     * with {@code start}, contains every one of {@code all} and one of {@code any} (what the client said).
     */
    private static void stopsAtOnce(HopeStreamsConfig config, String start, List<String> all, List<String> any)
            throws Exception {
        long t0 = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> StreamApp.createTopics(config, 1, (short) 1));
        assertMessage(e, start, all, any);
        try (StreamApp app = StreamApp.start(config)) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (app.failure() == null && System.nanoTime() < end) {
                Thread.sleep(100);
            }
            assertNotNull(app.failure(), "the application stopped instead of retrying");
            assertMessage(app.failure(), start, all, any);
            long end2 = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (app.streams().state() != KafkaStreams.State.ERROR && app.streams().state() != KafkaStreams.State.NOT_RUNNING
                    && System.nanoTime() < end2) {
                Thread.sleep(100);
            }
            assertTrue(app.streams().state() == KafkaStreams.State.ERROR
                    || app.streams().state() == KafkaStreams.State.NOT_RUNNING, "stopped: " + app.streams().state());
        }
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(45), "fast, not a retry loop: "
                + Duration.ofNanos(System.nanoTime() - t0).toSeconds() + " s");
    }

    private static void assertMessage(Throwable e, String start, List<String> all, List<String> any) {
        String m = e.getMessage();
        assertTrue(m.startsWith(start + " ("), m);
        all.forEach(s -> assertTrue(m.contains(s), "says " + s + ": " + m));
        assertTrue(any.stream().anyMatch(m::contains), "says one of " + any + ": " + m);
    }
}

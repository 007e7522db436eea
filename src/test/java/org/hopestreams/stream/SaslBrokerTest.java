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
import org.hopestreams.avro.TextEvent;
import org.hopestreams.embedded.EmbeddedKafka;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The application against a broker that authenticates its clients: a real in-JVM KRaft broker whose listener is
 * SASL_PLAINTEXT with SCRAM-SHA-256 (beside the PLAIN the test kit uses for itself and its admin), the application's
 * user created with {@code Admin#alterUserScramCredentials}. With its password the application creates its topics
 * and learns the records it is sent through that listener; with a wrong one it stops at once with the sentence that
 * names the settings to check ("Kafka refused this application's credentials ... not retrying"), not a retry loop.
 */
class SaslBrokerTest {
    private static final String USER = "hope-app";
    private static final String PASSWORD = "hope-app-secret";

    @RegisterExtension
    static final StreamTestSupport.Registry REGISTRY = new StreamTestSupport.Registry();

    private static KafkaClusterTestKit cluster;

    @BeforeAll
    static void startBroker() throws Exception {
        TestKitNodes nodes = new TestKitNodes.Builder().setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1)
                .setBrokerSecurityProtocol(SecurityProtocol.SASL_PLAINTEXT).build();
        KafkaClusterTestKit.Builder b = new KafkaClusterTestKit.Builder(nodes);
        EmbeddedKafka.SINGLE_NODE_DEFAULTS.forEach(b::setConfigProp);
        String listener = nodes.brokerListenerName().value().toLowerCase(java.util.Locale.ROOT);
        // The test kit's broker speaks PLAIN (its admin plain-admin, also between brokers); SCRAM as well for us.
        b.setConfigProp("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256");
        b.setConfigProp("listener.name." + listener + ".scram-sha-256.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required;");
        // The kit turns on the standard authorizer (no ACL, no access): the application's user is a super user here
        // (docs/deploy.md gives the ACLs of a real cluster), and so is ANONYMOUS, the broker itself registering over
        // the kit's PLAINTEXT controller listener (clients reach only the SASL listener).
        b.setConfigProp("super.users", "User:plain-admin;User:ANONYMOUS;User:" + USER);
        cluster = b.build();
        cluster.format();
        cluster.startup();
        cluster.waitForReadyBrokers();
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrapServers(),
                "security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required "
                        + "username=\"plain-admin\" password=\"plain-admin-secret\";"))) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(USER,
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), PASSWORD))).all().get(30, TimeUnit.SECONDS);
            // the credential reaches the broker's cache through the metadata log
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (admin.describeUserScramCredentials(List.of(USER)).all().get().isEmpty() && System.nanoTime() < end) {
                Thread.sleep(100);
            }
        }
    }

    @AfterAll
    static void stopBroker() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static HopeStreamsConfig config(String appId, String password, Path state) {
        Map<String, Object> m = StreamTestSupport.appConfig(cluster.bootstrapServers(), REGISTRY.apiUrl(), appId, state);
        StreamTestSupport.topics(m, appId);
        m.put(HopeStreamsConfig.DEVICE, "cpu");
        m.put("security.protocol", "SASL_PLAINTEXT");
        m.put("sasl.mechanism", "SCRAM-SHA-256");
        m.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + USER + "\" password=\"" + password + "\";");
        return new HopeStreamsConfig(new HashMap<>(m));
    }

    @Test
    void learnsThroughTheAuthenticatedListener(@TempDir Path dir) throws Exception {
        HopeStreamsConfig config = config("sasl-ok", PASSWORD, dir);
        StreamApp.createTopics(config, 1, (short) 1);
        try (KafkaProducer<String, TextEvent> producer = TextEventProducer.create(config, Map.of())) {
            for (TextEvent e : StreamTestSupport.shortEvents(8, List.of("a", "b"), 1_700_000_000_000L, 100)) {
                producer.send(new ProducerRecord<>(config.inputTopic(), e.getKey(), e));
            }
            producer.flush();
        }
        try (StreamApp app = StreamApp.start(config)) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            long learned = 0;
            while (learned < 8 && System.nanoTime() < end && app.failure() == null) {
                learned = app.hub().model(0).map(m -> m.steps()[0]).orElse(0L);
                Thread.sleep(200);
            }
            assertEquals(null, app.failure());
            assertEquals(8, learned, "the 8 records learned through the SASL/SCRAM listener");
        }
    }

    @Test
    void aWrongPasswordStopsAtOnceWithAClearError(@TempDir Path dir) throws Exception {
        HopeStreamsConfig config = config("sasl-wrong", "not-the-password", dir);
        long t0 = System.nanoTime();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> StreamApp.createTopics(config, 1, (short) 1));
        assertTrue(e.getMessage().startsWith("Kafka refused this application's credentials"), e.getMessage());
        assertTrue(e.getMessage().contains("not retrying"), e.getMessage());
        try (StreamApp app = StreamApp.start(config)) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (app.failure() == null && System.nanoTime() < end) {
                Thread.sleep(100);
            }
            assertNotNull(app.failure(), "the application stopped instead of retrying");
            assertTrue(app.failure().getMessage().startsWith("Kafka refused this application's credentials ("),
                    app.failure().getMessage());
            assertTrue(app.failure().getMessage().contains("SCRAM-SHA-256")
                    || app.failure().getMessage().contains("uthentication failed"), app.failure().getMessage());
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
}

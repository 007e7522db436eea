package org.hopestreams.embedded;

import kafka.server.BrokerServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real, in-JVM, single-node KRaft Kafka cluster (one combined broker+controller) built on Kafka's own
 * {@code KafkaClusterTestKit} from {@code org.apache.kafka:kafka-test-common-runtime} (compile scope: the
 * {@code demo} command and the integration tests both run it).
 *
 * <h2>How to run</h2>
 * <pre>{@code
 * try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
 *     kafka.createTopics(1, "hope.events", "hope.learning");
 *     String bootstrap = kafka.bootstrapServers();   // e.g. localhost:40123
 *     ...
 * }
 * }</pre>
 * No external process, no Docker, no fixed port: listeners bind {@code 127.0.0.1} on ephemeral ports.
 *
 * <h2>Ownership and lifecycle</h2>
 * <ul>
 *   <li>{@link #start} returns a running, ready cluster or throws (and then has released everything it started).</li>
 *   <li>The caller owns the instance and must {@link #close} it (try-with-resources). {@code close()} stops the
 *       broker/controller threads and deletes the cluster's data (a {@code /tmp/kafka-*} directory); it is
 *       idempotent. Nothing is persistent: every start is a fresh, empty cluster.</li>
 *   <li>{@link #admin()} is a shared {@link Admin} owned by this object; do not close it yourself.</li>
 *   <li>Clients, Streams apps etc. created against {@link #bootstrapServers()} are owned by the caller and should
 *       be closed <em>before</em> the cluster.</li>
 *   <li>Broker settings are {@link #SINGLE_NODE_DEFAULTS} (replication factor 1 for the internal topics, no topic
 *       auto-creation): create topics with {@link #createTopics}.</li>
 *   <li>{@link #stopBroker} and {@link #startBroker} bounce the broker while the controller keeps running (fault
 *       tests): its logs stay on disk and it comes back on the same port, so clients reconnect by themselves.</li>
 * </ul>
 * Logs one INFO line per lifecycle event (starting, started, stopping, stopped) on logger
 * {@code org.hopestreams.embedded.EmbeddedKafka}. The test kit itself prints two lines to stdout while formatting
 * its metadata directory; that cannot be turned off.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);

    /**
     * Broker settings a single-broker cluster needs. Kafka's defaults assume at least 3 brokers for the internal
     * topics; with one broker the group coordinator and transaction coordinator never become available
     * (consumers hang in FindCoordinator, exactly-once producers in InitProducerId).
     */
    public static final Map<String, Object> SINGLE_NODE_DEFAULTS = Map.ofEntries(
            Map.entry("offsets.topic.replication.factor", "1"),
            Map.entry("offsets.topic.num.partitions", "1"),
            Map.entry("transaction.state.log.replication.factor", "1"),
            Map.entry("transaction.state.log.min.isr", "1"),
            Map.entry("transaction.state.log.num.partitions", "1"),
            Map.entry("share.coordinator.state.topic.replication.factor", "1"),
            Map.entry("share.coordinator.state.topic.min.isr", "1"),
            Map.entry("share.coordinator.state.topic.num.partitions", "1"),
            Map.entry("default.replication.factor", "1"),
            Map.entry("min.insync.replicas", "1"),
            Map.entry("group.initial.rebalance.delay.ms", "0"),
            Map.entry("auto.create.topics.enable", "false"),
            // Records keep their event time as timestamp; replayed or test data from long ago would fall under
            // the default 7-day retention at the first check (30 s after start) and vanish mid-run.
            Map.entry("log.retention.ms", "-1"));

    private final KafkaClusterTestKit cluster;
    private final String bootstrapServers;
    private final Duration startupTime;
    private Admin admin;
    private boolean closed;

    private EmbeddedKafka(KafkaClusterTestKit cluster, Duration startupTime) {
        this.cluster = cluster;
        // the listeners bind 127.0.0.1; the test kit names them localhost
        this.bootstrapServers = cluster.bootstrapServers().replace("localhost:", "127.0.0.1:");
        this.startupTime = startupTime;
    }

    /** Starts a single combined broker+controller with {@link #SINGLE_NODE_DEFAULTS}. */
    public static EmbeddedKafka start() throws Exception {
        return start(Map.of());
    }

    /**
     * Starts a single combined broker+controller and waits until the broker is ready.
     *
     * @param overrides broker configs that win over {@link #SINGLE_NODE_DEFAULTS}
     */
    public static EmbeddedKafka start(Map<String, ?> overrides) throws Exception {
        LOG.info("Embedded Kafka: starting a single-node KRaft cluster (combined broker+controller)");
        long t0 = System.nanoTime();
        TestKitNodes nodes = new TestKitNodes.Builder()
                .setCombined(true)
                .setNumBrokerNodes(1)
                .setNumControllerNodes(1)
                .build();
        KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(nodes);
        Map<String, Object> props = new LinkedHashMap<>(SINGLE_NODE_DEFAULTS);
        // The loopback address only (the test kit's own listeners say localhost, which may be any local address)
        props.put("listeners", nodes.brokerListenerName().value() + "://127.0.0.1:0,"
                + nodes.controllerListenerName().value() + "://127.0.0.1:0");
        props.putAll(overrides);
        props.forEach(builder::setConfigProp);
        KafkaClusterTestKit cluster = builder.build();
        try {
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
        } catch (Exception e) {
            LOG.error("Embedded Kafka: start failed: {}", e.toString());
            closeQuietly(cluster);
            throw e;
        }
        EmbeddedKafka kafka = new EmbeddedKafka(cluster, Duration.ofNanos(System.nanoTime() - t0));
        LOG.info("Embedded Kafka: started in {} ms, bootstrap servers {}",
                kafka.startupTime.toMillis(), kafka.bootstrapServers);
        return kafka;
    }

    /** The value for {@code bootstrap.servers}, e.g. {@code localhost:40123}. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Wall time from {@link #start} to "broker ready". */
    public Duration startupTime() {
        return startupTime;
    }

    /** A shared AdminClient, owned and closed by this cluster. */
    public synchronized Admin admin() {
        if (closed) {
            throw new IllegalStateException("Embedded Kafka is closed");
        }
        if (admin == null) {
            admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers));
        }
        return admin;
    }

    /** Creates topics with replication factor 1 and waits (up to 30 s) until they exist. */
    public void createTopics(int partitions, String... topics) throws Exception {
        List<NewTopic> newTopics = Arrays.stream(topics)
                .map(t -> new NewTopic(t, partitions, (short) 1))
                .toList();
        admin().createTopics(newTopics).all().get(30, TimeUnit.SECONDS);
        LOG.info("Embedded Kafka: created topics {} ({} partitions)", Arrays.toString(topics), partitions);
    }

    /**
     * Stops the broker (controlled shutdown; the controller keeps running), as a broker restart looks to clients:
     * connections drop and requests wait or time out. Topics, offsets and transaction state stay on disk.
     */
    public synchronized void stopBroker() {
        LOG.info("Embedded Kafka: stopping the broker ({})", bootstrapServers);
        BrokerServer broker = broker();
        broker.shutdown();
        broker.awaitShutdown();
        LOG.info("Embedded Kafka: broker stopped");
    }

    /**
     * Starts the broker stopped by {@link #stopBroker} on its old port and log directory and waits until it is ready
     * (it registers again with the controller, which takes up to {@code broker.session.timeout.ms}).
     */
    public synchronized void startBroker() throws Exception {
        long t0 = System.nanoTime();
        broker().startup();
        cluster.waitForReadyBrokers();
        LOG.info("Embedded Kafka: broker started again in {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private BrokerServer broker() {
        if (closed) {
            throw new IllegalStateException("Embedded Kafka is closed");
        }
        return cluster.brokers().values().iterator().next();
    }

    /** Stops the broker and controller and deletes the cluster's data. Idempotent. */
    @Override
    public synchronized void close() throws Exception {
        if (closed) {
            return;
        }
        closed = true;
        LOG.info("Embedded Kafka: stopping ({})", bootstrapServers);
        long t0 = System.nanoTime();
        try {
            if (admin != null) {
                admin.close(Duration.ofSeconds(5));
                admin = null;
            }
        } finally {
            cluster.close();
        }
        LOG.info("Embedded Kafka: stopped in {} ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort after a failed start
        }
    }
}

package org.hopestreams.store;

import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.hopestreams.stream.HopeStreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The RocksDB bound of docs/streaming.md, on real RocksDB stores opened by Kafka Streams with the application's
 * own settings ({@link HopeStreamsConfig#streamsProperties()}): every store's block cache is the one LRU cache of
 * {@code hope.rocksdb.memory.bytes} (RocksDB's {@code block-cache-capacity} property of each store), shared by all
 * stores (data written to and read from one store shows in every store's {@code block-cache-usage}, which stays
 * the same for all), memtables are charged to it (writing, before any flush, raises the usage), index and filter
 * blocks count against it, and memtables are capped.
 *
 * <p>The cache is process-wide and the first store opened fixes its size, so this test runs in a JVM of its own
 * (its own surefire execution in pom.xml; the main one excludes it): the bound asserted is the one it configured,
 * not one another test's stores set first.
 */
class BoundedRocksDbConfigTest {
    private static final long BOUND = 24L << 20;   // not the default (64 MiB)
    private static final String[] STORES = {"first", "second"};

    @TempDir
    Path stateDir;

    @Test
    void everyStoreOfTheProcessSharesOneCacheOfTheConfiguredBoundAndMemtablesAreChargedToIt() {
        assertEquals(0, BoundedRocksDbConfig.bound(), "this JVM opened no store before (run in a fork of its own)");
        Map<String, Object> m = new HashMap<>();
        m.put(StreamsConfig.APPLICATION_ID_CONFIG, "rocksdb-bound");
        m.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9");
        m.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        m.put(HopeStreamsConfig.ROCKSDB_MEMORY, Long.toString(BOUND));
        Properties props = new HopeStreamsConfig(m).streamsProperties();
        props.put(StreamsConfig.METRICS_RECORDING_LEVEL_CONFIG, "INFO");
        assertEquals(BoundedRocksDbConfig.class.getName(), props.get(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG));

        StreamsBuilder b = new StreamsBuilder();
        for (String s : STORES) {
            b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(s), Serdes.Bytes(),
                    Serdes.ByteArray()).withCachingDisabled());
        }
        b.stream("in", Consumed.with(Serdes.String(), Serdes.ByteArray()))
                .process(() -> new ContextualProcessor<String, byte[], Void, Void>() {
                    @Override
                    public void process(Record<String, byte[]> r) {
                        KeyValueStore<Bytes, byte[]> store = context().getStateStore(r.key().split("/")[0]);
                        Bytes k = Bytes.wrap(r.key().getBytes(StandardCharsets.UTF_8));
                        store.put(k, r.value());
                    }
                }, STORES);
        try (TopologyTestDriver driver = new TopologyTestDriver(b.build(), props)) {
            TestInputTopic<String, byte[]> in = driver.createInputTopic("in", new StringSerializer(),
                    new ByteArraySerializer());
            assertEquals(BOUND, BoundedRocksDbConfig.bound(), "the configured bound, fixed by the first store");
            for (String s : STORES) {
                assertEquals(BOUND, gauge(driver, "block-cache-capacity", s), s + ": the block cache has the bound");
            }
            Map<String, Long> empty = usage(driver);

            // Memtables are charged to the cache: writing to the first store, nothing flushed yet.
            byte[] value = new byte[64 * 1024];
            for (int i = 0; i < 64; i++) {   // 4 MiB, under the write buffer size: stays in the memtable
                value[0] = (byte) i;
                in.pipeInput("first/" + i, value);
            }
            Map<String, Long> written = usage(driver);
            assertTrue(written.get("first") > empty.get("first"), "memtable charged to the cache: " + empty + " -> "
                    + written);
            assertEquals(written.get("first"), written.get("second"), "one cache: the second store sees the first's "
                    + "memtable");
            assertTrue(written.get("first") <= BOUND, written.toString());
        }
        // the setter's per-store options, on plain RocksDB options
        org.rocksdb.RocksDB.loadLibrary();
        try (org.rocksdb.Options o = new org.rocksdb.Options()) {
            o.setTableFormatConfig(new org.rocksdb.BlockBasedTableConfig());
            new BoundedRocksDbConfig().setConfig("third", o, Map.of(BoundedRocksDbConfig.MEMORY_CONFIG, "999999999"));
            assertEquals(BOUND, BoundedRocksDbConfig.bound(), "a later store cannot change the bound");
            assertEquals(Math.max(1L << 20, Math.min(16L << 20, BOUND / 16)), o.writeBufferSize());
            assertEquals(2, o.maxWriteBufferNumber());
            org.rocksdb.BlockBasedTableConfig t = (org.rocksdb.BlockBasedTableConfig) o.tableFormatConfig();
            assertTrue(t.cacheIndexAndFilterBlocks(), "index and filter blocks count against the cache");
            assertTrue(t.pinTopLevelIndexAndFilter());
        }
    }

    /** Each store's block-cache-usage. */
    private static Map<String, Long> usage(TopologyTestDriver driver) {
        Map<String, Long> out = new TreeMap<>();
        for (String s : STORES) {
            out.put(s, gauge(driver, "block-cache-usage", s));
        }
        return out;
    }

    /** A RocksDB property metric of one store (Kafka Streams' stream-state-metrics, tag rocksdb-state-id). */
    private static long gauge(TopologyTestDriver driver, String name, String store) {
        Map<MetricName, ? extends Metric> metrics = driver.metrics();
        for (var e : metrics.entrySet()) {
            MetricName n = e.getKey();
            if (n.name().equals(name) && n.group().equals("stream-state-metrics")
                    && store.equals(n.tags().get("rocksdb-state-id"))) {
                return ((Number) e.getValue().metricValue()).longValue();
            }
        }
        throw new AssertionError("no metric " + name + " for store " + store + " among "
                + metrics.keySet().stream().filter(k -> k.group().equals("stream-state-metrics")).map(MetricName::name)
                .distinct().sorted().toList());
    }
}

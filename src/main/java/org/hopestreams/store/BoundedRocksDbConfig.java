package org.hopestreams.store;

import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

import java.util.Map;

/**
 * Bounds the off-heap memory of every RocksDB store of the process (block cache, index and filter
 * blocks, and memtables) by one shared LRU cache of {@value #MEMORY_CONFIG} bytes, a quarter of it
 * for memtables: Kafka Streams' documented recipe for bounded memory. The bound is set by the
 * first store opened in the process.
 */
public final class BoundedRocksDbConfig implements RocksDBConfigSetter {
    public static final String MEMORY_CONFIG = "hope.rocksdb.memory.bytes";
    public static final long DEFAULT_MEMORY = 64L << 20;

    private static Cache cache;
    private static WriteBufferManager writeBuffers;
    private static long bound;

    static synchronized long sharedBound(Map<String, Object> configs) {
        if (cache == null) {
            Object v = configs.get(MEMORY_CONFIG);
            bound = v == null ? DEFAULT_MEMORY : Long.parseLong(v.toString());
            cache = new LRUCache(bound, -1, false, 0.1);
            writeBuffers = new WriteBufferManager(bound / 4, cache);
        }
        return bound;
    }

    /** The bound in force in this process, or 0 if no store has opened yet. */
    public static synchronized long bound() {
        return cache == null ? 0 : bound;
    }

    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        long total = sharedBound(configs);
        BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
        synchronized (BoundedRocksDbConfig.class) {
            table.setBlockCache(cache);
            options.setWriteBufferManager(writeBuffers);
        }
        table.setCacheIndexAndFilterBlocks(true);
        table.setCacheIndexAndFilterBlocksWithHighPriority(true);
        table.setPinTopLevelIndexAndFilter(true);
        options.setWriteBufferSize(Math.max(1L << 20, Math.min(16L << 20, total / 16)));
        options.setMaxWriteBufferNumber(2);
        options.setTableFormatConfig(table);
    }

    @Override
    public void close(String storeName, Options options) {
        // The cache and write buffer manager are shared by every store of the process: not closed here.
    }
}

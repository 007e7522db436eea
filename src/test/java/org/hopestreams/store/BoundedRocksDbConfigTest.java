package org.hopestreams.store;

import org.junit.jupiter.api.Test;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The RocksDB config setter puts every store under one bound: shared cache, capped memtables. */
class BoundedRocksDbConfigTest {
    @Test
    void everyStoreGetsTheSharedBoundAndSmallMemtables() {
        RocksDB.loadLibrary();
        try (Options a = new Options(); Options b = new Options()) {
            a.setTableFormatConfig(new BlockBasedTableConfig());
            b.setTableFormatConfig(new BlockBasedTableConfig());
            BoundedRocksDbConfig setter = new BoundedRocksDbConfig();
            setter.setConfig("fast-memory", a, Map.of(BoundedRocksDbConfig.MEMORY_CONFIG, "33554432"));
            setter.setConfig("model", b, Map.of(BoundedRocksDbConfig.MEMORY_CONFIG, "999999999"));
            long bound = BoundedRocksDbConfig.bound();
            assertTrue(bound > 0, "the first store fixes the process-wide bound");
            for (Options o : new Options[] {a, b}) {
                assertEquals(Math.max(1L << 20, Math.min(16L << 20, bound / 16)), o.writeBufferSize());
                assertEquals(2, o.maxWriteBufferNumber());
                BlockBasedTableConfig t = (BlockBasedTableConfig) o.tableFormatConfig();
                assertTrue(t.cacheIndexAndFilterBlocks(), "index and filter blocks count against the cache");
                assertTrue(t.pinTopLevelIndexAndFilter());
            }
            assertTrue(bound != 999999999L, "a later store cannot raise the bound");
        }
    }
}

package org.hopestreams.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EngineOptionsTest {
    /** README "Engine threads": one thread for records learned one at a time, else the cores per stream thread. */
    @Test
    void autoThreadsAreOneAtBatchOneAndTheCoresPerStreamThreadOtherwise() {
        assertEquals(1, EngineOptions.autoThreads(1, 1, 2));
        assertEquals(1, EngineOptions.autoThreads(1, 1, 64));
        assertEquals(2, EngineOptions.autoThreads(16, 1, 2));
        assertEquals(4, EngineOptions.autoThreads(8, 4, 16));
        assertEquals(1, EngineOptions.autoThreads(16, 4, 2));
        assertEquals(16, EngineOptions.autoThreads(32, 0, 16));
    }
}

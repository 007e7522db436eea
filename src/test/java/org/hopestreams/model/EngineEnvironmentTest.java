package org.hopestreams.model;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EngineEnvironmentTest {
    @Test
    void aCleanEnvironmentAndHarmlessSettingsAreNotReported() {
        assertEquals(List.of(), EngineEnvironment.problems(Map.of(), 2));
        assertEquals(List.of(), EngineEnvironment.problems(Map.of("OMP_WAIT_POLICY", "active", "OMP_NUM_THREADS", "2",
                "OMP_PROC_BIND", "false", "PATH", "/usr/bin"), 2));
    }

    @Test
    void passiveWaitingIsReportedWhateverItsCase() {
        List<String> found = EngineEnvironment.problems(Map.of("OMP_WAIT_POLICY", "PASSIVE"), 2);
        assertEquals(1, found.size(), found.toString());
        assertTrue(found.get(0).startsWith("OMP_WAIT_POLICY=PASSIVE"), found.get(0));
        assertEquals(1, EngineEnvironment.problems(Map.of("OMP_WAIT_POLICY", " passive "), 2).size());
        assertEquals(1, EngineEnvironment.problems(Map.of("GOMP_SPINCOUNT", "0"), 2).size());
    }

    @Test
    void moreThreadsThanCoresAndPinningAreReported() {
        List<String> found = EngineEnvironment.problems(Map.of("OMP_NUM_THREADS", "8,2", "MKL_NUM_THREADS", "3",
                "OMP_PROC_BIND", "close", "GOMP_CPU_AFFINITY", "0-1"), 2);
        assertEquals(4, found.size(), found.toString());
        assertTrue(found.get(0).contains("OMP_NUM_THREADS=8,2") && found.get(0).contains("2 cores"), found.get(0));
        assertTrue(found.get(2).startsWith("OMP_PROC_BIND=close pins"), found.get(2));
    }
}

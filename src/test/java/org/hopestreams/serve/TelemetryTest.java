package org.hopestreams.serve;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.hopestreams.learn.LearnOutcome;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /metrics counts the extra ticks the learners took, and shows each task's place among the global versions. */
class TelemetryTest {
    @Test
    void ticksAreCounted() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Telemetry t = new Telemetry(registry);
        long[] steps = {3, 1, 0};
        t.learned(0, "a", new LearnOutcome(true, null, 32, 5.0, new double[] {0.1}, steps, 0, new double[] {4.9}), 1000);
        t.learned(0, "a", new LearnOutcome(true, null, 32, 5.0, new double[] {0.1}, steps, 0, new double[] {4.9, 4.8}), 1000);
        t.learned(0, "b", new LearnOutcome(true, null, 32, 2.0, new double[] {0.1}, steps, 0), 1000);
        String text = registry.scrape();
        assertTrue(text.contains("hope_ticks_total 3.0"), text);
    }

    @Test
    void consolidationShowsTheGlobalVersionAndEachTasksBaseAndLag() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Telemetry t = new Telemetry(registry);
        assertTrue(!registry.scrape().contains("hope_shards"), "no consolidation metrics while it is off");
        assertTrue(!t.dashboard().containsKey("shards"), "nor a dashboard panel");
        t.consolidation(0, 3, 1, 3);
        t.consolidation(2, 1, 2, 3);
        String text = registry.scrape();
        assertTrue(text.contains("hope_shards_global_version 3.0"), text);
        assertTrue(text.contains("hope_shards_base_version{partition=\"2\"} 1.0"), text);
        assertTrue(text.contains("hope_shards_lag_versions{partition=\"2\"} 2.0"), text);
        assertTrue(text.contains("hope_shards_lag_versions{partition=\"0\"} 0.0"), text);
        assertTrue(text.contains("hope_shards_unmerged{partition=\"2\"} 2.0"), text);
        @SuppressWarnings("unchecked")
        java.util.Map<String, Object> shards = (java.util.Map<String, Object>) t.dashboard().get("shards");
        assertEquals(3L, shards.get("globalVersion"));
        assertEquals(java.util.List.of(
                java.util.Map.of("partition", 0, "baseVersion", 3L, "lag", 0L, "unmerged", 1L),
                java.util.Map.of("partition", 2, "baseVersion", 1L, "lag", 2L, "unmerged", 2L)), shards.get("tasks"));
    }
}

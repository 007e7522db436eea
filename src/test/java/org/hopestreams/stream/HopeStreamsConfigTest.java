package org.hopestreams.stream;

import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HopeStreamsConfigTest {
    @Test
    void environmentVariablesSetKeysAndEveryKeyHasOne() {
        Map<String, String> keys = HopeStreamsConfig.fromEnvironment(Map.of("HOPE_INPUT_TOPIC", "in",
                "STREAMS_BOOTSTRAP_SERVERS", "k:9092", "PATH", "/bin", "HOPE_", "x"));
        assertEquals(Map.of("hope.input.topic", "in", "bootstrap.servers", "k:9092"), keys);
        for (String key : HopeStreamsConfig.DEF.names()) {
            String env = HopeStreamsConfig.envName(key);
            assertEquals(Map.of(key, "v"), HopeStreamsConfig.fromEnvironment(Map.of(env, "v")), key);
        }
        assertEquals("STREAMS_APPLICATION_SERVER", HopeStreamsConfig.envName("application.server"));
    }

    @Test
    void outOfRangeValuesAreRefusedWithTheKeyNamed() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> new HopeStreamsConfig(Map.of(HopeStreamsConfig.RECORD_MAX_BYTES, "5")));
        assertTrue(e.getMessage().contains(HopeStreamsConfig.RECORD_MAX_BYTES), e.getMessage());
        e = assertThrows(ConfigException.class,
                () -> new HopeStreamsConfig(Map.of(HopeStreamsConfig.CHECKPOINT_CLOCK, "sundial")));
        assertTrue(e.getMessage().contains("sundial"), e.getMessage());
    }

    @Test
    void applicationDefaultsYieldToGivenKeys() {
        HopeStreamsConfig c = new HopeStreamsConfig(Map.of(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "250"));
        assertEquals("250", c.streamsProperties().get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG));
        assertEquals(StreamsConfig.EXACTLY_ONCE_V2, c.streamsProperties().get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG));
    }
}

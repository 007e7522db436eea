package org.hopestreams.stream;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.embedded.EmbeddedRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@value HopeStreamsConfig#SERDE_CLASS}: refused with a clear message unless it names a Serde, used when it does. */
class SerdeConfigTest {
    @TempDir
    Path stateDir;

    /** Not on the class path; not a Serde; no no-argument constructor; an interface. */
    @ParameterizedTest
    @ValueSource(strings = {"org.hopestreams.NoSuchSerde", "java.lang.String", "java.lang.Integer",
            "org.apache.kafka.common.serialization.Serde"})
    void aClassThatIsNotAUsableSerdeIsRefusedNamingTheKeyAndTheClass(String name) {
        HopeStreamsConfig config = new HopeStreamsConfig(Map.of(HopeStreamsConfig.SERDE_CLASS, name));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HopeTopology.avroSerde(config));
        assertTrue(e.getMessage().contains(HopeStreamsConfig.SERDE_CLASS), e.getMessage());
        assertTrue(e.getMessage().contains(name), e.getMessage());
        IllegalArgumentException b = assertThrows(IllegalArgumentException.class, () -> HopeTopology.build(config),
                "the one-argument factory (StreamApp's) refuses it too");
        assertEquals(e.getMessage(), b.getMessage());
    }

    @Test
    void theApicurioSerdeNamedExplicitlyBuildsAWorkingTopology() throws Exception {
        try (EmbeddedRegistry registry = EmbeddedRegistry.builder().start()) {
            Map<String, Object> m = HopeTopologyTest.tinyStreamConfig(registry.apiUrl(), "serde-config", stateDir);
            m.put(HopeStreamsConfig.SERDE_CLASS, "io.apicurio.registry.serde.avro.AvroSerde");
            HopeStreamsConfig config = new HopeStreamsConfig(m);
            assertInstanceOf(io.apicurio.registry.serde.avro.AvroSerde.class, HopeTopology.avroSerde(config));

            try (TopologyTestDriver driver = new TopologyTestDriver(HopeTopology.build(config),
                    config.streamsProperties())) {
                TestInputTopic<String, byte[]> in = driver.createInputTopic(config.inputTopic(),
                        Serdes.String().serializer(), Serdes.ByteArray().serializer());
                // read back with an independently configured deserializer: the output is plain registry Avro
                TestOutputTopic<String, Object> learning = driver.createOutputTopic(config.learningTopic(),
                        Serdes.String().deserializer(), StreamTestSupport.avroDeserializer(registry.apiUrl()));
                in.pipeInput("alpha", "hello, serde".getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(1000));

                List<Object> out = learning.readValuesToList();
                assertEquals(1, out.size());
                LearningEvent e = assertInstanceOf(LearningEvent.class, out.get(0));
                assertEquals("alpha", e.getKey());
                assertEquals(12, e.getBytes());
                assertEquals(config.inputTopic(), e.getSourceTopic());
                assertEquals(0, e.getSourceOffset());
                assertEquals(1, e.getHighSteps());
                assertTrue(Double.isFinite(e.getBitsPerByte()) && e.getBitsPerByte() > 0);
                assertTrue(driver.createOutputTopic(config.dlqTopic(), Serdes.ByteArray().deserializer(),
                        Serdes.ByteArray().deserializer()).isEmpty(), "no dead letters");
            }
        }
    }
}

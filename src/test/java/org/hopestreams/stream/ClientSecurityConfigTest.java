package org.hopestreams.stream;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The security settings reach every client: Kafka Streams' (all keys), the admin client of --create-topics
 * (clientProperties), the serde's registry client (serdeConfig); and the environment can set keys with hyphens,
 * upper case or underscores.
 */
class ClientSecurityConfigTest {
    @Test
    void environmentNamesMapHyphensAndVerbatimKeys() {
        Map<String, String> env = Map.of(
                "STREAMS_SASL_JAAS_CONFIG", "jaas",
                "STREAMS_APICURIO_REGISTRY_TLS_VERIFY__HOST", "false",
                "HOPE_SET_1", "apicurio.registry.Some_Key=v=1",
                "HOPE_HTTP_MANAGEMENT_PORT", "9000");
        Map<String, String> keys = HopeStreamsConfig.fromEnvironment(env);
        assertEquals(Map.of("sasl.jaas.config", "jaas", "apicurio.registry.tls.verify-host", "false",
                "apicurio.registry.Some_Key", "v=1", "hope.http.management.port", "9000"), keys);
        assertEquals("STREAMS_APICURIO_REGISTRY_TLS_VERIFY__HOST", HopeStreamsConfig.envName("apicurio.registry.tls.verify-host"));
        assertEquals("apicurio.registry.tls.verify-host", HopeStreamsConfig.fromEnvironment(Map.of(
                HopeStreamsConfig.envName("apicurio.registry.tls.verify-host"), "x")).keySet().iterator().next(),
                "round trip");
        assertThrows(IllegalArgumentException.class, () -> HopeStreamsConfig.fromEnvironment(Map.of("HOPE_SET_X", "novalue")));
    }

    @Test
    void everyClientGetsTheSameSecuritySettings() {
        Map<String, Object> m = new HashMap<>();
        m.put("bootstrap.servers", "kafka:9093");
        m.put("security.protocol", "SASL_SSL");
        m.put("sasl.mechanism", "SCRAM-SHA-512");
        m.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"p\";");
        m.put("ssl.truststore.location", "/ca.crt");
        m.put("admin.request.timeout.ms", "5000");
        m.put("apicurio.registry.auth.username", "reg");
        m.put("apicurio.registry.auth.password", "secret");
        m.put(HopeStreamsConfig.MODEL_PRESET, "tiny");
        HopeStreamsConfig c = new HopeStreamsConfig(m);
        Map<String, Object> admin = c.clientProperties();
        for (String k : new String[]{"bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.jaas.config",
                "ssl.truststore.location"}) {
            assertEquals(m.get(k), admin.get(k), "admin client: " + k);
            assertEquals(m.get(k), c.streamsProperties().get(k), "Kafka Streams: " + k);
        }
        assertEquals("5000", admin.get("request.timeout.ms"), "admin.-prefixed keys win for the admin client");
        assertTrue(!admin.containsKey(HopeStreamsConfig.MODEL_PRESET), "no hope.* key to the admin client");
        assertEquals("reg", c.serdeConfig().get("apicurio.registry.auth.username"), "the registry client: basic auth");
        assertEquals("secret", c.serdeConfig().get("apicurio.registry.auth.password"));
    }
}

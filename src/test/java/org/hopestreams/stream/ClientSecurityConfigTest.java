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
    /**
     * What stops the application names the problem: Kafka refusing the credentials, this side not trusting the
     * broker's certificate, or another failed handshake (the broker refusing a client certificate); and none of
     * them is taken for a schema registry that did not answer (a failed TLS handshake has an SSLException inside).
     */
    @Test
    void kafkaAuthenticationFailuresSayWhatFailed() {
        var refused = new org.apache.kafka.common.errors.SaslAuthenticationException(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512");
        assertTrue(StreamApp.authenticationFailed(refused).startsWith("Kafka refused this application's credentials ("));

        var pkix = new javax.net.ssl.SSLHandshakeException("PKIX path building failed");
        pkix.initCause(new java.security.cert.CertificateException("PKIX path building failed: unable to find valid "
                + "certification path to requested target"));
        var untrusted = new org.apache.kafka.common.errors.SslAuthenticationException("SSL handshake failed", pkix);
        String u = StreamApp.authenticationFailed(untrusted);
        assertTrue(u.startsWith("This application does not trust Kafka's TLS certificate (PKIX path building failed: "
                + "unable to find valid certification path"), u);
        assertTrue(u.contains("ssl.truststore.location") && u.endsWith("not retrying"), u);

        var badCertificate = new org.apache.kafka.common.errors.SslAuthenticationException("SSL handshake failed",
                new javax.net.ssl.SSLHandshakeException("Received fatal alert: bad_certificate"));
        String b = StreamApp.authenticationFailed(badCertificate);
        assertEquals("The TLS handshake with Kafka failed (SSL handshake failed: Received fatal alert: bad_certificate): "
                + "check security.protocol, ssl.truststore.* (Kafka's CA) and, for mutual TLS, ssl.keystore.* (a "
                + "certificate the broker trusts); not retrying", b);

        for (Throwable e : java.util.List.of(refused, untrusted, badCertificate)) {
            Throwable inStreams = new org.apache.kafka.streams.errors.StreamsException(e);
            assertTrue(StreamApp.authenticationFailure(inStreams) == e, "found in the causes: " + e);
            assertTrue(!RegistryGate.holdsInput(inStreams), "not the registry's: " + e);
        }
        assertTrue(RegistryGate.unanswered(new javax.net.ssl.SSLHandshakeException("registry's certificate")),
                "a registry's failed handshake still holds input");
    }
}

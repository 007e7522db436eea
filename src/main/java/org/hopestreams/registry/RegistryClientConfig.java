package org.hopestreams.registry;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Settings of a {@link ConfluentRegistryClient}, read from a serde configuration map: the application's
 * {@code hope.registry.*} keys, or the Confluent serde's names of the same settings where those are not given
 * ({@code schema.registry.url}, {@code basic.auth.user.info}, {@code schema.registry.ssl.truststore.*},
 * {@code auto.register.schemas}).
 *
 * @param urls             base URLs of the Confluent API (e.g. {@code http://registry:8081}, Apicurio's
 *                         {@code http://host:8080/apis/ccompat/v7}); the next one is tried when one does not answer
 * @param userInfo         {@code user:password} for HTTP basic authentication, or empty
 * @param truststore       a trust store file for TLS, or empty for the JVM's default trust
 * @param truststorePassword its password (may be empty)
 * @param truststoreType   its type (PKCS12, JKS)
 * @param timeout          longest wait for one answer (and for a connection)
 * @param retries          further attempts after a call that got no answer, with a backoff doubling from 100 ms
 * @param autoRegister     whether the serializer registers a schema it has not met (else it only looks it up)
 */
public record RegistryClientConfig(List<String> urls, String userInfo, String truststore, String truststorePassword,
                                   String truststoreType, Duration timeout, int retries, boolean autoRegister) {
    public static final String URL = "hope.registry.url";
    public static final String BASIC_AUTH_USER_INFO = "hope.registry.basic.auth.user.info";
    public static final String TRUSTSTORE_LOCATION = "hope.registry.ssl.truststore.location";
    public static final String TRUSTSTORE_PASSWORD = "hope.registry.ssl.truststore.password";
    public static final String TRUSTSTORE_TYPE = "hope.registry.ssl.truststore.type";
    public static final String CALL_TIMEOUT_MS = "hope.registry.call.timeout.ms";
    public static final String RETRIES = "hope.registry.retries";
    public static final String AUTO_REGISTER = "hope.registry.auto.register";

    public RegistryClientConfig {
        if (urls.isEmpty() || urls.stream().anyMatch(String::isBlank)) {
            throw new IllegalArgumentException("no schema registry URL: set " + URL + " (or schema.registry.url)");
        }
        for (String u : urls) {
            if (!u.startsWith("http://") && !u.startsWith("https://")) {
                throw new IllegalArgumentException("schema registry URL '" + u + "' must start with http:// or https://");
            }
        }
        if (!userInfo.isEmpty() && userInfo.indexOf(':') < 0) {
            throw new IllegalArgumentException(BASIC_AUTH_USER_INFO + " must be user:password (the value is not shown)");
        }
        urls = urls.stream().map(u -> u.endsWith("/") ? u.substring(0, u.length() - 1) : u).toList();
    }

    /** The settings in {@code config} (see the class comment for the keys and their fallbacks). */
    public static RegistryClientConfig from(Map<String, ?> config) {
        String url = first(config, "", URL, "schema.registry.url");
        return new RegistryClientConfig(Arrays.stream(url.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList(),
                first(config, "", BASIC_AUTH_USER_INFO, "basic.auth.user.info", "schema.registry.basic.auth.user.info"),
                first(config, "", TRUSTSTORE_LOCATION, "schema.registry.ssl.truststore.location"),
                first(config, "", TRUSTSTORE_PASSWORD, "schema.registry.ssl.truststore.password"),
                first(config, "PKCS12", TRUSTSTORE_TYPE, "schema.registry.ssl.truststore.type"),
                Duration.ofMillis(Long.parseLong(first(config, "10000", CALL_TIMEOUT_MS))),
                Integer.parseInt(first(config, "2", RETRIES)),
                Boolean.parseBoolean(first(config, "true", AUTO_REGISTER, "auto.register.schemas")));
    }

    /** The first key of {@code keys} with a non-empty value (a Kafka {@code Password} gives its value). */
    private static String first(Map<String, ?> config, String otherwise, String... keys) {
        for (String k : keys) {
            Object v = config.get(k);
            if (v instanceof org.apache.kafka.common.config.types.Password p) {
                v = p.value();
            }
            if (v != null && !v.toString().isEmpty()) {
                return v.toString().trim();
            }
        }
        return otherwise;
    }

    /** Never shows the password or the trust store password. */
    @Override
    public String toString() {
        return "RegistryClientConfig[urls=" + urls + ", basicAuth=" + (userInfo.isEmpty() ? "off" : "on")
                + ", truststore=" + (truststore.isEmpty() ? "JVM default" : truststore) + ", timeout=" + timeout
                + ", retries=" + retries + ", autoRegister=" + autoRegister + "]";
    }
}

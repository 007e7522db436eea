package org.hopestreams.serve;

import org.hopestreams.stream.HopeStreamsConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The HTTP server's security and capacity settings, from the {@code hope.http.*} keys: who may ask
 * (tokens, TLS), where queries may be forwarded and with which credential, how many queries run and
 * wait, and the size caps.
 *
 * @param tokens the API's tokens, or null when authentication is off
 */
public record HttpSettings(int managementPort, ApiTokens tokens, Tls tls, ForwardPolicy forward, String forwardToken,
                           int queryConcurrency, int queryQueue, long queryTimeoutMs, int bodyMaxBytes,
                           int completeMaxBytes) {

    /** Keystore (server certificate) and, for mutual TLS, truststore of client CAs; null parts are off. */
    public record Tls(Path keystore, String keystorePassword, Path truststore, String truststorePassword) {
    }

    /** Everything open, as before issue 14: one port, no tokens, forwarding to loopback only. */
    public static HttpSettings open() {
        return new HttpSettings(-1, null, null, new ForwardPolicy(List.of("localhost", "127.0.0.1")), "", 2, 16,
                10_000, 65_536, 512);
    }

    public static HttpSettings from(HopeStreamsConfig c) {
        String tokensFile = c.getString(HopeStreamsConfig.HTTP_AUTH_TOKENS_FILE);
        ApiTokens tokens = null;
        if (!tokensFile.isBlank()) {
            try {
                tokens = ApiTokens.load(Path.of(tokensFile));
            } catch (IOException e) {
                throw new UncheckedIOException(HopeStreamsConfig.HTTP_AUTH_TOKENS_FILE + ": " + e.getMessage(), e);
            }
        }
        Tls tls = null;
        String ks = c.getString(HopeStreamsConfig.HTTP_TLS_KEYSTORE_FILE);
        String ts = c.getString(HopeStreamsConfig.HTTP_TLS_TRUSTSTORE_FILE);
        if (!ks.isBlank()) {
            tls = new Tls(Path.of(ks), c.getPassword(HopeStreamsConfig.HTTP_TLS_KEYSTORE_PASSWORD).value(),
                    ts.isBlank() ? null : Path.of(ts), c.getPassword(HopeStreamsConfig.HTTP_TLS_TRUSTSTORE_PASSWORD).value());
        } else if (!ts.isBlank()) {
            throw new IllegalArgumentException(HopeStreamsConfig.HTTP_TLS_TRUSTSTORE_FILE + " is set but "
                    + HopeStreamsConfig.HTTP_TLS_KEYSTORE_FILE + " is not: mutual TLS needs the server's own certificate");
        }
        return new HttpSettings(c.getInt(HopeStreamsConfig.HTTP_MANAGEMENT_PORT), tokens, tls,
                new ForwardPolicy(c.getList(HopeStreamsConfig.HTTP_FORWARD_ALLOW)),
                c.getPassword(HopeStreamsConfig.HTTP_FORWARD_TOKEN).value(),
                c.getInt(HopeStreamsConfig.HTTP_QUERY_CONCURRENCY), c.getInt(HopeStreamsConfig.HTTP_QUERY_QUEUE),
                c.getLong(HopeStreamsConfig.HTTP_QUERY_TIMEOUT_MS), c.getInt(HopeStreamsConfig.HTTP_BODY_MAX_BYTES),
                c.getInt(HopeStreamsConfig.HTTP_COMPLETE_MAX_BYTES));
    }

    public boolean authOn() {
        return tokens != null;
    }

    @Override
    public String toString() {
        return "HttpSettings[management port " + managementPort + ", auth " + (tokens == null ? "off" : tokens.size()
                + " tokens") + ", tls " + (tls == null ? "off" : tls.truststore() == null ? "on" : "mutual")
                + ", forward to " + forward.patterns() + (forwardToken.isEmpty() ? "" : " with a token") + "]";
    }
}

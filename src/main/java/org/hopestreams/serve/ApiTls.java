package org.hopestreams.serve;

import io.javalin.config.JavalinConfig;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.security.KeyStore;
import java.time.Duration;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * TLS of the API port (Jetty): with a keystore the port speaks HTTPS only; with a truststore too, it requires
 * a client certificate signed by one of its CAs (mutual TLS). The forwarding client presents the same keystore
 * and trusts the same CAs, so instances of one deployment (one certificate authority) reach each other.
 */
final class ApiTls {
    private ApiTls() {
    }

    /** Replaces the API's plain connector with a TLS one on the host and port known at start. */
    static void configure(JavalinConfig cfg, HttpSettings.Tls tls, Supplier<String> host, IntSupplier port) {
        if (tls == null) {
            return;
        }
        cfg.jetty.addConnector((server, httpConfig) -> {
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            ssl.setKeyStorePath(tls.keystore().toString());
            ssl.setKeyStorePassword(tls.keystorePassword());
            ssl.setKeyStoreType("PKCS12");
            if (tls.truststore() != null) {
                ssl.setTrustStorePath(tls.truststore().toString());
                ssl.setTrustStorePassword(tls.truststorePassword());
                ssl.setTrustStoreType("PKCS12");
                ssl.setNeedClientAuth(true);
            }
            HttpConfiguration https = new HttpConfiguration(httpConfig);
            SecureRequestCustomizer src = new SecureRequestCustomizer();
            // application.server names the peer by a service name, not always in the certificate's SAN list
            src.setSniHostCheck(false);
            https.addCustomizer(src);
            ServerConnector c = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"),
                    new HttpConnectionFactory(https));
            c.setHost(host.get());
            c.setPort(port.getAsInt());
            return c;
        });
    }

    /** The client of forwarded queries: plain, or presenting this instance's certificate and trusting its CAs. */
    static HttpClient forwardingClient(HttpSettings.Tls tls) {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (tls != null) {
            b.sslContext(sslContext(tls));
        }
        return b.build();
    }

    static SSLContext sslContext(HttpSettings.Tls tls) {
        try {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(load(tls.keystore(), tls.keystorePassword()), tls.keystorePassword().toCharArray());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(tls.truststore() == null ? null : load(tls.truststore(), tls.truststorePassword()));
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalArgumentException("hope.http.tls.*: cannot load the keystore " + tls.keystore()
                    + (tls.truststore() == null ? "" : " or the truststore " + tls.truststore()) + ": " + e.getMessage(), e);
        }
    }

    private static KeyStore load(java.nio.file.Path p, String password) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(p)) {
            ks.load(in, password.toCharArray());
        }
        return ks;
    }
}

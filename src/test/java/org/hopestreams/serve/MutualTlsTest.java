package org.hopestreams.serve;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.hopestreams.TestCerts;
import org.hopestreams.stream.LearnerHub;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API port with mutual TLS (keystores made by the JDK's keytool, {@link TestCerts}): a client with a certificate
 * the server trusts gets an answer; one without a certificate does not get past the handshake; plain HTTP gets
 * nothing.
 */
class MutualTlsTest {
    @TempDir
    Path dir;

    @Test
    void clientCertificateRequired() throws Exception {
        TestCerts certs = new TestCerts(dir);
        Path server = certs.selfSigned("server");
        Path client = certs.selfSigned("client");
        HttpSettings.Tls serverTls = new HttpSettings.Tls(server, "changeit", certs.trust("server-trust", "client"),
                "changeit");
        HttpSettings open = HttpSettings.open();
        HttpSettings s = new HttpSettings(-1, null, serverTls, open.forward(), "", 1, 1, 5_000, 65_536, 512);
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (HttpServer http = new HttpServer(() -> null, null, new LearnerHub(), new Telemetry(metrics), metrics,
                null, s).start("127.0.0.1", 0)) {
            URI live = URI.create("https://127.0.0.1:" + http.port() + Routes.LIVE);
            SSLContext withCert = ApiTls.sslContext(new HttpSettings.Tls(client, "changeit",
                    certs.trust("client-trust", "server"), "changeit"));
            HttpResponse<String> r = HttpClient.newBuilder().sslContext(withCert).build()
                    .send(HttpRequest.newBuilder(live).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());

            SSLContext noCert = SSLContext.getInstance("TLS");
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                    javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            java.security.KeyStore ts = java.security.KeyStore.getInstance("PKCS12");
            try (var in = java.nio.file.Files.newInputStream(dir.resolve("client-trust.p12"))) {
                ts.load(in, "changeit".toCharArray());
            }
            tmf.init(ts);
            noCert.init(null, tmf.getTrustManagers(), null);
            assertThrows(IOException.class, () -> HttpClient.newBuilder().sslContext(noCert).build()
                    .send(HttpRequest.newBuilder(live).build(), HttpResponse.BodyHandlers.ofString()),
                    "no client certificate: no answer");
            assertThrows(IOException.class, () -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + http.port() + Routes.LIVE)).build(),
                    HttpResponse.BodyHandlers.ofString()), "plain HTTP on the TLS port: no answer");
            assertTrue(http.port() > 0);
        }
    }
}

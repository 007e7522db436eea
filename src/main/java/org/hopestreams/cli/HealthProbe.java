package org.hopestreams.cli;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * A container health check without curl or a shell in the image: {@code java -cp /app/hope-streams.jar
 * org.hopestreams.cli.HealthProbe http://localhost:8081/health/ready} exits 0 on HTTP 200 and 1 otherwise.
 * JDK classes only, so it starts in a fraction of a second.
 */
public final class HealthProbe {
    private HealthProbe() {
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: HealthProbe URL");
            System.exit(2);
        }
        try {
            HttpResponse<Void> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build()
                    .send(HttpRequest.newBuilder(URI.create(args[0])).timeout(Duration.ofSeconds(4)).build(),
                            HttpResponse.BodyHandlers.discarding());
            System.exit(r.statusCode() == 200 ? 0 : 1);
        } catch (Exception e) {
            System.err.println(args[0] + ": " + e);
            System.exit(1);
        }
    }
}

package org.hopestreams.embedded;

import org.hopestreams.avro.TextEvent;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The demo's event stream: log-like events from a few services (key {@code log-<service>}) mixed
 * with facts about made-up places (key {@code facts}), each fact repeated now and then, so that the
 * model can be watched learning them ("the capital of Zorbia is Quelt."). Deterministic per seed.
 */
public final class DemoStream {
    public static final String FACTS_KEY = "facts";
    /** Made-up facts: nothing the model could know before the stream says it. */
    public static final List<String[]> FACTS = List.of(
            new String[] {"the capital of Zorbia is ", "Quelt."},
            new String[] {"the river through Quelt is the ", "Amsiva."},
            new String[] {"the national bird of Zorbia is the ", "grelling."},
            new String[] {"the highest peak of Vandor is Mount ", "Skarrow."},
            new String[] {"the currency of Vandor is the ", "tellmark."});
    private static final String[] SERVICES = {"payments", "search", "auth"};
    private static final String[] PATHS = {"/api/pay", "/api/search?q=boots", "/login", "/api/cart", "/health"};

    private final SplittableRandom rnd;
    private long n;

    public DemoStream(long seed) {
        rnd = new SplittableRandom(seed);
    }

    /** The next event at event time {@code timeMs}: a fact one time in four, else a log line. */
    public TextEvent next(long timeMs) {
        n++;
        if (rnd.nextInt(4) == 0) {
            String[] f = FACTS.get(rnd.nextInt(FACTS.size()));
            return event(FACTS_KEY, f[0] + f[1], timeMs);
        }
        String service = SERVICES[rnd.nextInt(SERVICES.length)];
        int status = rnd.nextInt(20) == 0 ? 500 : 200;
        String line = String.format("%s INFO service=%s path=%s status=%d latency_ms=%d", Instant.ofEpochMilli(timeMs),
                service, PATHS[rnd.nextInt(PATHS.length)], status, 5 + rnd.nextInt(200));
        return event("log-" + service, line, timeMs);
    }

    private TextEvent event(String key, String text, long timeMs) {
        return TextEvent.newBuilder().setId("demo-" + n).setKey(key).setText(text)
                .setEventTime(Instant.ofEpochMilli(timeMs)).setAttributes(Map.of("source", "demo")).build();
    }
}

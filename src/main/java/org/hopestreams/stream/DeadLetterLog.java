package org.hopestreams.stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Dead letters in the log as one WARN line per period ({@value HopeStreamsConfig#LOG_DLQ_INTERVAL_MS}, a minute by
 * default) that sums them up by stage and reason, instead of one line each: bad input from a producer can come by
 * the thousand, and each one's reason is in its headers on the dead-letter topic. Dead letters are handled input,
 * never an ERROR. A period without any logs nothing; {@link #close()} logs what is left.
 */
final class DeadLetterLog implements LearnerHub.Listener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterLog.class);

    private final String topic;
    private final long periodMs;
    private final ScheduledExecutorService timer;
    private final Map<String, Long> counts = new TreeMap<>();
    private long total;

    DeadLetterLog(String topic, long periodMs) {
        this.topic = topic;
        this.periodMs = periodMs;
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hope-dead-letter-log");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleAtFixedRate(this::flush, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized void deadLetter(String stage, String reason) {
        counts.merge(stage + "/" + reason, 1L, Long::sum);
        total++;
    }

    /** Logs the dead letters counted since the last line, if any. */
    void flush() {
        String line;
        synchronized (this) {
            if (total == 0) {
                return;
            }
            StringBuilder by = new StringBuilder();
            counts.forEach((k, v) -> by.append(by.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
            line = total + " dead letter" + (total == 1 ? "" : "s") + " to " + topic + " in the last "
                    + periodMs / 1000 + " s (stage/reason: " + by + "); the reason of each is in its hope.dlq.* headers";
            counts.clear();
            total = 0;
        }
        LOG.warn(line);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        flush();
    }
}

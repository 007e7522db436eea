package org.hopestreams.stream;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Kafka Streams' restore listener for the application: what each store replayed from its changelog on this
 * instance (records, offsets, time), one INFO line per finished restore, and the list for callers (the restore
 * benchmark). Called from Kafka Streams' restoring thread; {@link #finished} may be called from any thread.
 */
public final class StoreRestores implements StateRestoreListener {
    private static final Logger LOG = LoggerFactory.getLogger(StoreRestores.class);

    /** One store partition restored: changelog offsets {@code [from, to)}, records replayed, wall time taken. */
    public record Restore(String store, TopicPartition changelog, long from, long to, long records, long nanos) {
    }

    private final Map<TopicPartition, long[]> started = new ConcurrentHashMap<>();
    private final List<Restore> finished = new ArrayList<>();

    @Override
    public void onRestoreStart(TopicPartition changelog, String store, long startingOffset, long endingOffset) {
        started.put(changelog, new long[] {startingOffset, endingOffset, System.nanoTime()});
    }

    @Override
    public void onBatchRestored(TopicPartition changelog, String store, long batchEndOffset, long numRestored) {
    }

    @Override
    public void onRestoreEnd(TopicPartition changelog, String store, long totalRestored) {
        long[] s = started.remove(changelog);
        if (s == null) {
            return;
        }
        Restore r = new Restore(store, changelog, s[0], s[1], totalRestored, System.nanoTime() - s[2]);
        synchronized (finished) {
            finished.add(r);
        }
        // an empty changelog (a first start) is not worth a line
        if (totalRestored > 0 || LOG.isDebugEnabled()) {
            String line = String.format("store %s restored from %s: %d records (offsets %d to %d) in %d ms", store,
                    changelog, totalRestored, s[0], s[1], r.nanos() / 1_000_000);
            if (totalRestored > 0) {
                LOG.info(line);
            } else {
                LOG.debug(line);
            }
        }
    }

    /** The restores finished so far, oldest first. */
    public List<Restore> finished() {
        synchronized (finished) {
            return List.copyOf(finished);
        }
    }
}

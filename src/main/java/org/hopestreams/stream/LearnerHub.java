package org.hopestreams.stream;

import org.hopestreams.learn.LearnOutcome;
import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.model.HostTensor;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Where the learners of this instance (one per partition task) publish what queries and metrics
 * need, without queries ever touching a live learner: at every commit a task publishes its
 * committed parameters (host copies it has just encoded for the store anyway; levels that did not
 * change keep the same tensor objects) and its counters. Listeners hear every record, dead letter
 * and checkpoint on the stream thread, so they must be quick.
 */
public final class LearnerHub {

    /**
     * A task's model as of its last commit: parameters, and the exact-context level's stored form
     * ({@code context}, empty when the level is off; queries decode it when it changes). {@code globalVersion}: the
     * global version of the slow levels the task has adopted ({@code hope.shards.enabled}), -1 when off.
     */
    public record TaskModel(int partition, HopeConfig config, LearnerConfig learnerConfig,
                            Map<String, HostTensor> params, Map<String, HostTensor> context, long version,
                            long[] steps, long consolidations, long lastCheckpointWallMs, long streamTimeMs,
                            long publishedAtMs, long globalVersion) {
    }

    /** Hears the learners; called on stream threads. */
    public interface Listener {
        default void learned(int partition, String key, LearnOutcome outcome, long nanos) {
        }

        default void deadLetter(String stage, String reason) {
        }

        default void checkpoint(int partition, long version, long wallMs, long bytes) {
        }

        /** A key's stored fast memory could not be read: reset to the initial one, or its record dead-lettered. */
        default void unreadableState(int partition, boolean reset) {
        }

        /** The TTL punctuation deleted the fast memories of {@code keys} idle keys. */
        default void keysExpired(int partition, long keys) {
        }

        /**
         * A task published a delta or adopted a global version: its base version and its publications not yet
         * merged into an adopted version; {@code newest} the newest global version this instance knows.
         */
        default void consolidation(int partition, long baseVersion, long unmerged, long newest) {
        }
    }

    private final Map<Integer, TaskModel> models = new ConcurrentHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.atomic.AtomicLong globalVersion = new java.util.concurrent.atomic.AtomicLong();

    public void addListener(Listener l) {
        listeners.add(l);
    }

    public void publish(TaskModel m) {
        models.put(m.partition(), m);
    }

    public void withdraw(int partition) {
        models.remove(partition);
    }

    public Optional<TaskModel> model(int partition) {
        return Optional.ofNullable(models.get(partition));
    }

    public Collection<TaskModel> models() {
        return List.copyOf(models.values());
    }

    void learned(int partition, String key, LearnOutcome o, long nanos) {
        for (Listener l : listeners) {
            l.learned(partition, key, o, nanos);
        }
    }

    void deadLetter(String stage, String reason) {
        for (Listener l : listeners) {
            l.deadLetter(stage, reason);
        }
    }

    void unreadableState(int partition, boolean reset) {
        for (Listener l : listeners) {
            l.unreadableState(partition, reset);
        }
    }

    void keysExpired(int partition, long keys) {
        for (Listener l : listeners) {
            l.keysExpired(partition, keys);
        }
    }

    /** The newest global version of the slow levels this instance knows (its consolidator's or a task's). */
    public long globalVersion() {
        return globalVersion.get();
    }

    void globalVersion(long version) {
        globalVersion.accumulateAndGet(version, Math::max);
    }

    void consolidation(int partition, long baseVersion, long unmerged) {
        long newest = globalVersion.accumulateAndGet(baseVersion, Math::max);
        for (Listener l : listeners) {
            l.consolidation(partition, baseVersion, unmerged, newest);
        }
    }

    void checkpoint(int partition, long version, long wallMs, long bytes) {
        for (Listener l : listeners) {
            l.checkpoint(partition, version, wallMs, bytes);
        }
    }
}

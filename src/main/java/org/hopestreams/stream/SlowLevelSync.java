package org.hopestreams.stream;

import org.hopestreams.avro.ConsolidationEvent;
import org.hopestreams.avro.ConsolidationKind;
import org.hopestreams.avro.DeltaRef;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.model.HostTensor;
import org.hopestreams.model.Level;
import org.hopestreams.store.ChunkedValues;
import org.hopestreams.store.StateFormatException;
import org.hopestreams.store.StateSnapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A task's side of one model across shards (docs/streaming.md): what its slow levels learned since it last
 * published, and the global versions it adopts.
 *
 * <p>It keeps G, the global slow weights it last adopted (version {@link #baseVersion}), and P, its slow weights
 * when it last published or rebased. At a LOW consolidation it publishes the delta {@code slow - P} (and the records
 * learned since), then P := slow. A global version v+1 arrives as the increment D of the consolidator's merge; the
 * task adopts it: G := G + D, slow := G + (slow - P) (its progress not yet published, rebased on the new global),
 * P := G. So every piece of progress is published once, and tasks that adopt the same versions with nothing
 * unsent hold bit-identical slow weights. Optimizer moments stay local.
 *
 * <p>State: G, P and the counters live in the task's {@code checkpoints} store (entry {@link #STATE}), a global
 * version's chunks there too until the last one arrives ({@link #INCOMING}); both are logged, so a publication or
 * an adoption commits with the task's model, its outputs and its input offsets, or not at all. Threading: the
 * task's stream thread.
 */
final class SlowLevelSync {
    static final byte[] STATE = "consolidation.state".getBytes(StandardCharsets.UTF_8);
    static final byte[] INCOMING = "consolidation.incoming".getBytes(StandardCharsets.UTF_8);
    private static final Logger LOG = LoggerFactory.getLogger(SlowLevelSync.class);

    private final ChunkedValues store;
    private final int partition;
    private final String levels;
    private final int chunkBytes;
    private Map<String, HostTensor> global;
    private Map<String, HostTensor> atPublish;
    private long baseVersion;
    private long sequence;
    private long recordsAtPublish;
    /** This task's last publication merged into an adopted global version. */
    private long mergedSequence;
    private boolean stored;

    private SlowLevelSync(ChunkedValues store, int partition, String levels, int chunkBytes) {
        this.store = store;
        this.partition = partition;
        this.levels = levels;
        this.chunkBytes = chunkBytes;
    }

    /**
     * The task's consolidation state from the store; a task without one (new, or consolidation newly enabled)
     * starts with G = P = its slow weights now, at base version 0.
     */
    static SlowLevelSync load(ChunkedValues store, Learner learner, int partition, String levels, int chunkBytes) {
        SlowLevelSync s = new SlowLevelSync(store, partition, levels, chunkBytes);
        StateSnapshot snap;
        try {
            snap = store.get(STATE);
        } catch (StateFormatException e) {
            LOG.warn("partition {}: the stored consolidation state is unreadable ({}); starting it again from the "
                    + "current slow weights at global version 0", partition, e.getMessage());
            snap = null;
        }
        Map<String, HostTensor> slow = slowWeights(learner, levels);
        if (snap != null && levels.equals(snap.meta().get("levels"))) {
            s.global = LearnerSnapshots.prefixed(snap.tensors(), "global.");
            s.atPublish = LearnerSnapshots.prefixed(snap.tensors(), "published.");
            s.baseVersion = snap.counters().get("baseVersion");
            s.sequence = snap.counters().get("sequence");
            s.recordsAtPublish = snap.counters().get("recordsAtPublish");
            s.mergedSequence = snap.counters().get("mergedSequence");
            s.stored = true;
        } else {
            if (snap != null) {
                LOG.info("partition {}: consolidated levels changed from {} to {}; the consolidation state starts "
                        + "again from the current slow weights", partition, snap.meta().get("levels"), levels);
                s.baseVersion = snap.counters().get("baseVersion");
            }
            s.global = slow;
            s.atPublish = slow;
            s.recordsAtPublish = learner.recordsLearned();
        }
        return s;
    }

    /**
     * Writes the state if it was never written (called before the task's first change), so that progress made
     * before the first publication is not taken for the starting point after a restart.
     */
    void persistIfNew() {
        if (!stored) {
            save();
        }
    }

    /** The events of a publication: the delta since the last one, in chunks (call at a LOW consolidation). */
    List<ConsolidationEvent> publish(Learner learner, long wallMs) {
        long t0 = System.nanoTime();
        Map<String, HostTensor> now = slowWeights(learner, levels);
        Map<String, HostTensor> delta = SlowLevelDeltas.minus(now, atPublish);
        long records = learner.recordsLearned() - recordsAtPublish;
        sequence++;
        List<ConsolidationEvent> events = ConsolidationEvents.chunked(ConsolidationEvent.newBuilder()
                .setKind(ConsolidationKind.DELTA).setPartition(partition).setSequence(sequence)
                .setBaseVersion(baseVersion).setRecords(records).setLevels(levels).setRule("")
                .setMerged(List.of()).setWallTime(Instant.ofEpochMilli(wallMs)).setChunk(0).setChunks(1)
                .setPayload(java.nio.ByteBuffer.allocate(0)), delta, chunkBytes);
        atPublish = now;
        recordsAtPublish = learner.recordsLearned();
        save();
        ConsolidationStats.PUBLISHES.increment();
        ConsolidationStats.PUBLISH_NANOS.add(System.nanoTime() - t0);
        events.forEach(ev -> ConsolidationStats.PUBLISH_BYTES.add(ev.getPayload().remaining()));
        return events;
    }

    /**
     * Takes one chunk of a global version; with its last chunk, adopts the version into {@code learner}'s slow
     * levels. Returns whether a version was adopted. A version already adopted is ignored; an unreadable one is
     * logged and skipped (nothing changes).
     */
    boolean receive(ConsolidationEvent e, Learner learner) {
        if (e.getKind() != ConsolidationKind.GLOBAL || e.getSequence() <= baseVersion) {
            if (e.getKind() == ConsolidationKind.GLOBAL && e.getChunk() == 0) {
                LOG.warn("partition {}: global version {} ignored: version {} is already adopted", partition,
                        e.getSequence(), baseVersion);
            }
            return false;
        }
        if (!levels.equals(e.getLevels())) {
            LOG.warn("partition {}: global version {} carries levels {} but this task consolidates {}; ignored",
                    partition, e.getSequence(), e.getLevels(), levels);
            return false;
        }
        if (e.getChunk() == 0) {
            store.delete(INCOMING);
        }
        store.putChunk(INCOMING, e.getChunk(), ConsolidationEvents.payload(e));
        if (e.getChunk() < e.getChunks() - 1) {
            return false;
        }
        Map<String, HostTensor> increment;
        long t0 = System.nanoTime();
        try {
            increment = ConsolidationEvents.tensors(store.chunks(INCOMING));
            store.delete(INCOMING);
            Map<String, HostTensor> next = SlowLevelDeltas.plus(global, increment);
            learner.setWeights(SlowLevelDeltas.rebase(next, slowWeights(learner, levels), atPublish));
            global = next;
        } catch (StateFormatException | IllegalArgumentException x) {
            store.delete(INCOMING);
            LOG.error("partition {}: global version {} is unreadable or does not fit this model ({}); skipped, the "
                    + "task stays at version {}", partition, e.getSequence(), x.getMessage(), baseVersion);
            return false;
        }
        ConsolidationStats.ADOPTIONS.increment();
        ConsolidationStats.ADOPT_NANOS.add(System.nanoTime() - t0);
        CrashPoints.hit("adopt");
        if (e.getSequence() > baseVersion + 1) {
            LOG.warn("partition {}: global version {} follows version {}: versions between them were never received "
                    + "(deleted by retention?); this task's slow levels differ from the others' by what it missed",
                    partition, e.getSequence(), baseVersion);
        }
        atPublish = global;
        baseVersion = e.getSequence();
        for (DeltaRef r : e.getMerged()) {
            if (r.getPartition() == partition) {
                mergedSequence = Math.max(mergedSequence, r.getSequence());
            }
        }
        save();
        return true;
    }

    long baseVersion() {
        return baseVersion;
    }

    /** Publications of this task not yet part of an adopted global version. */
    long unmerged() {
        return sequence - mergedSequence;
    }

    private void save() {
        StateSnapshot.Builder b = StateSnapshot.builder().meta("levels", levels).counter("baseVersion", baseVersion)
                .counter("sequence", sequence).counter("recordsAtPublish", recordsAtPublish)
                .counter("mergedSequence", mergedSequence);
        global.forEach((k, v) -> b.tensor("global." + k, v));
        atPublish.forEach((k, v) -> b.tensor("published." + k, v));
        store.put(STATE, b.build());
        stored = true;
    }

    /** The consolidated levels' weights: LOW's, and MID's with {@code low+mid}. */
    static Map<String, HostTensor> slowWeights(Learner learner, String levels) {
        Map<String, HostTensor> out = new LinkedHashMap<>(learner.parameters(Level.LOW));
        if (levels.equals("low+mid")) {
            out.putAll(learner.parameters(Level.MID));
        }
        return out;
    }
}

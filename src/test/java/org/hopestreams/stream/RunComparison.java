package org.hopestreams.stream;

import org.hopestreams.avro.CheckpointEvent;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.store.StateSnapshot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a run committed, read back with {@code read_committed}, and the check of the fault tests: a disturbed run
 * (crashed, bounced, fenced) committed exactly what an uninterrupted run of the same input committed.
 *
 * <p>Both runs must have processed the same input topic, each with its own application id APPID, writing
 * APPID.learning and APPID.checkpoints (as {@link ChildApp#config} sets them up).
 */
final class RunComparison {
    private static final Duration READ = Duration.ofSeconds(30);

    private RunComparison() {
    }

    /** An input record: partition and offset of the input topic. */
    record InputOffset(int partition, long offset) implements Comparable<InputOffset> {
        @Override
        public int compareTo(InputOffset o) {
            return Comparator.comparingInt(InputOffset::partition).thenComparingLong(InputOffset::offset)
                    .compare(this, o);
        }

        @Override
        public String toString() {
            return partition + "@" + offset;
        }
    }

    static long countCommitted(String bootstrap, String topic) {
        return StreamTestSupport.readAllCommitted(bootstrap, topic, READ).size();
    }

    /** Committed LearningEvents by the input record they learned; fails on a second event for one record. */
    static Map<InputOffset, LearningEvent> learningEvents(String bootstrap, String registry, String topic) {
        var avro = StreamTestSupport.<Object>avroDeserializer(registry);
        Map<InputOffset, LearningEvent> out = new TreeMap<>();
        for (var r : StreamTestSupport.readAllCommitted(bootstrap, topic, READ)) {
            LearningEvent e = (LearningEvent) avro.deserialize(topic, r.value());
            InputOffset at = new InputOffset(e.getSourcePartition(), e.getSourceOffset());
            assertTrue(out.put(at, e) == null, topic + ": two LearningEvents for input record " + at);
        }
        return out;
    }

    /** Committed CheckpointEvents by task (their key), in the order each task wrote them. */
    static Map<String, List<CheckpointEvent>> checkpointEvents(String bootstrap, String registry, String topic) {
        var avro = StreamTestSupport.<Object>avroDeserializer(registry);
        Map<String, List<CheckpointEvent>> out = new TreeMap<>();
        for (var r : StreamTestSupport.readAllCommitted(bootstrap, topic, READ)) {
            String task = new String(r.key(), java.nio.charset.StandardCharsets.UTF_8);
            out.computeIfAbsent(task, t -> new ArrayList<>()).add((CheckpointEvent) avro.deserialize(topic, r.value()));
        }
        return out;
    }

    /**
     * Asserts that application {@code app} committed what the uninterrupted {@code reference} committed, and that
     * both learned each of {@code input} exactly once:
     * <ul>
     *   <li>one LearningEvent per input record, no other; the k-th record of an input partition has k HIGH steps
     *       (one learner per partition, one step per record);</li>
     *   <li>each event's counters, model version, id, key and scores equal the reference's (scores are computed
     *       before learning: equal scores mean the model that met the record was the reference's, bit for bit);</li>
     *   <li>per task, the same CheckpointEvents in the same order, one per LOW step, no version twice;</li>
     *   <li>the model, fast-memory and checkpoints stores, read from each partition of their changelogs, equal
     *       (tolerance zero).</li>
     * </ul>
     */
    static void assertSameAsUninterrupted(String bootstrap, String registry, String reference, String app,
                                          SortedSet<InputOffset> input) throws Exception {
        Map<InputOffset, LearningEvent> expected = learningEvents(bootstrap, registry, reference + ".learning");
        Map<InputOffset, LearningEvent> actual = learningEvents(bootstrap, registry, app + ".learning");
        assertEquals(List.copyOf(input), List.copyOf(expected.keySet()), reference + ": one event per input record");
        assertEquals(List.copyOf(input), List.copyOf(actual.keySet()), app + ": one event per input record");
        Map<Integer, Long> rank = new TreeMap<>();
        Map<Integer, Long> lowSteps = new TreeMap<>();
        for (InputOffset at : input) {
            LearningEvent r = expected.get(at);
            LearningEvent c = actual.get(at);
            long k = rank.merge(at.partition(), 1L, Long::sum);
            assertEquals(k, c.getHighSteps(), "highSteps at " + at);
            assertEquals(List.of(r.getHighSteps(), r.getMidSteps(), r.getLowSteps(), r.getModelVersion()),
                    List.of(c.getHighSteps(), c.getMidSteps(), c.getLowSteps(), c.getModelVersion()),
                    "counters (high, mid, low, model version) at " + at);
            assertEquals(List.of(r.getId(), r.getKey()), List.of(c.getId(), c.getKey()), "record at " + at);
            assertEquals(r.getBitsPerByte(), c.getBitsPerByte(), 0.0, "bitsPerByte at " + at);
            assertEquals(r.getSurprise(), c.getSurprise(), "surprise at " + at);
            lowSteps.put(at.partition(), c.getLowSteps());
        }

        Map<String, List<CheckpointEvent>> refCps = checkpointEvents(bootstrap, registry, reference + ".checkpoints");
        Map<String, List<CheckpointEvent>> cps = checkpointEvents(bootstrap, registry, app + ".checkpoints");
        assertEquals(refCps.keySet(), cps.keySet(), "tasks that wrote checkpoints");
        assertEquals(lowSteps.values().stream().mapToLong(Long::longValue).sum(),
                cps.values().stream().mapToLong(List::size).sum(), app + ": one CheckpointEvent per LOW step");
        for (var e : cps.entrySet()) {
            List<CheckpointEvent> ref = refCps.get(e.getKey());
            List<CheckpointEvent> got = e.getValue();
            assertEquals(got.size(), got.stream().map(CheckpointEvent::getModelVersion).distinct().count(),
                    app + ", task " + e.getKey() + ": no model version twice");
            for (int i = 0; i < got.size(); i++) {
                assertEquals(i + 1, got.get(i).getLowSteps(), "task " + e.getKey() + ", checkpoint " + i);
            }
            assertEquals(ref.stream().map(RunComparison::comparable).toList(),
                    got.stream().map(RunComparison::comparable).toList(), "checkpoints of task " + e.getKey());
        }

        for (String store : List.of(HopeProcessor.MODEL, HopeProcessor.FAST_MEMORY, HopeProcessor.CHECKPOINTS)) {
            var refStores = StoreChangelogs.statesByPartition(bootstrap, reference + "-" + store + "-changelog");
            var stores = StoreChangelogs.statesByPartition(bootstrap, app + "-" + store + "-changelog");
            assertFalse(refStores.isEmpty(), store);
            assertEquals(refStores.keySet(), stores.keySet(), store + ": changelog partitions with content");
            for (var e : refStores.entrySet()) {
                Map<String, StateSnapshot> got = stores.get(e.getKey());
                assertEquals(e.getValue().keySet(), got.keySet(), store + " entries, partition " + e.getKey());
                String diff = StoreChangelogs.differences(e.getValue(), got);
                assertTrue(diff.isEmpty(), store + " store, partition " + e.getKey() + ", of " + app
                        + " differs from the uninterrupted run:\n" + diff);
            }
        }
    }

    /** A CheckpointEvent less its wall time (the one field that differs between runs). */
    private static List<Object> comparable(CheckpointEvent c) {
        return List.of(c.getModelVersion(), c.getRecords(), c.getHighSteps(), c.getMidSteps(), c.getLowSteps(),
                c.getStreamTime().toEpochMilli(), c.getStateBytes());
    }
}

package org.hopestreams.stream;

import org.hopestreams.avro.CheckpointEvent;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.store.StateSnapshot;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a run committed, read back with {@code read_committed}, and the check of the fault tests: a disturbed run
 * (crashed, bounced, fenced) committed exactly what an uninterrupted run of the same input committed.
 *
 * <p>Both runs must have processed the same input records (the same topic, or the disturbed run's topic holding the
 * reference's records with poison among them), each with its own application id APPID, writing APPID.learning and
 * APPID.checkpoints (as {@link ChildApp#config} sets them up).
 */
final class RunComparison {
    /**
     * The model stores with the global context model resolved: its base (CONTEXT) and journal (CONTEXT_JOURNAL)
     * replaced by the model they persist, whole. Where the base was last rewritten depends on the commits a run
     * made (a restarted task writes a new base), so two runs that learned the same model store it as different
     * bases and journals; what must be equal is the model (and the mixer, compared as stored).
     */
    static Map<Integer, Map<String, StateSnapshot>> globalContextResolved(Map<Integer, Map<String, StateSnapshot>> stores) {
        Map<Integer, Map<String, StateSnapshot>> out = new java.util.TreeMap<>();
        stores.forEach((partition, groups) -> {
            Map<String, StateSnapshot> g = new java.util.LinkedHashMap<>(groups);
            StateSnapshot base = g.get("CONTEXT");
            StateSnapshot journal = g.get("CONTEXT_JOURNAL");
            if (base != null && base.tensors().containsKey("context.global")) {
                org.hopestreams.model.HostTensor j = journal == null ? null : journal.tensors().get("context.journal");
                byte[] model = org.hopestreams.context.ContextJournal.restore(base.tensors().get("context.global").bytes(),
                        j == null ? null : j.bytes()).model().encode();
                g.put("CONTEXT", without(base, "context.global").tensor("context.global",
                        org.hopestreams.model.HostTensor.ofBytes(model)).build());
                if (journal != null) {
                    g.put("CONTEXT_JOURNAL", without(journal, "context.journal").build());
                }
            }
            out.put(partition, g);
        });
        return out;
    }

    private static StateSnapshot.Builder without(StateSnapshot s, String tensor) {
        StateSnapshot.Builder b = StateSnapshot.builder();
        s.meta().forEach(b::meta);
        s.counters().forEach(b::counter);
        s.tensors().forEach((name, t) -> {
            if (!name.equals(tensor)) {
                b.tensor(name, t);
            }
        });
        return b;
    }

    /**
     * The summary of a reference run started beside the run under test, once it has ended; its own assertion
     * failure (with its log's tail) is rethrown as it is rather than wrapped.
     */
    static String join(java.util.concurrent.CompletableFuture<String> refRun) {
        try {
            return refRun.join();
        } catch (java.util.concurrent.CompletionException failed) {
            if (failed.getCause() instanceof AssertionError a) {
                throw a;
            }
            throw failed;
        }
    }

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
        SortedMap<InputOffset, InputOffset> same = new TreeMap<>();
        input.forEach(at -> same.put(at, at));
        assertSameGoodRecordsAsUninterrupted(bootstrap, registry, reference, app, same);
    }

    /**
     * As {@link #assertSameAsUninterrupted(String, String, String, String, SortedSet)} where {@code app} read an input
     * of its own that holds the reference's records with others among them (poison, which must be dead-lettered and
     * learn nothing): {@code input} maps each of app's input records that the reference also read to the reference's
     * record (see {@link #skipping}). App's other input records must have no LearningEvent, and the k-th mapped
     * record of an app input partition has k HIGH steps.
     */
    static void assertSameGoodRecordsAsUninterrupted(String bootstrap, String registry, String reference, String app,
                                                     SortedMap<InputOffset, InputOffset> input) throws Exception {
        assertSameGoodRecordsAsUninterrupted(bootstrap, registry, reference, app, input, true);
    }

    /**
     * As above; {@code stepPerRecord} false for batched runs (hope.batch.records > 1), where HIGH steps once per
     * batch: the k-th record then has at most k HIGH steps, never fewer than the record before (and the counters
     * must still equal the reference's).
     */
    static void assertSameGoodRecordsAsUninterrupted(String bootstrap, String registry, String reference, String app,
                                                     SortedMap<InputOffset, InputOffset> input, boolean stepPerRecord)
            throws Exception {
        assertSameGoodRecordsAsUninterrupted(bootstrap, bootstrap, registry, reference, app, input, stepPerRecord);
    }

    /**
     * As {@link #assertSameAsUninterrupted(String, String, String, String, SortedSet)} where the reference ran on a
     * broker of its own ({@code referenceBootstrap}: the same input produced there, the same registry), e.g. so that a
     * fault injected into app's broker cannot touch it.
     */
    static void assertSameAsUninterrupted(String referenceBootstrap, String bootstrap, String registry, String reference,
                                          String app, SortedSet<InputOffset> input) throws Exception {
        SortedMap<InputOffset, InputOffset> same = new TreeMap<>();
        input.forEach(at -> same.put(at, at));
        assertSameGoodRecordsAsUninterrupted(referenceBootstrap, bootstrap, registry, reference, app, same, true);
    }

    private static void assertSameGoodRecordsAsUninterrupted(String referenceBootstrap, String bootstrap, String registry,
                                                             String reference, String app,
                                                             SortedMap<InputOffset, InputOffset> input,
                                                             boolean stepPerRecord) throws Exception {
        Map<InputOffset, LearningEvent> expected = learningEvents(referenceBootstrap, registry, reference + ".learning");
        Map<InputOffset, LearningEvent> actual = learningEvents(bootstrap, registry, app + ".learning");
        assertEquals(List.copyOf(new TreeSet<>(input.values())), List.copyOf(expected.keySet()),
                reference + ": one event per input record");
        assertEquals(List.copyOf(input.keySet()), List.copyOf(actual.keySet()), app + ": one event per input record");
        Map<Integer, Long> rank = new TreeMap<>();
        Map<Integer, Long> highSteps = new TreeMap<>();
        Map<Integer, Long> lowSteps = new TreeMap<>();
        for (var in : input.entrySet()) {
            InputOffset at = in.getKey();
            LearningEvent r = expected.get(in.getValue());
            LearningEvent c = actual.get(at);
            String where = at.equals(in.getValue()) ? at.toString() : at + " (the reference's " + in.getValue() + ")";
            long k = rank.merge(at.partition(), 1L, Long::sum);
            if (stepPerRecord) {
                assertEquals(k, c.getHighSteps(), "highSteps at " + where);
            } else {
                assertTrue(c.getHighSteps() <= k && c.getHighSteps() >= highSteps.getOrDefault(at.partition(), 0L),
                        "highSteps at " + where + ": " + c.getHighSteps() + " for record " + k);
                highSteps.put(at.partition(), c.getHighSteps());
            }
            assertEquals(List.of(r.getHighSteps(), r.getMidSteps(), r.getLowSteps(), r.getModelVersion()),
                    List.of(c.getHighSteps(), c.getMidSteps(), c.getLowSteps(), c.getModelVersion()),
                    "counters (high, mid, low, model version) at " + where);
            assertEquals(List.of(r.getId(), r.getKey()), List.of(c.getId(), c.getKey()), "record at " + where);
            double tol = TestDevice.tolerance();
            assertEquals(r.getBitsPerByte(), c.getBitsPerByte(), tol, "bitsPerByte at " + where);
            if (tol == 0) {
                assertEquals(r.getSurprise(), c.getSurprise(), "surprise at " + where);
            } else {
                assertEquals(r.getSurprise().size(), c.getSurprise().size(), "surprise at " + where);
                for (int b = 0; b < r.getSurprise().size(); b++) {
                    assertEquals(r.getSurprise().get(b), c.getSurprise().get(b), tol, "surprise of block " + b + " at " + where);
                }
            }
            lowSteps.put(at.partition(), c.getLowSteps());
        }

        Map<String, List<CheckpointEvent>> refCps = checkpointEvents(referenceBootstrap, registry, reference + ".checkpoints");
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
            var refStores = globalContextResolved(
                    StoreChangelogs.statesByPartition(referenceBootstrap, reference + "-" + store + "-changelog"));
            var stores = globalContextResolved(StoreChangelogs.statesByPartition(bootstrap, app + "-" + store + "-changelog"));
            assertFalse(refStores.isEmpty(), store);
            assertEquals(refStores.keySet(), stores.keySet(), store + ": changelog partitions with content");
            for (var e : refStores.entrySet()) {
                Map<String, StateSnapshot> got = stores.get(e.getKey());
                assertEquals(e.getValue().keySet(), got.keySet(), store + " entries, partition " + e.getKey());
                String diff = StoreChangelogs.differences(e.getValue(), got, TestDevice.tolerance());
                assertTrue(diff.isEmpty(), store + " store, partition " + e.getKey() + ", of " + app
                        + " differs from the uninterrupted run:\n" + diff);
            }
        }
    }

    /**
     * The mapping of {@link #assertSameGoodRecordsAsUninterrupted} for one input partition: the reference read
     * {@code n} records at offsets 0..n-1 of {@code partition}, app the same records in the same order with others
     * at the offsets {@code skipped} among them.
     */
    static SortedMap<InputOffset, InputOffset> skipping(int partition, long n, Set<Long> skipped) {
        SortedMap<InputOffset, InputOffset> out = new TreeMap<>();
        long offset = 0;
        for (long i = 0; i < n; i++, offset++) {
            while (skipped.contains(offset)) {
                offset++;
            }
            out.put(new InputOffset(partition, offset), new InputOffset(partition, i));
        }
        return out;
    }

    /** A CheckpointEvent less its wall time (the one field that differs between runs). */
    private static List<Object> comparable(CheckpointEvent c) {
        return List.of(c.getModelVersion(), c.getRecords(), c.getHighSteps(), c.getMidSteps(), c.getLowSteps(),
                c.getStreamTime().toEpochMilli(), c.getStateBytes());
    }
}

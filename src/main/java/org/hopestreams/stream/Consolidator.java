package org.hopestreams.stream;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.hopestreams.avro.ConsolidationEvent;
import org.hopestreams.avro.ConsolidationKind;
import org.hopestreams.avro.DeltaRef;
import org.hopestreams.model.HostTensor;
import org.hopestreams.store.ChunkedValues;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateFormatException;
import org.hopestreams.store.StateSnapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The consolidator (docs/streaming.md "One model across shards"): a sub-topology of the application that reads
 * the single-partition consolidation topic, so exactly one task of the application runs it. It collects a round's
 * deltas in its {@link #STORE} store (chunks by partition and sequence, and the round's list), and closes the round
 * when every one of the {@code partitions} learners has reported, or {@code timeoutMs} of wall time after its
 * first delta, whichever comes first (a wall-clock punctuation): an idle or lagging partition does not stall the
 * others, and a delta it sends later (based on an older version) goes into a later round. Closing merges the
 * round's deltas ({@link MergeRule}) into the increment of the next global version and forwards it, in chunks, to
 * the global topic, which a broadcast partitioner writes into every partition.
 *
 * <p>Exactly-once: the round's store, the global version's records and the consolidation topic's offsets commit in
 * one transaction; a crash at any point aborts all of it and the task reads the deltas again.
 */
final class Consolidator implements Processor<String, ConsolidationEvent, String, ConsolidationEvent> {
    static final String STORE = "consolidation-round";
    private static final byte[] ROUND = "round".getBytes(StandardCharsets.UTF_8);
    private static final Logger LOG = LoggerFactory.getLogger(Consolidator.class);

    private final int partitions;
    private final long timeoutMs;
    private final MergeRule rule;
    private final String levels;
    private final int chunkBytes;
    private final LearnerHub hub;
    private ProcessorContext<String, ConsolidationEvent> context;
    private ChunkedValues store;
    private Round round;

    /** The open round: the next version's predecessor, when it opened (wall ms, 0 = no delta yet) and its deltas. */
    private static final class Round {
        long version;
        long openedWallMs;
        long timestamp;
        final List<DeltaRef> deltas = new ArrayList<>();

        TreeSet<Integer> partitions() {
            TreeSet<Integer> out = new TreeSet<>();
            deltas.forEach(d -> out.add(d.getPartition()));
            return out;
        }
    }

    Consolidator(int partitions, long timeoutMs, MergeRule rule, String levels, int chunkBytes, LearnerHub hub) {
        this.partitions = partitions;
        this.timeoutMs = timeoutMs;
        this.rule = rule;
        this.levels = levels;
        this.chunkBytes = chunkBytes;
        this.hub = hub;
    }

    @Override
    public void init(ProcessorContext<String, ConsolidationEvent> context) {
        this.context = context;
        KeyValueStore<Bytes, byte[]> kv = context.getStateStore(STORE);
        store = new ChunkedValues(kv, new StateCodec());
        round = loadRound();
        hub.globalVersion(round.version);
        LOG.info("consolidator {}: global version {}, round of {} deltas open, {} learners, merge {}, round timeout {} ms",
                context.taskId(), round.version, round.deltas.size(), partitions, rule.id(), timeoutMs);
        context.schedule(Duration.ofMillis(Math.max(10, Math.min(1000, timeoutMs / 4))), PunctuationType.WALL_CLOCK_TIME,
                this::timeout);
    }

    @Override
    public void process(Record<String, ConsolidationEvent> record) {
        ConsolidationEvent e = record.value();
        if (e == null || e.getKind() != ConsolidationKind.DELTA) {
            LOG.warn("consolidator: a record that is not a delta ignored ({})", e == null ? "null" : e.getKind());
            return;
        }
        byte[] name = deltaName(e.getPartition(), e.getSequence());
        store.putChunk(name, e.getChunk(), ConsolidationEvents.payload(e));
        if (e.getChunk() < e.getChunks() - 1) {
            return;
        }
        if (round.deltas.isEmpty()) {
            round.openedWallMs = System.currentTimeMillis();
        }
        round.deltas.add(DeltaRef.newBuilder().setPartition(e.getPartition()).setSequence(e.getSequence())
                .setRecords(e.getRecords()).setBaseVersion(e.getBaseVersion()).build());
        round.timestamp = Math.max(round.timestamp, record.timestamp());
        saveRound();
        if (round.partitions().size() >= partitions) {
            close("every learner reported");
        }
    }

    private void timeout(long wallMs) {
        if (!round.deltas.isEmpty() && System.currentTimeMillis() - round.openedWallMs >= timeoutMs) {
            close("round timeout, " + round.partitions().size() + " of " + partitions + " learners reported");
        }
    }

    /** Merges the round's deltas into the next global version, forwards it, and opens the next round. */
    private void close(String why) {
        long t0 = System.nanoTime();
        Map<Integer, MergeRule.Contribution> byPartition = new TreeMap<>();
        long records = 0;
        List<DeltaRef> merged = new ArrayList<>();
        for (DeltaRef d : round.deltas) {
            byte[] name = deltaName(d.getPartition(), d.getSequence());
            Map<String, HostTensor> delta;
            try {
                delta = ConsolidationEvents.tensors(store.chunks(name));
            } catch (StateFormatException | RuntimeException x) {
                LOG.error("consolidator: delta {} of partition {} is unreadable ({}); left out of version {}",
                        d.getSequence(), d.getPartition(), x.getMessage(), round.version + 1);
                continue;
            }
            MergeRule.Contribution c = byPartition.get(d.getPartition());
            byPartition.put(d.getPartition(), c == null ? new MergeRule.Contribution(d.getPartition(), d.getRecords(), delta)
                    : new MergeRule.Contribution(d.getPartition(), c.records() + d.getRecords(),
                    SlowLevelDeltas.plus(c.delta(), delta)));
            records += d.getRecords();
            merged.add(d);
        }
        long version = round.version + 1;
        if (!byPartition.isEmpty()) {
            Map<String, HostTensor> increment;
            try {
                increment = rule.merge(new ArrayList<>(byPartition.values()));
            } catch (IllegalArgumentException x) {
                LOG.error("consolidator: the deltas of round {} do not fit together ({}); the round is dropped",
                        version, x.getMessage());
                increment = null;
            }
            if (increment != null) {
                long wall = System.currentTimeMillis();
                for (ConsolidationEvent g : ConsolidationEvents.chunked(ConsolidationEvent.newBuilder()
                        .setKind(ConsolidationKind.GLOBAL).setPartition(-1).setSequence(version)
                        .setBaseVersion(round.version).setRecords(records).setLevels(levels).setRule(rule.id())
                        .setMerged(merged).setWallTime(Instant.ofEpochMilli(wall)).setChunk(0).setChunks(1)
                        .setPayload(ByteBuffer.allocate(0)), increment, chunkBytes)) {
                    ConsolidationStats.MERGE_BYTES.add(g.getPayload().remaining());
                    context.forward(new Record<>("global", g, Math.max(0, round.timestamp)));
                    CrashPoints.hit("merge");
                }
                ConsolidationStats.MERGES.increment();
                ConsolidationStats.MERGE_NANOS.add(System.nanoTime() - t0);
                LOG.info("consolidator: global version {} from {} deltas of partitions {} ({} records, {}; {})", version,
                        merged.size(), byPartition.keySet(), records, rule.id(), why);
                round.version = version;
                hub.globalVersion(version);
            }
        }
        for (DeltaRef d : round.deltas) {
            store.delete(deltaName(d.getPartition(), d.getSequence()));
        }
        round.deltas.clear();
        round.openedWallMs = 0;
        round.timestamp = 0;
        saveRound();
    }

    private Round loadRound() {
        Round r = new Round();
        StateSnapshot s;
        try {
            s = store.get(ROUND);
        } catch (StateFormatException e) {
            throw new IllegalStateException("consolidator: the stored round is unreadable: " + e.getMessage(), e);
        }
        if (s == null) {
            return r;
        }
        r.version = s.counters().get("version");
        r.openedWallMs = s.counters().get("openedWallMs");
        r.timestamp = s.counters().get("timestamp");
        String list = s.meta().getOrDefault("deltas", "");
        for (String d : list.isEmpty() ? new String[0] : list.split(",")) {
            String[] f = d.split(":");
            r.deltas.add(DeltaRef.newBuilder().setPartition(Integer.parseInt(f[0])).setSequence(Long.parseLong(f[1]))
                    .setRecords(Long.parseLong(f[2])).setBaseVersion(Long.parseLong(f[3])).build());
        }
        return r;
    }

    private void saveRound() {
        StringBuilder list = new StringBuilder();
        for (DeltaRef d : round.deltas) {
            list.append(list.length() == 0 ? "" : ",").append(d.getPartition()).append(':').append(d.getSequence())
                    .append(':').append(d.getRecords()).append(':').append(d.getBaseVersion());
        }
        store.put(ROUND, StateSnapshot.builder().meta("deltas", list.toString()).counter("version", round.version)
                .counter("openedWallMs", round.openedWallMs).counter("timestamp", round.timestamp).build());
    }

    private static byte[] deltaName(int partition, long sequence) {
        return ByteBuffer.allocate(13).put((byte) 'd').putInt(partition).putLong(sequence).array();
    }
}

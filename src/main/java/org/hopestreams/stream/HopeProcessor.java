package org.hopestreams.stream;

import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.hopestreams.avro.CheckpointEvent;
import org.hopestreams.avro.ConsolidationEvent;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.learn.LearnOutcome;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.learn.StateGroup;
import org.hopestreams.learn.UnreadableStateException;
import org.hopestreams.model.DeviceChoice;
import org.hopestreams.model.Level;
import org.hopestreams.store.ChunkedValues;
import org.hopestreams.store.ModelStore;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateSnapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The HOPE processor (ARCHITECTURE.md §1-3): one learner per partition task. Every record is
 * scored, then learned (fast memory of its key, HIGH step, MID and LOW accumulation); MID steps when
 * a record opens a new stream-time window (or after N records); LOW consolidates on the checkpoint
 * punctuation (wall clock) or when a record opens a new checkpoint period of stream time.
 *
 * <p>State: the key's fast memory goes to {@code fast-memory} on every accepted record; the model
 * ({@code model} store) is written at every commit, only the groups that changed; every LOW version
 * goes to {@code checkpoints} (the last N kept); with {@code hope.keys.ttl.ms}, a punctuation deletes
 * the memories of idle keys. The live learner is a cache of those stores,
 * rebuilt from them in {@link #init}: a task that moves or restarts continues exactly where the
 * last commit left it. A rejected record changes no store.
 *
 * <p>Output: {@link LearningEvent} per learned record, {@link CheckpointEvent} per consolidation,
 * {@link DeadLetter} per rejected record.
 */
public final class HopeProcessor implements Processor<String, LearnRecord, String, Object> {
    public static final String FAST_MEMORY = "fast-memory";
    public static final String MODEL = "model";
    public static final String CHECKPOINTS = "checkpoints";
    /** Records waiting for their batch ({@code hope.batch.records} > 1), by arrival number; deleted when learned. */
    public static final String PENDING = "pending-batch";
    private static final Logger LOG = LoggerFactory.getLogger(HopeProcessor.class);
    /**
     * The wall-clock linger is checked this many times per linger: a batch that is not full waits at most
     * 1 + 1/{@value} lingers (checked once per linger, a record that came just after a check waited almost two).
     */
    static final int LINGER_CHECKS = 4;
    /** Unit tests only: runs before a batch is learned (a failure injected there), null otherwise. */
    Runnable batchFailure;
    /** The TTL check runs every TTL, at least once a minute, so that a long TTL still expires keys promptly. */
    private static final long TTL_CHECK_MAX_MS = 60_000;

    private final HopeStreamsConfig config;
    private final LearnerHub hub;
    private final Map<String, org.hopestreams.model.HostTensor> published = new LinkedHashMap<>();
    /** The exact-context level's committed global model and mixer (their stored byte form), when it is on. */
    private final Map<String, org.hopestreams.model.HostTensor> publishedContext = new LinkedHashMap<>();
    /** Keys whose unreadable memory was logged (once per key; only ever as many as there are broken entries). */
    private final Set<String> unreadableKeys = new HashSet<>();
    private long lastCheckpointWall;
    private ProcessorContext<String, Object> context;
    private Learner learner;
    private ModelStore modelStore;
    private KvFastStateStore fast;
    private ChunkedValues checkpoints;
    /** This task's side of one model across shards, or null when hope.shards.enabled is off. */
    private SlowLevelSync sync;
    private boolean globalIgnoredLogged;
    private boolean persistAll;
    private boolean closed;
    private long streamTime = Long.MIN_VALUE;
    /** The pending-batch store, or null where the topology has none (then only hope.batch.records = 1). */
    private org.apache.kafka.streams.state.KeyValueStore<org.apache.kafka.common.utils.Bytes, byte[]> pendingStore;
    private final List<Pending> pending = new ArrayList<>();
    private final Set<String> pendingKeys = new HashSet<>();
    private long nextPending;
    /**
     * The wall clock of the linger: the system's, not {@link ProcessorContext#currentSystemTimeMs}, which Kafka
     * Streams caches per processing round (a round that learns slowly would make records look older than they
     * are, and batches would be cut by the linger where they need not be).
     */
    java.util.function.LongSupplier wallClock = System::currentTimeMillis;

    /** A record waiting for its batch: its arrival number (its key in the store) and its wall-clock arrival. */
    private record Pending(long seq, Record<String, LearnRecord> record, long arrivedWallMs) {
    }

    public HopeProcessor(HopeStreamsConfig config) {
        this(config, new LearnerHub());
    }

    public HopeProcessor(HopeStreamsConfig config, LearnerHub hub) {
        this.config = config;
        this.hub = hub;
    }

    /**
     * Builds the learner from the stores. Kafka Streams may call this again on the same instance
     * after {@link #close()} (a task revived after a {@code TaskCorruptedException}, a resumed task),
     * with stores that hold only what was committed: so every field is set here anew and nothing of
     * the previous life (its learner, its published copies, its clocks) survives.
     */
    @Override
    public void init(ProcessorContext<String, Object> context) {
        closeLearner();
        this.context = context;
        closed = false;
        persistAll = false;
        streamTime = Long.MIN_VALUE;
        lastCheckpointWall = 0;
        published.clear();
        publishedContext.clear();
        unreadableKeys.clear();
        modelStore = context.getStateStore(MODEL);
        fast = new KvFastStateStore(context.getStateStore(FAST_MEMORY), () -> learner.config());
        checkpoints = new ChunkedValues(context.getStateStore(CHECKPOINTS), new StateCodec());
        Map<String, StateSnapshot> groups;
        try {
            groups = modelStore.read();
            var device = DeviceChoice.parse(config.getString(HopeStreamsConfig.DEVICE)).resolve();
            if (groups.isEmpty()) {
                learner = initial(device);
                persistAll = true;
                LOG.info("task {} assigned: new {} model, version {}{}", context.taskId(), learner.config().preset(),
                        learner.modelVersion(), config.getString(HopeStreamsConfig.MODEL_INIT).isEmpty() ? ""
                                : " from " + config.getString(HopeStreamsConfig.MODEL_INIT));
            } else {
                learner = restore(LearnerSnapshots.joined(groups.values()), "the stores", device);
                LOG.info("task {} assigned: model version {} restored from the stores ({} records learned)", context.taskId(),
                        learner.modelVersion(), learner.recordsLearned());
            }
        } catch (IOException e) {
            throw new IllegalStateException("task " + context.taskId() + ": cannot load the model: " + e.getMessage(), e);
        }
        pending.clear();
        pendingKeys.clear();
        nextPending = 0;
        pendingStore = storeOrNull(context, PENDING);
        if (pendingStore != null) {
            loadPending();
        }
        if (batchRecords() > 1 && pendingStore == null) {
            throw new IllegalStateException(HopeStreamsConfig.BATCH_RECORDS + " = " + batchRecords()
                    + " needs the " + PENDING + " store on the hope processor (HopeTopology adds it)");
        }
        sync = config.consolidationEnabled() ? SlowLevelSync.load(checkpoints, learner, context.taskId().partition(),
                config.getString(HopeStreamsConfig.SHARDS_LEVELS),
                ConsolidationEvents.chunkBytes(config.maxRequestBytes())) : null;
        if (sync != null) {
            hub.consolidation(context.taskId().partition(), sync.baseVersion(), sync.unmerged());
        }
        modelStore.attach(this::takeDirty);
        // Commits publish only the groups that changed: a restarted or moved task would otherwise answer
        // queries with HIGH alone (past warm-up) or, without new traffic, not at all.
        published.putAll(learner.parameters());
        // The committed context level: as stored (a base and the journal the live level continues), or the new one's.
        if (groups.isEmpty()) {
            LearnerSnapshots.groups(learner, EnumSet.of(StateGroup.CONTEXT, StateGroup.CONTEXT_JOURNAL)).values()
                    .forEach(g -> publishedContext.putAll(g.tensors()));
        } else {
            for (StateGroup g : EnumSet.of(StateGroup.CONTEXT, StateGroup.CONTEXT_JOURNAL)) {
                StateSnapshot s = groups.get(g.name());
                if (s != null) {
                    publishedContext.putAll(s.tensors());
                }
            }
        }
        publish();
        if (!config.streamTimeCheckpoints()) {
            context.schedule(Duration.ofMillis(config.getLong(HopeStreamsConfig.CHECKPOINT_INTERVAL_MS)),
                    PunctuationType.WALL_CLOCK_TIME, this::checkpointNow);
        }
        if (batchRecords() > 1 || !pending.isEmpty()) {
            context.schedule(Duration.ofMillis(lingerCheckMs(config.getLong(HopeStreamsConfig.BATCH_LINGER_MS))),
                    PunctuationType.WALL_CLOCK_TIME, this::lingered);
        }
        long ttl = config.getLong(HopeStreamsConfig.KEYS_TTL_MS);
        if (ttl > 0) {
            context.schedule(Duration.ofMillis(Math.min(ttl, TTL_CHECK_MAX_MS)), PunctuationType.WALL_CLOCK_TIME,
                    this::deleteIdleKeys);
        }
    }

    private Learner initial(ai.djl.Device device) throws IOException {
        String init = config.getString(HopeStreamsConfig.MODEL_INIT);
        if (!init.isEmpty()) {
            return restore(new StateCodec().readFile(Path.of(init)), init, device);
        }
        return Learner.create(config.modelConfig(), config.learnerConfig(), config.getLong(HopeStreamsConfig.MODEL_SEED),
                fast, device);
    }

    /**
     * A stored model under the configured rates, windows and checkpoint period (see {@link StartSettings});
     * changed settings are logged once and written with the whole model at the next commit.
     */
    private Learner restore(StateSnapshot stored, String where, ai.djl.Device device) throws IOException {
        StartSettings.checkShape(stored, config, where);
        var before = LearnerSnapshots.learnerConfig(stored);
        var after = StartSettings.apply(before, config);
        String changes = StartSettings.changes(before, after);
        if (!changes.isEmpty()) {
            LOG.info("task {}: learner settings of {} replaced by the configuration: {}", context.taskId(), where,
                    changes);
            persistAll = true;
        }
        return LearnerSnapshots.restore(stored, after, fast, device);
    }

    private int batchRecords() {
        return config.getInt(HopeStreamsConfig.BATCH_RECORDS);
    }

    @SuppressWarnings("unchecked")
    private static <S> S storeOrNull(ProcessorContext<String, Object> context, String name) {
        try {
            return (S) context.getStateStore(name);
        } catch (RuntimeException e) {
            return null;   // not connected to this processor
        }
    }

    @Override
    public void process(Record<String, LearnRecord> record) {
        if (sync != null) {
            sync.persistIfNew();
        }
        if (batchRecords() > 1) {
            String key = record.value().key();
            if (!pending.isEmpty() && (pendingKeys.contains(key) || record.timestamp()
                    - pending.get(0).record().timestamp() >= config.getLong(HopeStreamsConfig.BATCH_LINGER_MS))) {
                flushPending();
            }
            long seq = nextPending++;
            pendingStore.put(org.apache.kafka.common.utils.Bytes.wrap(versionName(seq)), PendingCodec.encode(record));
            pending.add(new Pending(seq, record, wallClock.getAsLong()));
            pendingKeys.add(key);
            if (pending.size() >= batchRecords()) {
                flushPending();
            }
            return;
        }
        if (!pending.isEmpty()) {
            flushPending();   // left by a life with hope.batch.records > 1
        }
        LearnRecord r = record.value();
        long consolidations = learner.consolidations();
        long midSteps = learner.levelSteps()[Level.MID.ordinal()];
        long t0 = System.nanoTime();
        LearnOutcome o = learn(record);
        if (o == null) {
            return;
        }
        handle(record, o, consolidations, midSteps, t0);
    }

    /** How often the wall-clock linger is checked: {@link #LINGER_CHECKS} times per linger, 1 ms apart at the least. */
    static long lingerCheckMs(long lingerMs) {
        return Math.max(1, lingerMs / LINGER_CHECKS);
    }

    /** The wall-clock linger: learns a batch whose first record has waited long enough (by {@link #wallClock}). */
    void lingered(long punctuationTime) {
        if (!closed && !pending.isEmpty() && wallClock.getAsLong() - pending.get(0).arrivedWallMs()
                >= config.getLong(HopeStreamsConfig.BATCH_LINGER_MS)) {
            flushPending();
        }
    }

    /** Records waiting in the store (a previous life's), in arrival order. */
    private void loadPending() {
        List<Pending> stored = new ArrayList<>();
        try (var it = pendingStore.all()) {
            while (it.hasNext()) {
                var kv = it.next();
                long seq = ByteBuffer.wrap(kv.key.get()).getLong();
                stored.add(new Pending(seq, PendingCodec.decode(kv.value), wallClock.getAsLong()));
            }
        }
        stored.sort(java.util.Comparator.comparingLong(Pending::seq));
        for (Pending p : stored) {
            pending.add(p);
            pendingKeys.add(p.record().value().key());
            nextPending = Math.max(nextPending, p.seq() + 1);
        }
        if (!stored.isEmpty()) {
            LOG.info("task {}: {} records wait for their batch (from the pending-batch store)", context.taskId(),
                    stored.size());
        }
    }

    /**
     * Learns the waiting records as one batch ({@link Learner#learnBatch}, which cuts it where the learner
     * must) and deletes them from the pending store: learned effects, outputs and the deletions commit together.
     * If learning fails for a reason that is not the infrastructure's (which fails the task: the transaction,
     * the pending store's changes included, aborts and the records wait again), every record of the batch not yet
     * learned goes to the dead-letter topic ({@code processing-error}, the failure named), as one record alone
     * would through {@link RecordFailureHandler}: none stays behind in the store unseen.
     */
    void flushPending() {
        if (closed || pending.isEmpty()) {
            return;
        }
        List<Pending> batch = new ArrayList<>(pending);
        pending.clear();
        pendingKeys.clear();
        boolean[] done = new boolean[batch.size()];
        try {
            learnWaiting(batch, done);
        } catch (RuntimeException e) {
            if (RecordFailureHandler.infrastructure(e)) {
                throw e;
            }
            int failed = 0;
            for (int k = 0; k < batch.size(); k++) {
                if (!done[k]) {
                    deadLetter(batch.get(k).record(), "processing-error", "learning the batch of " + batch.size()
                            + " records it waited in failed: " + e);
                    failed++;
                }
            }
            LOG.warn("task {}: learning a batch of {} records failed ({}); the {} not learned went to the dead-letter "
                    + "topic", context.taskId(), batch.size(), e.toString(), failed);
        }
        for (Pending p : batch) {
            pendingStore.delete(org.apache.kafka.common.utils.Bytes.wrap(versionName(p.seq())));
        }
    }

    /** The learning of {@link #flushPending}; {@code done[k]} is set once record k's outcome is handled. */
    private void learnWaiting(List<Pending> batch, boolean[] done) {
        if (batchFailure != null) {
            batchFailure.run();
        }
        long t0 = System.nanoTime();
        int i = 0;
        while (i < batch.size()) {
            List<Learner.BatchItem> items = new ArrayList<>();
            for (Pending p : batch.subList(i, batch.size())) {
                items.add(new Learner.BatchItem(p.record().value().key(), p.record().value().bytes(),
                        p.record().timestamp()));
            }
            int base = i;
            long[] seen = {learner.consolidations(), learner.levelSteps()[Level.MID.ordinal()]};
            List<LearnOutcome> outs = learner.learnBatch(items, (start, os) -> {
                long nanos = (System.nanoTime() - t0) / Math.max(1, os.size());
                if (learner.consolidations() > seen[0]) {
                    // The sub-batch's first record opened the period (as a record alone does, it counts in the
                    // stream time of the consolidation); written before the events of the sub-batch.
                    for (int k = 0; k < os.size(); k++) {
                        if (os.get(k).accepted()) {
                            streamTime = Math.max(streamTime, batch.get(base + start + k).record().timestamp());
                            break;
                        }
                    }
                    consolidated(context.currentSystemTimeMs());
                    seen[0] = learner.consolidations();
                }
                for (int k = 0; k < os.size(); k++) {
                    handle(batch.get(base + start + k).record(), os.get(k), seen[0], seen[1], System.nanoTime() - nanos);
                    done[base + start + k] = true;
                    if (os.get(k).accepted()) {
                        seen[1] = os.get(k).levelSteps()[Level.MID.ordinal()];
                    }
                }
            });
            i += outs.size();
            if (i < batch.size()) {   // its key's stored memory cannot be read: as a record alone
                Pending p = batch.get(i);
                long consolidations = learner.consolidations();
                long midSteps = learner.levelSteps()[Level.MID.ordinal()];
                LearnOutcome o = learn(p.record());
                if (o != null) {
                    handle(p.record(), o, consolidations, midSteps, System.nanoTime());
                }
                done[i] = true;
                i++;
            }
        }
    }

    /** What follows a record's outcome: dead letter, or counters, checkpoint, metrics and its LearningEvent. */
    private void handle(Record<String, LearnRecord> record, LearnOutcome o, long consolidations, long midSteps,
                        long t0) {
        LearnRecord r = record.value();
        if (!o.accepted()) {
            deadLetter(record, o.reason().startsWith("non-finite") ? "non-finite"
                    : o.reason().startsWith("empty") ? "empty" : "oversize", o.reason());
            return;
        }
        streamTime = Math.max(streamTime, record.timestamp());
        fast.touch(r.key(), streamTime);
        if (o.levelSteps()[Level.MID.ordinal()] > midSteps) {
            CrashPoints.hit("window-close");
        }
        if (learner.consolidations() > consolidations) {
            consolidated(context.currentSystemTimeMs());
        }
        hub.learned(context.taskId().partition(), r.key(), o, System.nanoTime() - t0);
        CrashPoints.hit("record");
        context.forward(new Record<>(r.key(), learningEvent(r, o), record.timestamp()));
    }

    /**
     * Learns the record; {@code null} when it was dead-lettered because its key's stored memory cannot
     * be read and resets are not allowed (the entry is kept: a later build may read it).
     */
    private LearnOutcome learn(Record<String, LearnRecord> record) {
        LearnRecord r = record.value();
        try {
            return learner.learn(r.key(), r.bytes(), record.timestamp());
        } catch (UnreadableStateException e) {
            String setting = HopeStreamsConfig.FAST_STATE_RESET_UNREADABLE;
            boolean reset = config.getBoolean(setting);
            if (unreadableKeys.add(r.key())) {
                LOG.warn("task {}: {}; {}", context.taskId(), e.getMessage(), reset
                        ? "the key starts again from the initial memory (" + setting + "=true)"
                        : "its records go to the dead-letter topic and the entry is kept (" + setting + "=false)");
            }
            hub.unreadableState(context.taskId().partition(), reset);
            if (!reset) {
                deadLetter(record, "unreadable-state", e.getMessage());
                return null;
            }
            fast.delete(r.key());
            return learner.learn(r.key(), r.bytes(), record.timestamp());
        }
    }

    private void deadLetter(Record<String, LearnRecord> record, String code, String message) {
        LearnRecord r = record.value();
        hub.deadLetter("learn", code);
        context.forward(new Record<>(r.key(), new DeadLetter(utf8(r.key()), r.bytes(), code), record.timestamp(),
                DeadLetter.headers(record.headers(), "learn", code, message, r.sourceTopic(), r.sourcePartition(),
                        r.sourceOffset())));
    }

    private LearningEvent learningEvent(LearnRecord r, LearnOutcome o) {
        List<Double> surprise = new ArrayList<>(o.surprise().length);
        for (double s : o.surprise()) {
            surprise.add(s);
        }
        return LearningEvent.newBuilder().setKey(r.key()).setSourceTopic(r.sourceTopic())
                .setSourcePartition(r.sourcePartition()).setSourceOffset(r.sourceOffset()).setBytes(o.bytes())
                .setBitsPerByte(o.bitsPerByte()).setSurprise(surprise).setHighSteps(o.levelSteps()[0])
                .setMidSteps(o.levelSteps()[1]).setLowSteps(o.levelSteps()[2]).setModelVersion(o.modelVersion())
                .setEventTime(Instant.ofEpochMilli(r.eventTime())).setId(r.id()).setPart(r.part())
                .setParts(r.parts()).setTicks(o.ticks()).build();
    }

    /** The wall-clock checkpoint punctuation (the waiting batch is learned first). */
    void checkpointNow(long wallTime) {
        flushPending();
        if (!closed && learner.checkpoint()) {
            consolidated(wallTime);
        }
    }

    /**
     * The TTL punctuation. Idle is measured in stream time, not wall time: a stopped application or a
     * lagging consumer does not expire keys whose records are still waiting in the topic, and a replay
     * of old data expires keys by the data's own time. So nothing expires before this task has seen a
     * record in its current life (its stream time is unknown until then).
     */
    void deleteIdleKeys(long wallTime) {
        if (closed || streamTime == Long.MIN_VALUE) {
            return;
        }
        flushPending();   // a waiting record's key is not idle
        long deleted = fast.deleteIdle(streamTime - config.getLong(HopeStreamsConfig.KEYS_TTL_MS));
        if (deleted > 0) {
            LOG.info("task {}: deleted the fast memories of {} keys idle for more than {} ms of stream time",
                    context.taskId(), deleted, config.getLong(HopeStreamsConfig.KEYS_TTL_MS));
            hub.keysExpired(context.taskId().partition(), deleted);
        }
    }

    /** A LOW consolidation happened: keep the version, drop the oldest, tell the checkpoints topic. */
    private void consolidated(long wallTime) {
        CrashPoints.hit("checkpoint");
        long version = learner.modelVersion();
        StateSnapshot low = LearnerSnapshots.groups(learner, EnumSet.of(StateGroup.LOW_WEIGHTS))
                .get(StateGroup.LOW_WEIGHTS);
        long bytes = checkpoints.put(versionName(version), low);
        List<Long> kept = storedVersions();
        for (int i = 0; i < kept.size() - config.getInt(HopeStreamsConfig.CHECKPOINTS_KEEP); i++) {
            checkpoints.delete(versionName(kept.get(i)));
        }
        long[] steps = learner.levelSteps();
        CheckpointEvent e = CheckpointEvent.newBuilder().setModelVersion(version).setRecords(learner.recordsLearned())
                .setHighSteps(steps[0]).setMidSteps(steps[1]).setLowSteps(steps[2])
                .setWallTime(Instant.ofEpochMilli(wallTime))
                .setStreamTime(Instant.ofEpochMilli(Math.max(0, streamTime))).setStateBytes(bytes).build();
        context.forward(new Record<>(context.taskId().toString(), e, Math.max(0, streamTime)));
        lastCheckpointWall = wallTime;
        LOG.info("task {}: checkpoint, model version {} ({} records learned, {} HIGH steps, LOW state {} bytes)",
                context.taskId(), version, learner.recordsLearned(), steps[0], bytes);
        hub.checkpoint(context.taskId().partition(), version, wallTime, bytes);
        if (sync != null) {
            publishDelta(wallTime);
        }
    }

    /**
     * One model across shards: the slow levels' delta since the last publication goes to the consolidation topic,
     * in this task's transaction (with the LOW step that made it, the state that records it and the input offsets).
     */
    private void publishDelta(long wallTime) {
        int n = 0;
        for (ConsolidationEvent e : sync.publish(learner, wallTime)) {
            context.forward(new Record<>("p" + context.taskId().partition(), e, Math.max(0, streamTime)));
            if (n++ == 0) {
                CrashPoints.hit("publish");
            }
        }
        hub.consolidation(context.taskId().partition(), sync.baseVersion(), sync.unmerged());
    }

    /**
     * A chunk of a global version of the slow levels (the global topic's partition of this task): with its last
     * chunk the version is adopted, the task's unsent progress rebased on it. Records waiting for their batch are
     * learned first, so that every record is learned on the weights of the point where it stands in the stream.
     */
    void adopt(Record<String, ConsolidationEvent> record) {
        if (closed) {
            return;
        }
        if (sync == null) {
            if (!globalIgnoredLogged) {
                globalIgnoredLogged = true;
                LOG.warn("task {}: a global version on the global topic ignored: {} is off", context.taskId(),
                        HopeStreamsConfig.SHARDS_ENABLED);
            }
            return;
        }
        flushPending();
        sync.persistIfNew();
        long before = sync.baseVersion();
        if (sync.receive(record.value(), learner)) {
            LOG.info("task {}: adopted global version {} of the slow levels (was {}; {} of its deltas not merged yet)",
                    context.taskId(), sync.baseVersion(), before, sync.unmerged());
            hub.consolidation(context.taskId().partition(), sync.baseVersion(), sync.unmerged());
        }
    }

    /** LOW versions in the checkpoints store, oldest first. */
    public List<Long> storedVersions() {
        List<Long> out = new ArrayList<>();
        for (byte[] name : checkpoints.names()) {
            if (name.length == 8) {
                out.add(ByteBuffer.wrap(name).getLong());
            }
        }
        out.sort(null);
        return out;
    }

    static byte[] versionName(long version) {
        return ByteBuffer.allocate(8).putLong(version).array();
    }

    private Map<String, StateSnapshot> takeDirty() {
        if (closed) {
            return Map.of();
        }
        Set<StateGroup> dirty = persistAll ? EnumSet.allOf(StateGroup.class) : learner.dirtyGroups();
        persistAll = false;
        learner.clearDirty();
        Map<String, StateSnapshot> out = new LinkedHashMap<>();
        LearnerSnapshots.commitGroups(learner, dirty).forEach((g, s) -> {
            out.put(g.name(), s);
            s.tensors().forEach((name, t) -> {
                if (name.startsWith("param.")) {
                    published.put(name.substring(6), t);
                } else if (g == StateGroup.CONTEXT || g == StateGroup.CONTEXT_JOURNAL) {
                    publishedContext.put(name, t);
                }
            });
            if (out.size() == 2) {
                CrashPoints.hit("commit");
            }
        });
        publish();
        return out;
    }

    /** Tells the hub the committed model: the parameter copies just encoded for the store, and the counters. */
    private void publish() {
        if (published.isEmpty()) {
            return;
        }
        hub.publish(new LearnerHub.TaskModel(context.taskId().partition(), learner.config(), learner.learnerConfig(),
                Map.copyOf(published), Map.copyOf(publishedContext),
                learner.modelVersion(), learner.levelSteps(), learner.consolidations(), lastCheckpointWall,
                streamTime, System.currentTimeMillis(), sync == null ? -1 : sync.baseVersion()));
    }

    /** The live learner (for tests; the stream thread owns it). */
    public Learner learner() {
        return learner;
    }

    /** Ends this life of the processor: uncommitted changes of the live learner are dropped (see {@link #init}). */
    @Override
    public void close() {
        closed = true;
        if (context != null) {
            hub.withdraw(context.taskId().partition());
        }
        if (modelStore != null) {
            modelStore.attach(null);
        }
        closeLearner();
    }

    private void closeLearner() {
        if (learner != null) {
            learner.close();
            learner = null;
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}

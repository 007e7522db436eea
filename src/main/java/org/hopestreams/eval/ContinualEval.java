package org.hopestreams.eval;

import ai.djl.Device;
import org.hopestreams.learn.InMemoryFastStateStore;
import org.hopestreams.learn.LearnOutcome;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.store.StateFormatException;
import org.hopestreams.store.StateSnapshot;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * The continual-learning harness: every task streams records through a {@link Learner} (score,
 * then learn: prequential) starting from the same state, and measures held-out text with fresh
 * keys (queries change nothing).
 */
public final class ContinualEval {
    private static final byte[] ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789".getBytes(StandardCharsets.US_ASCII);
    private static final String[] SYLLABLES = {"ka", "zo", "ri", "bel", "mu", "ten", "qua", "vi", "dor", "pha",
            "lin", "sto", "gre", "wu", "xan", "fe"};

    /** A domain: its name, the part learned from and the held-out part scored. */
    public record Domain(String name, byte[] train, byte[] heldOut) {
        /** Splits a text: the first {@code 1 - heldOutFraction} is learned from, the rest held out. */
        public static Domain split(String name, byte[] text, double heldOutFraction) {
            int cut = (int) Math.round(text.length * (1 - heldOutFraction));
            return new Domain(name, Arrays.copyOfRange(text, 0, cut), Arrays.copyOfRange(text, cut, text.length));
        }
    }

    /**
     * A learner variant: its learner configuration, the LOW consolidation period (records; 0 = the
     * learner never checkpoints), whether the Titans memory is on, whether the model is put
     * back to its start before every segment (a test device: full forgetting by construction), and which
     * CMS levels are KAN ({@link org.hopestreams.model.HopeConfig#kan}: a start model of its own).
     */
    public record Variant(String name, String description, LearnerConfig config, int checkpointRecords,
                          boolean memory, boolean resetEachSegment, java.util.function.UnaryOperator<StateSnapshot> start,
                          String kan) {
        public Variant(String name, String description, LearnerConfig config, int checkpointRecords, boolean memory,
                       boolean resetEachSegment) {
            this(name, description, config, checkpointRecords, memory, resetEachSegment, s -> s,
                    org.hopestreams.model.HopeConfig.KAN_NONE);
        }

        /** This variant starting from its start snapshot changed by {@code edit} (e.g. a primed context level). */
        public Variant startingFrom(java.util.function.UnaryOperator<StateSnapshot> edit) {
            return new Variant(name, description, config, checkpointRecords, memory, resetEachSegment, edit, kan);
        }

        /** This variant, named {@code newName}, on a start model whose CMS levels {@code levels} are KAN. */
        public Variant withKan(String newName, String newDescription, String levels) {
            return new Variant(newName, newDescription, config, checkpointRecords, memory, resetEachSegment, start, levels);
        }
    }

    /**
     * Sizes of the tasks. {@code streamKeys} K: domain cycling spreads each segment's records over K keys
     * (record q under {@code domain/NAME/(q mod K)}; K = 1: the domain's one key, {@code domain/NAME});
     * {@code batchRecords} B: domain cycling learns B consecutive records (of B distinct keys) per
     * {@link Learner#learnBatch} call (B = 1: one {@link Learner#learn} per record). The probes (facts,
     * passkey, keyed) always learn one record at a time.
     */
    public record Settings(int recordBytes, int segmentRecords, int cycles, int heldOutPieces, int heldOutPieceBytes,
                           int recoveryWindow, int facts, int exposures, int[] delays, int[] passkeyFiller,
                           int passkeyTrials, int keyedKeys, int[] keyedDelays, int streamKeys, int batchRecords) {
        public Settings {
            if (streamKeys < 1 || batchRecords < 1) {
                throw new IllegalArgumentException("--stream-keys and --batch-records must be >= 1, got "
                        + streamKeys + " and " + batchRecords);
            }
            if (batchRecords > streamKeys) {
                throw new IllegalArgumentException("--batch-records " + batchRecords + " exceeds --stream-keys "
                        + streamKeys + ": a batch holds records of distinct keys (spread the stream over at least B keys)");
            }
            if (segmentRecords % batchRecords != 0) {
                throw new IllegalArgumentException("--batch-records " + batchRecords + " does not divide --segment-records "
                        + segmentRecords + ": a batch must not straddle two segments");
            }
        }

        /** One key per domain, one record per learning call. */
        public Settings(int recordBytes, int segmentRecords, int cycles, int heldOutPieces, int heldOutPieceBytes,
                        int recoveryWindow, int facts, int exposures, int[] delays, int[] passkeyFiller,
                        int passkeyTrials, int keyedKeys, int[] keyedDelays) {
            this(recordBytes, segmentRecords, cycles, heldOutPieces, heldOutPieceBytes, recoveryWindow, facts, exposures,
                    delays, passkeyFiller, passkeyTrials, keyedKeys, keyedDelays, 1, 1);
        }

        /** These settings with domain cycling spread over {@code keys} keys and learned {@code batch} records at a time. */
        public Settings withBatching(int keys, int batch) {
            return new Settings(recordBytes, segmentRecords, cycles, heldOutPieces, heldOutPieceBytes, recoveryWindow,
                    facts, exposures, delays, passkeyFiller, passkeyTrials, keyedKeys, keyedDelays, keys, batch);
        }
    }

    /** Where a variant starts: the snapshot of the start model with the Titans memory on or off, and KAN levels {@code kan}. */
    public interface Starts {
        StateSnapshot start(boolean memory, String kan);
    }

    /**
     * Domain cycling: held-out scores after each segment and the prequential trace; {@code levelSteps}
     * are the steps taken during the stream (HIGH, MID, LOW; with a reset, during the last segment),
     * {@code ticks} the extra ticks taken on surprising records and {@code learnSeconds} the time spent
     * learning the stream's records (held-out scoring not counted).
     */
    public record CycleResult(int[] schedule, double[] initial, double[][] r, double[] prequential, int[] recordBytes,
                              int[] recordSegment, double[] segmentBpb, long[] recoveryBytes, long[] levelSteps,
                              long ticks, double learnSeconds) {
        /** Bytes learned per second of learning. */
        public double learnBytesPerSecond() {
            return Arrays.stream(recordBytes).sum() / learnSeconds;
        }

        /** Extra ticks per record. */
        public double ticksPerRecord() {
            return (double) ticks / prequential.length;
        }

        public double finalAverage() {
            return EvalMetrics.finalAverage(r);
        }

        public double backwardTransfer() {
            return EvalMetrics.backwardTransfer(r, schedule);
        }

        public double[] forgetting() {
            return EvalMetrics.forgetting(r);
        }

        /** Mean prequential bits per byte over the whole stream. */
        public double prequentialMean() {
            double bits = 0;
            long n = 0;
            for (int i = 0; i < prequential.length; i++) {
                bits += prequential[i] * recordBytes[i];
                n += recordBytes[i];
            }
            return bits / n;
        }

        /**
         * Plasticity: the mean change of a segment's own domain's held-out score over the segment,
         * R[i][d(i)] − R[i−1][d(i)] (R[−1] the initial scores); negative = it learned.
         */
        public double plasticity() {
            double s = 0;
            for (int i = 0; i < schedule.length; i++) {
                double before = i == 0 ? initial[schedule[i]] : r[i - 1][schedule[i]];
                s += r[i][schedule[i]] - before;
            }
            return s / schedule.length;
        }
    }

    /** Knowledge incorporation: per delay, the answers' mean probability, greedy accuracy and bits saved. */
    public record KnowledgeResult(int[] delays, double[] meanProbability, double[] accuracy, double[] gainBits,
                                  double bitsBefore, double halfLife, double backgroundCost, double firstExposureGainBits,
                                  double firstExposureAccuracy) {
    }

    /** In-record recall per filler length: bits saved on the passkey by having seen it, greedy accuracy. */
    public record PasskeyResult(int[] filler, double[] gainBits, double[] accuracy) {
    }

    /** Keyed knowledge per delay: under the key's own state and under a fresh key. */
    public record KeyedResult(int[] delays, double[] ownGainBits, double[] ownAccuracy, double[] freshGainBits,
                              double[] freshAccuracy) {
    }

    private final List<Domain> domains;
    private final Settings s;
    private final Starts starts;
    private final Device device;

    public ContinualEval(List<Domain> domains, Settings settings, Starts starts, Device device) {
        if (domains.isEmpty()) {
            throw new IllegalArgumentException("the evaluation needs at least one domain");
        }
        long need = (long) settings.segmentRecords() * settings.recordBytes() + 1;
        for (Domain d : domains) {
            if (d.train().length < need) {
                throw new IllegalArgumentException("domain " + d.name() + " has " + d.train().length
                        + " training bytes, a segment needs " + need);
            }
            if (d.heldOut().length < settings.heldOutPieceBytes()) {
                throw new IllegalArgumentException("domain " + d.name() + " has " + d.heldOut().length
                        + " held-out bytes, a piece needs " + settings.heldOutPieceBytes());
            }
        }
        this.domains = List.copyOf(domains);
        this.s = settings;
        this.starts = starts;
        this.device = device;
    }

    public List<Domain> domains() {
        return domains;
    }

    /** A learner of the variant at the start state. */
    public Learner newLearner(Variant v) {
        try {
            return LearnerSnapshots.restore(v.start().apply(starts.start(v.memory(), v.kan())), v.config(),
                    new InMemoryFastStateStore(), device);
        } catch (StateFormatException e) {
            throw new IllegalStateException("start snapshot does not load: " + e.getMessage(), e);
        }
    }

    /** Feeds records to a learner with the variant's LOW cadence. */
    private static final class Feed {
        final Learner learner;
        final Variant v;
        long records;

        Feed(Learner learner, Variant v) {
            this.learner = learner;
            this.v = v;
        }

        LearnOutcome learn(String key, byte[] record) {
            LearnOutcome o = learner.learn(key, record, records);
            learned(List.of(o));
            return o;
        }

        /**
         * Learns {@code items} (distinct keys) in one {@link Learner#learnBatch}; LOW checkpoints after the
         * sub-batch in which a period's last record fell (between sub-batches, as the stream processor does).
         */
        List<LearnOutcome> learnBatch(List<Learner.BatchItem> items) {
            List<LearnOutcome> out = learner.learnBatch(items, (first, os) -> learned(os));
            if (out.size() != items.size()) {
                throw new IllegalStateException("the batch stopped after " + out.size() + " of " + items.size()
                        + " records (a key's state could not be read)");
            }
            return out;
        }

        /** Counts records just learned (one, or a sub-batch); a LOW checkpoint when a period's last record is among them. */
        private void learned(List<LearnOutcome> os) {
            for (LearnOutcome o : os) {
                if (!o.accepted()) {
                    throw new IllegalStateException("record rejected: " + o.reason());
                }
            }
            long before = records;
            records += os.size();
            int p = v.checkpointRecords();
            if (p > 0 && records / p > before / p) {
                learner.checkpoint();
            }
        }
    }

    /** Mean held-out bits per byte of each domain (fresh keys; changes nothing). */
    public double[] heldOut(Learner learner) {
        double[] out = new double[domains.size()];
        for (int j = 0; j < out.length; j++) {
            out[j] = heldOut(learner, domains.get(j));
        }
        return out;
    }

    private double heldOut(Learner learner, Domain d) {
        int n = s.heldOutPieces();
        int len = s.heldOutPieceBytes();
        double sum = 0;
        for (int i = 0; i < n; i++) {
            int off = n == 1 ? 0 : (int) ((long) (d.heldOut().length - len) * i / (n - 1));
            sum += learner.score("heldout/" + d.name() + "/" + i, Arrays.copyOfRange(d.heldOut(), off, off + len));
        }
        return sum / n;
    }

    /** The segment schedule: domains 0..n-1, {@code cycles} times. */
    public int[] schedule() {
        int[] sch = new int[domains.size() * s.cycles()];
        for (int i = 0; i < sch.length; i++) {
            sch[i] = i % domains.size();
        }
        return sch;
    }

    /**
     * Domain cycling: segment i streams {@code segmentRecords} contiguous records from a random
     * offset (seeded) of domain schedule[i]'s training part under that domain's key; after each
     * segment the held-out text of every domain is scored.
     */
    public CycleResult cycle(Variant v, long seed) {
        return cycle(v, seed, null);
    }

    /** As {@link #cycle(Variant, long)}; {@code after} sees the learner at the end (e.g. passkey probes). */
    public CycleResult cycle(Variant v, long seed, java.util.function.Consumer<Learner> after) {
        int[] sch = schedule();
        SplittableRandom rnd = new SplittableRandom(seed * 7919 + 17);
        int segBytes = s.segmentRecords() * s.recordBytes();
        double[][] r = new double[sch.length][];
        int total = sch.length * s.segmentRecords();
        double[] pre = new double[total];
        int[] bytes = new int[total];
        int[] seg = new int[total];
        double[] segBpb = new double[sch.length];
        double[] initial;
        long[] steps;
        long ticks = 0;
        double learnSeconds;
        Learner learner = newLearner(v);
        try {
            initial = heldOut(learner);
            long[] steps0 = learner.levelSteps();   // a pretrained start counts its pretraining steps
            Feed feed = new Feed(learner, v);
            int k = 0;
            long learnNanos = 0;
            for (int i = 0; i < sch.length; i++) {
                if (v.resetEachSegment() && i > 0) {
                    learner.close();
                    learner = newLearner(v);
                    feed = new Feed(learner, v);
                    steps0 = learner.levelSteps();
                }
                Domain d = domains.get(sch[i]);
                int off = rnd.nextInt(d.train().length - segBytes + 1);
                double bits = 0;
                int b = s.batchRecords();
                for (int q0 = 0; q0 < s.segmentRecords(); q0 += b) {
                    List<byte[]> recs = new ArrayList<>(b);
                    List<String> keys = new ArrayList<>(b);
                    for (int q = q0; q < q0 + b; q++) {
                        recs.add(Arrays.copyOfRange(d.train(), off + q * s.recordBytes(), off + (q + 1) * s.recordBytes()));
                        keys.add(s.streamKeys() == 1 ? "domain/" + d.name() : "domain/" + d.name() + "/" + q % s.streamKeys());
                    }
                    long t0 = System.nanoTime();
                    List<LearnOutcome> os;
                    if (b == 1) {
                        os = List.of(feed.learn(keys.get(0), recs.get(0)));
                    } else {
                        List<Learner.BatchItem> items = new ArrayList<>(b);
                        for (int j = 0; j < b; j++) {
                            items.add(new Learner.BatchItem(keys.get(j), recs.get(j), feed.records + j));
                        }
                        os = feed.learnBatch(items);
                    }
                    learnNanos += System.nanoTime() - t0;
                    for (int j = 0; j < b; j++) {
                        LearnOutcome o = os.get(j);
                        ticks += o.ticks();
                        pre[k] = o.bitsPerByte();
                        bytes[k] = recs.get(j).length;
                        seg[k] = i;
                        bits += o.bitsPerByte();
                        k++;
                    }
                }
                segBpb[i] = bits / s.segmentRecords();
                r[i] = heldOut(learner);
            }
            learnSeconds = learnNanos / 1e9;
            steps = learner.levelSteps();
            for (int i = 0; i < steps.length; i++) {
                steps[i] -= steps0[i];
            }
            if (after != null) {
                after.accept(learner);
            }
        } finally {
            learner.close();
        }
        long[] recovery = new long[domains.size()];
        for (int j = 0; j < domains.size(); j++) {
            recovery[j] = recovery(sch, j, pre, bytes, seg);
        }
        return new CycleResult(sch, initial, r, pre, bytes, seg, segBpb, recovery, steps, ticks, learnSeconds);
    }

    /**
     * What a sharded run measured (issue 13): held-out bits per byte of each domain under fresh keys on each shard
     * after the schedule ({@code heldOut[shard][domain]}), the start's ({@code initial}), which shard learned each
     * domain, and the global versions made.
     */
    public record ShardedResult(int shards, boolean consolidated, int[] shardOfDomain, double[] initial,
                                double[][] heldOut, long versions) {
        /** Mean over every shard and domain. */
        public double mean() {
            return mean(true, true);
        }

        /** Mean over the domains each shard learned itself. */
        public double own() {
            return mean(true, false);
        }

        /** Mean over the domains each shard never saw (learned on other shards). */
        public double others() {
            return mean(false, true);
        }

        private double mean(boolean own, boolean others) {
            double sum = 0;
            int n = 0;
            for (int sh = 0; sh < heldOut.length; sh++) {
                for (int d = 0; d < heldOut[sh].length; d++) {
                    boolean mine = shardOfDomain[d] == sh;
                    if (mine ? own : others) {
                        sum += heldOut[sh][d];
                        n++;
                    }
                }
            }
            return n == 0 ? Double.NaN : sum / n;
        }
    }

    /**
     * The domain-cycling schedule of {@link #cycle} spread over {@code shards} learners as partitions would learn
     * it: domain j's key lives in partition j mod shards, so each shard learns only its domains' records (each shard
     * with the variant's own LOW cadence, counted in its own records). With {@code consolidate}, a consolidation
     * round ({@link InProcessConsolidation}, {@code low}, weighted mean) follows every segment, as the streaming
     * protocol would merge it; without, the shards stay independent models.
     */
    public ShardedResult sharded(Variant v, long seed, int shards, boolean consolidate) {
        int[] sch = schedule();
        SplittableRandom rnd = new SplittableRandom(seed * 7919 + 17);
        int segBytes = s.segmentRecords() * s.recordBytes();
        int[] shardOf = new int[domains.size()];
        for (int j = 0; j < shardOf.length; j++) {
            shardOf[j] = j % shards;
        }
        List<Learner> learners = new ArrayList<>();
        try {
            List<Feed> feeds = new ArrayList<>();
            for (int sh = 0; sh < shards; sh++) {
                learners.add(newLearner(v));
                feeds.add(new Feed(learners.get(sh), v));
            }
            double[] initial = heldOut(learners.get(0));
            org.hopestreams.stream.InProcessConsolidation rounds = consolidate
                    ? new org.hopestreams.stream.InProcessConsolidation(learners, "low", "weighted-mean") : null;
            for (int i = 0; i < sch.length; i++) {
                Domain d = domains.get(sch[i]);
                int off = rnd.nextInt(d.train().length - segBytes + 1);
                for (int q = 0; q < s.segmentRecords(); q++) {
                    feeds.get(shardOf[sch[i]]).learn("domain/" + d.name(),
                            Arrays.copyOfRange(d.train(), off + q * s.recordBytes(), off + (q + 1) * s.recordBytes()));
                }
                if (rounds != null) {
                    rounds.round();
                }
            }
            double[][] held = new double[shards][];
            for (int sh = 0; sh < shards; sh++) {
                held[sh] = heldOut(learners.get(sh));
            }
            return new ShardedResult(shards, consolidate, shardOf, initial, held, rounds == null ? 0 : rounds.version());
        } finally {
            learners.forEach(Learner::close);
        }
    }

    /** Bytes to get back within 5 % of the first visit's best running mean on the second visit; -2 if no second visit. */
    private long recovery(int[] sch, int j, double[] pre, int[] bytes, int[] seg) {
        int first = -1;
        int second = -1;
        for (int i = 0; i < sch.length; i++) {
            if (sch[i] == j) {
                if (first < 0) {
                    first = i;
                } else if (second < 0) {
                    second = i;
                }
            }
        }
        if (second < 0) {
            return -2;
        }
        double best = EvalMetrics.bestRunningMean(slice(pre, seg, first), sliceInt(bytes, seg, first), s.recoveryWindow());
        return EvalMetrics.recoveryBytes(slice(pre, seg, second), sliceInt(bytes, seg, second), best, 0.05,
                s.recoveryWindow());
    }

    private static double[] slice(double[] xs, int[] seg, int which) {
        return java.util.stream.IntStream.range(0, xs.length).filter(i -> seg[i] == which).mapToDouble(i -> xs[i]).toArray();
    }

    private static int[] sliceInt(int[] xs, int[] seg, int which) {
        return java.util.stream.IntStream.range(0, xs.length).filter(i -> seg[i] == which).map(i -> xs[i]).toArray();
    }

    // ---------------------------------------------------------------- facts

    /** The subject of every keyed fact: "the code of my locker is ...", each key with its own code. */
    static final String KEYED_SUBJECT = "my locker";

    record Fact(String name, String code) {
        String prompt() {
            return "the code of " + name + " is ";
        }

        String sentence() {
            return prompt() + code + ". ";
        }
    }

    static List<Fact> facts(int n, SplittableRandom rnd) {
        List<Fact> out = new ArrayList<>();
        java.util.Set<String> names = new java.util.HashSet<>();
        while (out.size() < n) {
            StringBuilder name = new StringBuilder();
            for (int i = 0; i < 3; i++) {
                name.append(SYLLABLES[rnd.nextInt(SYLLABLES.length)]);
            }
            if (!names.add(name.toString())) {
                continue;
            }
            out.add(new Fact(name.toString(), code(rnd)));
        }
        return out;
    }

    static String code(SplittableRandom rnd) {
        byte[] c = new byte[6];
        for (int i = 0; i < c.length; i++) {
            c[i] = ALPHABET[rnd.nextInt(ALPHABET.length)];
        }
        return new String(c, StandardCharsets.US_ASCII);
    }

    /**
     * Bits of {@code answer} after {@code prompt} under the key's state: total bits of prompt +
     * answer minus total bits of the prompt (the model is causal). Changes nothing.
     */
    public static double answerBits(Learner l, String key, String prompt, String answer) {
        byte[] p = prompt.getBytes(StandardCharsets.UTF_8);
        byte[] all = (prompt + answer).getBytes(StandardCharsets.UTF_8);
        return l.score(key, all) * all.length - l.score(key, p) * p.length;
    }

    private static boolean completes(Learner l, String key, String prompt, String answer) {
        byte[] a = answer.getBytes(StandardCharsets.UTF_8);
        byte[] got = l.complete(key, prompt.getBytes(StandardCharsets.UTF_8), a.length, 0, 0);
        return Arrays.equals(got, a);
    }

    /** Background records: contiguous text from a random offset of each domain's training part, domains in turn. */
    private final class Background {
        final int[] pos;
        int turn;

        Background(SplittableRandom rnd) {
            pos = new int[domains.size()];
            for (int j = 0; j < pos.length; j++) {
                pos[j] = rnd.nextInt(domains.get(j).train().length);
            }
        }

        byte[] next(int len) {
            int j = turn++ % domains.size();
            byte[] t = domains.get(j).train();
            byte[] out = new byte[len];
            for (int i = 0; i < len; i++) {
                out[i] = t[pos[j]];
                pos[j] = (pos[j] + 1) % t.length;
            }
            return out;
        }
    }

    private byte[] withFact(Fact f, Background bg) {
        byte[] fact = f.sentence().getBytes(StandardCharsets.UTF_8);
        byte[] rest = bg.next(Math.max(0, s.recordBytes() - fact.length));
        byte[] out = Arrays.copyOf(fact, fact.length + rest.length);
        System.arraycopy(rest, 0, out, fact.length, rest.length);
        return out;
    }

    /**
     * Knowledge incorporation: {@code facts} facts, each in {@code exposures} records of one
     * background stream (a background record between fact records); then background only, and at
     * each delay (records after the last exposure) every fact is asked under a fresh key (so only
     * the slow weights can know it). The cost is the held-out score after the exposures minus that
     * of the same stream without the facts.
     */
    public KnowledgeResult knowledge(Variant v, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed * 31 + 5);
        List<Fact> facts = facts(s.facts(), rnd);
        long bgSeed = rnd.nextLong();
        int[] delays = s.delays();
        double[] p = new double[delays.length];
        double[] acc = new double[delays.length];
        double[] gain = new double[delays.length];
        double before;
        double withFacts;
        double firstGain = Double.NaN;
        double firstAcc = Double.NaN;
        try (Learner l = newLearner(v)) {
            before = facts.stream().mapToDouble(f -> answerBits(l, "probe", f.prompt(), f.code())).average().orElseThrow();
            Feed feed = new Feed(l, v);
            Background bg = new Background(new SplittableRandom(bgSeed));
            for (int e = 0; e < s.exposures(); e++) {
                for (Fact f : facts) {
                    feed.learn("stream", withFact(f, bg));
                    feed.learn("stream", bg.next(s.recordBytes()));
                }
                if (e == 0) {   // probes change nothing: the later exposures run as without them
                    firstGain = before - facts.stream().mapToDouble(f -> answerBits(l, "probe", f.prompt(), f.code()))
                            .average().orElseThrow();
                    firstAcc = facts.stream().filter(f -> completes(l, "probe", f.prompt(), f.code())).count()
                            / (double) facts.size();
                }
            }
            withFacts = Arrays.stream(heldOut(l)).average().orElseThrow();
            int done = 0;
            for (int i = 0; i < delays.length; i++) {
                for (; done < delays[i]; done++) {
                    feed.learn("stream", bg.next(s.recordBytes()));
                }
                double sp = 0;
                double sb = 0;
                int ok = 0;
                for (Fact f : facts) {
                    double bits = answerBits(l, "probe", f.prompt(), f.code());
                    sb += bits;
                    sp += Math.pow(2, -bits);
                    ok += completes(l, "probe", f.prompt(), f.code()) ? 1 : 0;
                }
                p[i] = sp / facts.size();
                acc[i] = (double) ok / facts.size();
                gain[i] = before - sb / facts.size();
            }
        }
        double without;
        try (Learner l = newLearner(v)) {
            Feed feed = new Feed(l, v);
            Background bg = new Background(new SplittableRandom(bgSeed));
            for (int e = 0; e < s.exposures(); e++) {
                for (Fact f : facts) {
                    int len = f.sentence().getBytes(StandardCharsets.UTF_8).length;
                    byte[] a = bg.next(len);
                    byte[] b = bg.next(Math.max(0, s.recordBytes() - len));
                    byte[] rec = Arrays.copyOf(a, a.length + b.length);
                    System.arraycopy(b, 0, rec, a.length, b.length);
                    feed.learn("stream", rec);
                    feed.learn("stream", bg.next(s.recordBytes()));
                }
            }
            without = Arrays.stream(heldOut(l)).average().orElseThrow();
        }
        double[] dd = Arrays.stream(delays).asDoubleStream().toArray();
        return new KnowledgeResult(delays.clone(), p, acc, gain, before, EvalMetrics.halfLife(dd, gain),
                withFacts - without, firstGain, firstAcc);
    }

    /**
     * In-record recall (fast memory alone, nothing learned): "the passkey is CODE. " + filler +
     * " the passkey is " under a fresh key; the gain is the answer's bits when the early passkey was
     * another code minus its bits when it was CODE.
     */
    public PasskeyResult passkey(Learner l, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed * 131 + 9);
        int[] fill = s.passkeyFiller();
        double[] gain = new double[fill.length];
        double[] acc = new double[fill.length];
        for (int i = 0; i < fill.length; i++) {
            for (int t = 0; t < s.passkeyTrials(); t++) {
                String code = code(rnd);
                String other = code(rnd);
                Domain d = domains.get(rnd.nextInt(domains.size()));
                int off = rnd.nextInt(Math.max(1, d.heldOut().length - fill[i]));
                String filler = new String(Arrays.copyOfRange(d.heldOut(), off, Math.min(d.heldOut().length, off + fill[i])),
                        StandardCharsets.ISO_8859_1);
                String tail = " " + filler + " the passkey is ";
                String key = "passkey/" + i + "/" + t;
                double seen = answerBits(l, key, "the passkey is " + code + "." + tail, code);
                double unseen = answerBits(l, key, "the passkey is " + other + "." + tail, code);
                gain[i] += (unseen - seen) / s.passkeyTrials();
                acc[i] += completes(l, key, "the passkey is " + code + "." + tail, code) ? 1.0 / s.passkeyTrials() : 0;
            }
        }
        return new PasskeyResult(fill.clone(), gain, acc);
    }

    /**
     * Keyed knowledge: {@code keyedKeys} keys each get one record with their own fact; then
     * background records on other keys; at each delay (background records after the facts) every
     * key's fact is asked under its own key (fast memory and slow weights) and under a fresh key
     * (slow weights only). Gains are bits saved against the start model under a fresh key.
     */
    public KeyedResult keyed(Variant v, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed * 53 + 3);
        // One question, a different answer per key: only a key's own memory can tell which answer is its own.
        List<Fact> facts = facts(s.keyedKeys(), rnd).stream().map(f -> new Fact(KEYED_SUBJECT, f.code())).toList();
        int[] delays = s.keyedDelays();
        double[] ownGain = new double[delays.length];
        double[] ownAcc = new double[delays.length];
        double[] freshGain = new double[delays.length];
        double[] freshAcc = new double[delays.length];
        try (Learner l = newLearner(v)) {
            double[] before = facts.stream().mapToDouble(f -> answerBits(l, "probe", f.prompt(), f.code())).toArray();
            Feed feed = new Feed(l, v);
            Background bg = new Background(new SplittableRandom(rnd.nextLong()));
            for (int i = 0; i < facts.size(); i++) {
                feed.learn("user/" + i, withFact(facts.get(i), bg));
            }
            int done = 0;
            for (int q = 0; q < delays.length; q++) {
                for (; done < delays[q]; done++) {
                    feed.learn("other/" + (done % 8), bg.next(s.recordBytes()));
                }
                for (int i = 0; i < facts.size(); i++) {
                    Fact f = facts.get(i);
                    String own = "user/" + i;
                    // the query continues the key's stream: a separator first, as a new record would
                    String prompt = " " + f.prompt();
                    ownGain[q] += (before[i] - answerBits(l, own, prompt, f.code())) / facts.size();
                    ownAcc[q] += completes(l, own, prompt, f.code()) ? 1.0 / facts.size() : 0;
                    freshGain[q] += (before[i] - answerBits(l, "probe", f.prompt(), f.code())) / facts.size();
                    freshAcc[q] += completes(l, "probe", f.prompt(), f.code()) ? 1.0 / facts.size() : 0;
                }
            }
        }
        return new KeyedResult(delays.clone(), ownGain, ownAcc, freshGain, freshAcc);
    }

    /** Applies {@code f} to every element: a small helper for reports. */
    static double[] map(double[] xs, Function<Double, Double> f) {
        return Arrays.stream(xs).map(f::apply).toArray();
    }
}

package org.hopestreams.serve;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.hopestreams.learn.LearnOutcome;
import org.hopestreams.stream.LearnerHub;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The learners' metrics (Micrometer: {@code hope_*} in Prometheus) and the dashboard's recent
 * history: one point per second of wall time with records, bytes, bits per byte overall and per
 * key class, surprise per block, level steps, dead letters and the model version. A key's class
 * is its text before the first ':', '/', '-' or digit ("sensor-17" and "sensor-3" are "sensor").
 */
public final class Telemetry implements LearnerHub.Listener {
    static final int HISTORY_SECONDS = 600;

    private final Counter records;
    private final Counter bytes;
    private final DistributionSummary bits;
    private final DistributionSummary surprise;
    private final Timer latency;
    private final Counter keysExpired;
    private final Counter ticks;
    private final MeterRegistry registry;
    private final AtomicLong[] steps = {new AtomicLong(), new AtomicLong(), new AtomicLong()};
    private final AtomicLong lastCheckpointWall = new AtomicLong();
    private final AtomicLong version = new AtomicLong();
    private final AtomicLong globalVersion = new AtomicLong();
    private final java.util.concurrent.atomic.AtomicBoolean globalGauge = new java.util.concurrent.atomic.AtomicBoolean();
    private final Map<Integer, AtomicLong[]> consolidation = new java.util.concurrent.ConcurrentHashMap<>();
    private final Deque<Point> history = new ArrayDeque<>();
    private final List<Map<String, Object>> checkpoints = new ArrayList<>();
    private Point current;

    /** One second of learning. */
    private static final class Point {
        final long second;
        long records;
        long bytes;
        double bitsSum;
        final Map<String, double[]> byClass = new TreeMap<>();
        double[] surpriseSum = new double[0];
        long deadLetters;
        long[] steps = new long[3];
        long version;

        Point(long second) {
            this.second = second;
        }
    }

    public Telemetry(MeterRegistry registry) {
        this.registry = registry;
        records = Counter.builder("hope.records").description("Records learned").register(registry);
        bytes = Counter.builder("hope.bytes").description("Bytes learned").baseUnit("bytes").register(registry);
        ticks = Counter.builder("hope.ticks")
                .description("Extra internal steps taken on surprising records (hope.ticks.max)").register(registry);
        keysExpired = Counter.builder("hope.keys.expired")
                .description("Keys whose fast memory was deleted after hope.keys.ttl.ms idle").register(registry);
        bits = DistributionSummary.builder("hope.bits.per.byte")
                .description("Prequential bits per byte of each record, before learning it").register(registry);
        surprise = DistributionSummary.builder("hope.surprise")
                .description("Mean fast-memory residual norm per block of each record").register(registry);
        latency = Timer.builder("hope.record.latency").description("Time to score and learn one record")
                .publishPercentiles(0.5, 0.99).register(registry);
        for (String level : new String[] {"high", "mid", "low"}) {
            int i = level.equals("high") ? 0 : level.equals("mid") ? 1 : 2;
            registry.gauge("hope.level.steps", io.micrometer.core.instrument.Tags.of("level", level), steps[i],
                    AtomicLong::get);
        }
        registry.gauge("hope.model.version", version, AtomicLong::get);
        registry.gauge("hope.checkpoint.age.seconds", lastCheckpointWall,
                t -> t.get() == 0 ? Double.NaN : (System.currentTimeMillis() - t.get()) / 1000.0);
    }

    public static String keyClass(String key) {
        int end = 0;
        while (end < key.length()) {
            char c = key.charAt(end);
            if (c == ':' || c == '/' || c == '-' || Character.isDigit(c)) {
                break;
            }
            end++;
        }
        return end == 0 ? key.isEmpty() ? "(empty)" : key.substring(0, Math.min(key.length(), 16)) : key.substring(0, end);
    }

    @Override
    public void learned(int partition, String key, LearnOutcome o, long nanos) {
        records.increment();
        bytes.increment(o.bytes());
        ticks.increment(o.ticks());
        bits.record(o.bitsPerByte());
        double meanSurprise = 0;
        for (double s : o.surprise()) {
            meanSurprise += s / Math.max(1, o.surprise().length);
        }
        surprise.record(meanSurprise);
        latency.record(nanos, TimeUnit.NANOSECONDS);
        for (int i = 0; i < 3; i++) {
            steps[i].accumulateAndGet(o.levelSteps()[i], Math::max);
        }
        version.accumulateAndGet(o.modelVersion(), Math::max);
        synchronized (history) {
            Point p = point();
            p.records++;
            p.bytes += o.bytes();
            p.bitsSum += o.bitsPerByte();
            double[] c = p.byClass.computeIfAbsent(keyClass(key), k -> new double[2]);
            c[0] += o.bitsPerByte();
            c[1]++;
            if (p.surpriseSum.length < o.surprise().length) {
                p.surpriseSum = java.util.Arrays.copyOf(p.surpriseSum, o.surprise().length);
            }
            for (int i = 0; i < o.surprise().length; i++) {
                p.surpriseSum[i] += o.surprise()[i];
            }
            p.steps = o.levelSteps().clone();
            p.version = o.modelVersion();
        }
    }

    /**
     * One model across shards: {@code hope_shards_global_version} (the newest global version this instance
     * knows), and per partition {@code hope_shards_base_version} (the version its task adopted),
     * {@code hope_shards_lag_versions} (newest known minus adopted) and {@code hope_shards_unmerged}
     * (its deltas not yet in an adopted version).
     */
    @Override
    public void consolidation(int partition, long baseVersion, long unmerged, long newest) {
        if (globalGauge.compareAndSet(false, true)) {   // registered with the first report: absent while it is off
            registry.gauge("hope.shards.global.version", globalVersion, AtomicLong::get);
        }
        globalVersion.accumulateAndGet(newest, Math::max);
        AtomicLong[] v = consolidation.computeIfAbsent(partition, p -> {
            AtomicLong[] g = {new AtomicLong(), new AtomicLong()};
            var tags = io.micrometer.core.instrument.Tags.of("partition", Integer.toString(p));
            registry.gauge("hope.shards.base.version", tags, g[0], AtomicLong::get);
            registry.gauge("hope.shards.lag.versions", tags, g[0], b -> globalVersion.get() - b.get());
            registry.gauge("hope.shards.unmerged", tags, g[1], AtomicLong::get);
            return g;
        });
        v[0].set(baseVersion);
        v[1].set(unmerged);
    }

    @Override
    public void deadLetter(String stage, String reason) {
        Counter.builder("hope.dead.letters").description("Records sent to the dead-letter topic")
                .tags("stage", stage, "reason", reason == null ? "unknown" : reason).register(registry).increment();
        synchronized (history) {
            point().deadLetters++;
        }
    }

    @Override
    public void unreadableState(int partition, boolean reset) {
        Counter.builder("hope.fast.state.unreadable")
                .description("Records whose key's stored fast memory could not be read (action: reset or dead-letter)")
                .tags("action", reset ? "reset" : "dead-letter").register(registry).increment();
    }

    @Override
    public void keysExpired(int partition, long keys) {
        keysExpired.increment(keys);
    }

    @Override
    public void checkpoint(int partition, long v, long wallMs, long stateBytes) {
        lastCheckpointWall.set(wallMs);
        version.accumulateAndGet(v, Math::max);
        synchronized (history) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("partition", partition);
            c.put("version", v);
            c.put("wallTime", wallMs);
            c.put("bytes", stateBytes);
            checkpoints.add(c);
            if (checkpoints.size() > 50) {
                checkpoints.remove(0);
            }
        }
    }

    private Point point() {
        long second = System.currentTimeMillis() / 1000;
        if (current == null || current.second != second) {
            current = new Point(second);
            history.addLast(current);
            while (history.size() > HISTORY_SECONDS) {
                history.removeFirst();
            }
        }
        return current;
    }

    /** The dashboard's data: the last {@value #HISTORY_SECONDS} seconds, one point per second with activity. */
    public Map<String, Object> dashboard() {
        List<Map<String, Object>> points = new ArrayList<>();
        List<Map<String, Object>> cps;
        synchronized (history) {
            for (Point p : history) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("t", p.second * 1000);
                m.put("records", p.records);
                m.put("bytesPerSecond", p.bytes);
                m.put("bitsPerByte", p.records == 0 ? null : p.bitsSum / p.records);
                Map<String, Double> byClass = new TreeMap<>();
                p.byClass.forEach((k, v) -> byClass.put(k, v[0] / v[1]));
                m.put("bitsPerByteByClass", byClass);
                double[] s = p.surpriseSum.clone();
                for (int i = 0; i < s.length; i++) {
                    s[i] /= Math.max(1, p.records);
                }
                m.put("surprise", s);
                m.put("steps", p.steps);
                m.put("deadLetters", p.deadLetters);
                m.put("version", p.version);
                points.add(m);
            }
            cps = List.copyOf(checkpoints);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("points", points);
        out.put("checkpoints", cps);
        out.put("records", (long) records.count());
        out.put("steps", new long[] {steps[0].get(), steps[1].get(), steps[2].get()});
        out.put("version", version.get());
        if (globalGauge.get()) {
            // One model across shards: the newest global version and each of this instance's tasks' base and lag.
            List<Map<String, Object>> tasks = new ArrayList<>();
            new TreeMap<>(consolidation).forEach((p, g) -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("partition", p);
                m.put("baseVersion", g[0].get());
                m.put("lag", globalVersion.get() - g[0].get());
                m.put("unmerged", g[1].get());
                tasks.add(m);
            });
            out.put("shards", Map.of("globalVersion", globalVersion.get(), "tasks", tasks));
        }
        return out;
    }
}

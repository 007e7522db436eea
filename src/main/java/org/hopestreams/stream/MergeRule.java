package org.hopestreams.stream;

import org.hopestreams.model.HostTensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How the consolidator merges a round's deltas into the increment of the next global version
 * ({@code hope.shards.merge}). Each partition's deltas of the round are first summed (its whole progress
 * since it was last merged), then the partitions are combined:
 * <ul>
 *   <li>{@code weighted-mean} (default): Σ R_p·D_p / Σ R_p, each partition weighted by the records it learned
 *   for its delta, so a busy partition moves the model more than a quiet one (federated averaging);</li>
 *   <li>{@code mean}: Σ D_p / n, every partition that reported alike;</li>
 *   <li>{@code sum}: Σ D_p, every partition's step kept whole (the global model moves as far as all of them).</li>
 * </ul>
 * Accumulated in double in partition order, rounded once to the tensors' type: deterministic.
 */
public enum MergeRule {
    WEIGHTED_MEAN, MEAN, SUM;

    /** One partition's part of a round: its deltas summed, and the records they cover. */
    record Contribution(int partition, long records, Map<String, HostTensor> delta) {
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static MergeRule parse(String id) {
        for (MergeRule r : values()) {
            if (r.id().equals(id)) {
                return r;
            }
        }
        throw new IllegalArgumentException("merge rule '" + id + "' is not one of weighted-mean, mean, sum");
    }

    /** The increment of the next global version from the contributions (at least one; same tensors in each). */
    Map<String, HostTensor> merge(List<Contribution> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("a round with no deltas has nothing to merge");
        }
        long total = 0;
        for (Contribution c : parts) {
            total += c.records();
        }
        double[] weights = new double[parts.size()];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = switch (this) {
                case SUM -> 1;
                case MEAN -> 1.0 / parts.size();
                // a round of deltas that cover no records (none are sent, but a rule must not divide by zero)
                case WEIGHTED_MEAN -> total == 0 ? 1.0 / parts.size() : (double) parts.get(i).records() / total;
            };
        }
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : parts.get(0).delta().entrySet()) {
            double[] acc = new double[Math.toIntExact(e.getValue().size())];
            for (int i = 0; i < weights.length; i++) {
                HostTensor t = parts.get(i).delta().get(e.getKey());
                if (t == null || !java.util.Arrays.equals(t.shape(), e.getValue().shape())) {
                    throw new IllegalArgumentException("the delta of partition " + parts.get(i).partition()
                            + " has tensor " + e.getKey() + " as " + t + ", expected " + e.getValue());
                }
                double[] v = t.toDoubles();
                for (int k = 0; k < acc.length; k++) {
                    acc[k] += weights[i] * v[k];
                }
            }
            out.put(e.getKey(), SlowLevelDeltas.fromDoubles(e.getValue(), acc));
        }
        return out;
    }
}

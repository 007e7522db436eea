package org.hopestreams.stream;

import org.hopestreams.learn.Learner;
import org.hopestreams.model.HostTensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One model across shards without Kafka, for the evaluation's sharded runs: learners of one process stand for
 * partitions, and each {@link #round} is a consolidation round with the streaming protocol's arithmetic and merge
 * rule (docs/streaming.md): every learner that took a LOW consolidation since the last round contributes its
 * slow-level delta since then, weighted by the records it learned; every learner adopts the new global version.
 * Rounds are synchronous (no learner learns between publication and adoption), so after a round all learners hold
 * the global slow weights exactly. The learners must start equal. Not thread-safe: one thread drives all.
 */
public final class InProcessConsolidation {
    private final List<Learner> learners;
    private final String levels;
    private final MergeRule rule;
    private final List<Map<String, HostTensor>> atPublish = new ArrayList<>();
    private final long[] recordsAt;
    private final long[] consolidationsAt;
    private Map<String, HostTensor> global;
    private long version;

    /** @param levels {@code low} or {@code low+mid}; @param rule {@code weighted-mean}, {@code mean} or {@code sum} */
    public InProcessConsolidation(List<Learner> learners, String levels, String rule) {
        this.learners = List.copyOf(learners);
        this.levels = levels;
        this.rule = MergeRule.parse(rule);
        this.global = SlowLevelSync.slowWeights(learners.get(0), levels);
        recordsAt = new long[learners.size()];
        consolidationsAt = new long[learners.size()];
        for (int i = 0; i < learners.size(); i++) {
            atPublish.add(SlowLevelSync.slowWeights(learners.get(i), levels));
            if (!atPublish.get(i).equals(global)) {
                throw new IllegalArgumentException("learner " + i + " does not start with learner 0's slow weights");
            }
            recordsAt[i] = learners.get(i).recordsLearned();
            consolidationsAt[i] = learners.get(i).consolidations();
        }
    }

    /** A round; returns false (nothing changes) when no learner consolidated since the last one. */
    public boolean round() {
        List<MergeRule.Contribution> parts = new ArrayList<>();
        for (int i = 0; i < learners.size(); i++) {
            Learner l = learners.get(i);
            if (l.consolidations() > consolidationsAt[i]) {
                Map<String, HostTensor> now = SlowLevelSync.slowWeights(l, levels);
                parts.add(new MergeRule.Contribution(i, l.recordsLearned() - recordsAt[i],
                        SlowLevelDeltas.minus(now, atPublish.get(i))));
                atPublish.set(i, now);
                recordsAt[i] = l.recordsLearned();
                consolidationsAt[i] = l.consolidations();
            }
        }
        if (parts.isEmpty()) {
            return false;
        }
        global = SlowLevelDeltas.plus(global, rule.merge(parts));
        for (int i = 0; i < learners.size(); i++) {
            Learner l = learners.get(i);
            l.setWeights(SlowLevelDeltas.rebase(global, SlowLevelSync.slowWeights(l, levels), atPublish.get(i)));
            atPublish.set(i, global);
        }
        version++;
        return true;
    }

    /** Global versions made so far. */
    public long version() {
        return version;
    }
}

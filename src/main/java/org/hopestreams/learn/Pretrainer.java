package org.hopestreams.learn;

import ai.djl.Device;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.store.StateSnapshot;

import org.hopestreams.model.FastState;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Ordinary minibatch training of every parameter (MODEL.md "Pretraining is the normal start"):
 * random windows of a byte corpus, each from a fresh fast memory whose carried byte is the byte
 * before the window (one window in 16 starts from START so that START is trained), AdamW with a
 * linear warm-up over 50 steps and a cosine decay to a tenth of the rate, global gradient clip.
 *
 * <p>The learner keeps its optimizer moments, so a streaming learner restored from it continues
 * from them (create it with warm-up 0: a pretrained model needs none).
 */
public final class Pretrainer {
    /**
     * Batch settings; {@code lr} is the peak rate. {@code recall}: the share of documents that carry
     * recall content ({@link RecallText}; 0 = plain text, as before). {@code carry}: windows per
     * document, the fast state carried from one to the next (1 = every window starts fresh, as before),
     * so a document is {@code window x carry} bytes and recall can span windows.
     */
    public record Settings(int steps, int batch, int window, double lr, double clip, long seed, double recall,
                           int carry) {
        public Settings {
            if (steps < 1 || batch < 1 || window < 2 || !(lr > 0) || clip < 0 || !(recall >= 0 && recall <= 1)
                    || carry < 1) {
                throw new IllegalArgumentException("pretraining needs steps >= 1, batch >= 1, window >= 2, lr > 0, "
                        + "clip >= 0, recall in 0..1, carry >= 1; got steps " + steps + ", batch " + batch + ", window "
                        + window + ", lr " + lr + ", clip " + clip + ", recall " + recall + ", carry " + carry);
            }
        }

        /** Plain text, every window fresh. */
        public Settings(int steps, int batch, int window, double lr, double clip, long seed) {
            this(steps, batch, window, lr, clip, seed, 0, 1);
        }

        /** Bytes of one document. */
        int documentBytes() {
            return Math.multiplyExact(window, carry);
        }
    }

    /** Progress of one step: its number (from 1) and the batch loss in bits per byte. */
    public interface Progress {
        void step(int step, double bitsPerByte);
    }

    private Pretrainer() {
    }

    /** The rate of step {@code step} (from 0): linear warm-up over 50 steps, cosine decay to a tenth of the peak. */
    public static double rate(Settings s, int step) {
        double warm = Math.min(1.0, (step + 1) / 50.0);
        double cosine = 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * step / s.steps()));
        return s.lr() * warm * cosine;
    }

    /**
     * Pretrains a new learner of {@code config} (seed {@code s.seed()}, settings {@code lc} with no
     * warm-up) on {@code corpus} and returns the state for a streaming learner to continue from. Its
     * learner settings carry pretraining's final rate on every level (rate continuity, MODEL.md: a
     * learner that jumps to a fresh, ten times higher rate wrecks what pretraining built; measured in
     * docs/eval.md). Pretraining trains the network only, so the learner runs without an
     * exact-context level and the state holds none: a learner started from it builds its own under
     * its own context settings, or starts from a primed one ({@link LearnerSnapshots#withPrimedContext}).
     */
    public static StateSnapshot pretrain(HopeConfig config, LearnerConfig lc, byte[] corpus, Settings s, Device device,
                                         Progress progress) {
        LearnerConfig network = lc.withWarmup(0).withContextMode("off");
        try (Learner learner = Learner.create(config, network, s.seed(), new InMemoryFastStateStore(), device)) {
            train(learner, corpus, s, progress);
            double end = rate(s, s.steps() - 1);
            return LearnerSnapshots.withLearnerConfig(LearnerSnapshots.of(learner, true), network.withRates(end, end, end));
        }
    }

    static void train(Learner learner, byte[] corpus, Settings s, Progress progress) {
        int docBytes = s.documentBytes();
        if (corpus.length < docBytes + 1) {
            throw new IllegalArgumentException("the corpus has " + corpus.length + " bytes, pretraining documents of "
                    + docBytes + " bytes (" + s.carry() + " windows of " + s.window() + ") need at least " + (docBytes + 1));
        }
        SplittableRandom rnd = new SplittableRandom(s.seed());
        int[][] docs = new int[s.batch()][];
        int[] at = new int[s.batch()];
        List<FastState> states = new ArrayList<>(java.util.Collections.nCopies(s.batch(), (FastState) null));
        for (int step = 0; step < s.steps(); step++) {
            int[][] inputs = new int[s.batch()][s.window()];
            int[][] targets = new int[s.batch()][s.window()];
            for (int r = 0; r < s.batch(); r++) {
                if (docs[r] == null || at[r] >= docBytes) {
                    boolean recall = s.recall() > 0 && rnd.nextDouble() < s.recall();
                    docs[r] = RecallText.document(corpus, docBytes, recall, rnd);
                    at[r] = 0;
                    states.set(r, null);
                }
                System.arraycopy(docs[r], at[r], inputs[r], 0, s.window());
                System.arraycopy(docs[r], at[r] + 1, targets[r], 0, s.window());
                at[r] += s.window();
            }
            double bits = learner.trainBatch(inputs, targets, states, s.carry() > 1, rate(s, step), s.clip());
            progress.step(step + 1, bits);
        }
    }
}

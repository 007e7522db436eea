package org.hopestreams.learn;

import ai.djl.Device;
import org.hopestreams.model.FastState;
import org.hopestreams.model.HopeConfig;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lever 1 of issue 10: pretraining documents with recall content, and the fast memory carried across windows. */
class RecallPretrainingTest {
    private static byte[] randomText(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (rnd.nextInt(6) == 0 ? ' ' : 'a' + rnd.nextInt(26));
        }
        return b;
    }

    /** Plain documents draw exactly what pretraining drew before the option (the same checkpoints for the same seed). */
    @Test
    void plainDocumentsAreTheWindowsOfBefore() {
        byte[] corpus = randomText(5000, 1);
        SplittableRandom now = new SplittableRandom(7);
        SplittableRandom before = new SplittableRandom(7);
        for (int k = 0; k < 50; k++) {
            int[] doc = RecallText.document(corpus, 128, false, now);
            // the loop of Pretrainer.train before documents existed
            int start = before.nextInt(corpus.length - 128 + 1);
            boolean fromStart = start == 0 || before.nextInt(16) == 0;
            int[] old = new int[129];
            old[0] = fromStart ? HopeConfig.START : corpus[start - 1] & 0xff;
            for (int i = 0; i < 128; i++) {
                old[i + 1] = corpus[start + i] & 0xff;
            }
            assertArrayEquals(old, doc, "document " + k);
        }
    }

    /** Every slot of a recall document holds a span of at least 8 bytes written twice, which random text does not. */
    @Test
    void recallDocumentsRestateWhatTheySaid() {
        byte[] corpus = randomText(20_000, 2);
        SplittableRandom rnd = new SplittableRandom(3);
        for (int k = 0; k < 20; k++) {
            int[] doc = RecallText.document(corpus, 2048, true, rnd);
            assertEquals(2049, doc.length);
            String text = new String(Arrays.copyOfRange(toBytes(doc), 1, doc.length), StandardCharsets.ISO_8859_1);
            for (int slot = 0; slot < 4; slot++) {
                String s = text.substring(slot * 512, slot * 512 + 512);
                assertTrue(hasRepeat(s, 8), "slot " + slot + " of document " + k + " repeats nothing:\n" + s);
            }
        }
        int[] plain = RecallText.document(corpus, 2048, false, new SplittableRandom(3));
        String text = new String(Arrays.copyOfRange(toBytes(plain), 1, plain.length), StandardCharsets.ISO_8859_1);
        assertTrue(!hasRepeat(text.substring(0, 512), 8), "random text repeats itself: the check above proves nothing");
    }

    private static boolean hasRepeat(String s, int n) {
        for (int i = 0; i + n <= s.length(); i++) {
            if (s.indexOf(s.substring(i, i + n), i + 1) >= 0) {
                return true;
            }
        }
        return false;
    }

    private static byte[] toBytes(int[] ids) {
        byte[] b = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) {
            b[i] = (byte) ids[i];
        }
        return b;
    }

    /**
     * Carrying: two windows, the second continuing the first's fast state, score what one window of
     * both does (rate 0, so the weights do not move between them); starting the second afresh does not.
     */
    @Test
    void aCarriedStateContinuesTheDocument() {
        byte[] corpus = randomText(400, 4);
        int w = 32;
        int[][] in = new int[1][2 * w];
        int[][] tg = new int[1][2 * w];
        in[0][0] = HopeConfig.START;
        for (int i = 0; i < 2 * w; i++) {
            tg[0][i] = corpus[i] & 0xff;
            if (i > 0) {
                in[0][i] = tg[0][i - 1];
            }
        }
        LearnerConfig lc = LearnerConfig.defaults().withContextMode("off").withWarmup(0);
        try (Learner l = Learner.create(LearnerContractTest.TINY.withChunk(4).withFloat64(true), lc, 5,
                new InMemoryFastStateStore(), Device.cpu())) {
            double whole = l.trainBatch(in, tg, 0.0, 1.0);
            List<FastState> states = new ArrayList<>(Collections.nCopies(1, (FastState) null));
            double first = l.trainBatch(half(in, 0, w), half(tg, 0, w), states, true, 0.0, 1.0);
            double second = l.trainBatch(half(in, w, w), half(tg, w, w), states, true, 0.0, 1.0);
            assertEquals(whole, (first + second) / 2, 1e-9);
            List<FastState> fresh = new ArrayList<>(Collections.nCopies(1, (FastState) null));
            double afresh = l.trainBatch(half(in, w, w), half(tg, w, w), fresh, false, 0.0, 1.0);
            assertNotEquals(second, afresh, 1e-6);
        }
    }

    private static int[][] half(int[][] a, int from, int n) {
        return new int[][] {Arrays.copyOfRange(a[0], from, from + n)};
    }
}

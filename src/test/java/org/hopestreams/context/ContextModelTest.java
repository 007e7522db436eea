package org.hopestreams.context;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ContextModelTest {
    private static final int[] ORDERS = {1, 2, 3, 4, 5, 6, 8, 12, 16};

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void everyPredictionIsADistributionWithNoZero() {
        ContextModel m = new ContextModel(ORDERS, 1 << 16);
        History h = new History();
        double[] p = new double[256];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 3000; i++) {
            m.predict(h, p);
            double sum = 0;
            for (double v : p) {
                assertTrue(v > 0, "every byte keeps a probability");
                sum += v;
            }
            assertEquals(1, sum, 1e-9);
            int b = i % 7 == 0 ? r.nextInt(256) : 'a' + i % 5;
            m.update(h, b);
            h.append(b);
        }
    }

    @Test
    void oneExposureMakesTheContinuationTheMostLikely() {
        ContextModel m = new ContextModel(ORDERS, 1 << 16);
        History h = new History();
        m.learn(h, text("some background text. the capital of Zorbia is Quelt. more background. "));
        History q = h.copy();
        for (byte b : text("the capital of Zorbia is ")) {
            q.append(b & 0xff);
        }
        double[] p = new double[256];
        StringBuilder answer = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            int matched = m.predict(q, p);
            assertTrue(matched > 0);
            int best = 0;
            for (int b = 1; b < 256; b++) {
                best = p[b] > p[best] ? b : best;
            }
            answer.append((char) best);
            q.append(best);
        }
        assertEquals("Quelt.", answer.toString());
    }

    @Test
    void repetitionCostsFewBitsAndLessThanNoise() {
        ContextModel m = new ContextModel(ORDERS, 1 << 16);
        byte[] line = text("2026-12-03 INFO request served in 12 ms\n");
        History h = new History();
        double first = m.learn(h, line) / line.length;
        double later = 0;
        for (int i = 0; i < 20; i++) {
            later = m.learn(h, line) / line.length;
        }
        assertTrue(first > 6, "unseen text costs about 8 bits per byte, got " + first);
        assertTrue(later < 0.5, "the 21st repetition costs under half a bit per byte, got " + later);
    }

    @Test
    void encodeDecodeContinuesExactlyAndCopiesAreIndependent() {
        ContextModel a = new ContextModel(ORDERS, 1 << 16);
        History ha = new History();
        byte[] t = text("a stream of words, a stream of bytes, a stream of events and facts. ".repeat(5));
        a.learn(ha, Arrays.copyOf(t, 150));
        ContextModel b = ContextModel.decode(a.encode());
        ContextModel c = a.copy();
        assertEquals(a, b);
        History hb = ha.copy();
        double bitsA = a.learn(ha, Arrays.copyOfRange(t, 150, t.length));
        double bitsB = b.learn(hb, Arrays.copyOfRange(t, 150, t.length));
        assertEquals(bitsA, bitsB, 0.0, "a decoded model predicts bit for bit like the original");
        assertArrayEquals(a.encode(), b.encode());
        assertNotEquals(a, c, "the copy did not see the later bytes");
    }

    @Test
    void aFullModelStartsAgainEmptyAndStaysBounded() {
        ContextModel m = new ContextModel(ORDERS, 500);
        SplittableRandom r = new SplittableRandom(1);
        byte[] noise = new byte[2000];
        r.nextBytes(noise);
        m.learn(new History(), noise);
        assertTrue(m.size() <= 500);
        assertTrue(m.restarts() > 0);
        assertEquals(m, ContextModel.decode(m.encode()));
    }

    @Test
    void aFullPruningModelKeepsWhatItSawOftenAndStaysBounded() {
        byte[] often = text("the capital of Zorbia is Quelt. ");
        ContextModel pruning = new ContextModel(ORDERS, 2000).overflow(ContextModel.Overflow.PRUNE);
        ContextModel clearing = new ContextModel(ORDERS, 2000);
        assertEquals(ContextModel.Overflow.CLEAR, clearing.overflow(), "the constructor's policy: as before");
        SplittableRandom r = new SplittableRandom(3);
        History hp = new History();
        History hc = new History();
        for (int round = 0; round < 40; round++) {
            byte[] noise = new byte[120];
            r.nextBytes(noise);
            for (ContextModel m : new ContextModel[] {pruning, clearing}) {
                History h = m == pruning ? hp : hc;
                m.learn(h, often);
                m.learn(h, noise);
            }
            assertTrue(pruning.size() <= 2000 && clearing.size() <= 2000);
        }
        assertTrue(pruning.restarts() > 3 && clearing.restarts() > 3, pruning.restarts() + " / " + clearing.restarts());
        assertTrue(pruning.size() > 0);
        // after many overflows the pruning model still knows the often-seen sentence; the clearing one lost it
        History probeP = new History();
        pruning.copy().learn(probeP, text("xyz "));
        double bitsP = pruning.copy().learn(probeP.copy(), often);
        History probeC = new History();
        clearing.copy().learn(probeC, text("xyz "));
        double bitsC = clearing.copy().learn(probeC.copy(), often);
        assertTrue(bitsP < bitsC, "pruned " + bitsP + " bits vs cleared " + bitsC + " bits for the often-seen sentence");
        // the policy is configuration: a copy keeps it, a decoded model clears until told otherwise
        assertEquals(ContextModel.Overflow.PRUNE, pruning.copy().overflow());
        assertEquals(ContextModel.Overflow.CLEAR, ContextModel.decode(pruning.encode()).overflow());
        assertEquals(ContextModel.Overflow.PRUNE, ContextModel.Overflow.parse("prune"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ContextModel.Overflow.parse("lru"))
                .getMessage().contains("lru"));
    }

    @Test
    void damagedFormsAreRefusedWithTheProblemNamed() {
        ContextModel m = new ContextModel(ORDERS, 1 << 10);
        m.learn(new History(), text("hello hello hello"));
        byte[] form = m.encode();
        IllegalArgumentException truncated = assertThrows(IllegalArgumentException.class,
                () -> ContextModel.decode(Arrays.copyOf(form, form.length - 3)));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());
        byte[] version = form.clone();
        version[3] = 9;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ContextModel.decode(version)).getMessage()
                .contains("format 9"));
        byte[] trailing = Arrays.copyOf(form, form.length + 1);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ContextModel.decode(trailing)).getMessage()
                .contains("trailing"));
        assertThrows(IllegalArgumentException.class, () -> new ContextModel(new int[] {2, 1}, 10));
        assertThrows(IllegalArgumentException.class, () -> new ContextModel(new int[] {25}, 10));
    }

    @Test
    void keyContextRoundTripsWithItsHistory() {
        KeyContext k = KeyContext.fresh(ORDERS, 1 << 10);
        for (byte b : text("the locker code is 4711. ")) {
            k.observe(b & 0xff);
        }
        KeyContext back = KeyContext.decode(k.encode());
        assertEquals(k, back);
        assertArrayEquals(k.history().toBytes(), back.history().toBytes());
        assertThrows(IllegalArgumentException.class, () -> KeyContext.decode(new byte[] {30, 1, 2}));
    }
}

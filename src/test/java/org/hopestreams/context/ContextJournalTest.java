package org.hopestreams.context;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A global model persisted as a base and a journal of deltas: restored bit for bit, through compactions and overflows. */
class ContextJournalTest {
    private static final int[] ORDERS = {1, 2, 3, 4, 6, 12};

    /** Word-like text: a vocabulary of pseudo-words chosen with a skew, so contexts recur and branch. */
    static final class Text {
        private final String[] words;
        private final SplittableRandom r;

        Text(long seed, int vocabulary) {
            r = new SplittableRandom(seed);
            words = new String[vocabulary];
            for (int i = 0; i < vocabulary; i++) {
                StringBuilder w = new StringBuilder();
                for (int j = 2 + r.nextInt(8); j > 0; j--) {
                    w.append((char) ('a' + r.nextInt(26)));
                }
                words[i] = w.toString();
            }
        }

        /** The next {@code n} bytes. */
        byte[] next(int n) {
            StringBuilder b = new StringBuilder();
            while (b.length() < n) {
                double u = r.nextDouble();
                b.append(words[(int) (words.length * u * u * u)]).append(r.nextInt(12) == 0 ? ". " : " ");
            }
            return b.substring(0, n).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        }
    }

    /** Counts {@code text} into {@code m} after one of the histories (a record of one of several keys). */
    static void learn(ContextModel m, History h, byte[] text) {
        for (byte x : text) {
            m.update(h, x & 0xff);
            h.append(x & 0xff);
        }
    }

    /**
     * Commits of a few records each; after each, the stored base and journal restore the live model bit for bit,
     * through deltas, compactions and (a small bound) prunes or clears; a model restored mid-way and continued
     * with the same records persists the same bytes at every later commit as the one that never stopped.
     */
    @ParameterizedTest
    @EnumSource(ContextModel.Overflow.class)
    void baseAndJournalRestoreTheLiveModelBitForBit(ContextModel.Overflow overflow) {
        ContextModel live = new ContextModel(ORDERS, 30_000).overflow(overflow);
        ContextJournal journal = new ContextJournal();
        Text text = new Text(5, 300);
        SplittableRandom r = new SplittableRandom(9);
        History[] keys = {new History(), new History(), new History()};
        History[] resumedKeys = null;
        ContextModel resumed = null;
        ContextJournal resumedJournal = null;
        byte[] base = null;
        int bases = 0;
        int maxDeltas = 0;
        for (int commit = 0; commit < 400; commit++) {
            int k = r.nextInt(keys.length);
            byte[] record = text.next(commit % 10 == 9 ? 1500 : 1 + r.nextInt(30));
            learn(live, keys[k], record);
            if (resumed != null) {
                learn(resumed, resumedKeys[k], record);
            }
            ContextJournal.Persisted p = journal.take(live);
            assertEquals(0, live.changedContexts(), "persisted: nothing changed since");
            if (p.base() != null) {
                base = p.base();
                bases++;
                assertEquals(0, journal.deltas(), "a new base starts an empty journal");
            }
            maxDeltas = Math.max(maxDeltas, journal.deltas());
            ContextJournal.Restored back = ContextJournal.restore(base, p.journal());
            assertArrayEquals(live.encode(), back.model().encode(), "commit " + commit + ": base + journal = live");
            if (resumed != null) {
                ContextJournal.Persisted q = resumedJournal.take(resumed);
                assertArrayEquals(p.base(), q.base(), "commit " + commit + ": the resumed model's base");
                assertArrayEquals(p.journal(), q.journal(), "commit " + commit + ": the resumed model's journal");
            }
            if (commit == 150) {
                resumed = back.model().overflow(overflow);
                resumedJournal = back.journal();
                resumedKeys = new History[keys.length];
                for (int i = 0; i < keys.length; i++) {
                    resumedKeys[i] = keys[i].copy();
                }
            }
        }
        assertTrue(live.restarts() > 2, "the model overflowed: " + live.restarts());
        assertTrue(bases > live.restarts() + 2, "bases for overflows and compactions: " + bases);
        assertTrue(maxDeltas >= 5, "journals of several deltas: " + maxDeltas);
    }

    @Test
    void theFirstCommitAndAnyCommitAfterAnOverflowWriteABaseAndOneThatChangedNothingAnEmptyDelta() {
        ContextModel m = new ContextModel(ORDERS, 20_000);
        ContextJournal j = new ContextJournal();
        History h = new History();
        Text text = new Text(1, 50);
        learn(m, h, text.next(3000));
        assertNotNull(j.take(m).base(), "a journal that knows no base writes one");
        learn(m, h, " and a second".getBytes());
        assertNull(j.take(m).base());
        assertEquals(1, j.deltas());
        assertNull(j.take(m).base(), "nothing changed: no base");
        assertEquals(1, j.deltas(), "and no delta");
        long restarts = m.restarts();
        while (m.restarts() == restarts) {
            learn(m, h, text.next(1));
        }
        assertTrue(m.wholeChanged());
        assertNotNull(j.take(m).base(), "the model cleared: a base");
        assertNotNull(new ContextJournal().take(m.copy()).base(), "a copy has no persisted point");
    }

    @Test
    void aJournalOfAnotherBaseIsRefusedNotApplied() {
        ContextModel m = new ContextModel(ORDERS, 50_000);
        ContextJournal j = new ContextJournal();
        History h = new History();
        Text text = new Text(2, 100);
        learn(m, h, text.next(5000));
        byte[] base = j.take(m).base();
        learn(m, h, text.next(30));
        byte[] journal = j.take(m).journal();
        assertArrayEquals(m.encode(), ContextJournal.restore(base, journal).model().encode());

        ContextModel other = ContextModel.decode(base);
        learn(other, new History(), text.next(5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ContextJournal.restore(other.encode(), journal));
        assertTrue(e.getMessage().contains("belongs to base") && e.getMessage().contains("refused"), e.getMessage());

        byte[] truncated = java.util.Arrays.copyOf(journal, journal.length - 3);
        e = assertThrows(IllegalArgumentException.class, () -> ContextJournal.restore(base, truncated));
        assertTrue(e.getMessage().contains("context journal"), e.getMessage());
    }

    @Test
    void aDeltaCarriesTheChangedContextsAndTheStatisticsAndFitsOnlyItsModel() {
        ContextModel m = new ContextModel(ORDERS, 5000);
        History h = new History();
        learn(m, h, "the cat sat on the mat, the cat sat".getBytes());
        ContextModel at = ContextModel.decode(m.encode());
        m.markPersisted();
        learn(m, h, " on the hat".getBytes());
        assertTrue(m.changedContexts() > 0);
        byte[] delta = m.encodeDelta();
        at.applyDelta(delta);
        assertEquals(m, at);
        ContextModel otherOrders = new ContextModel(new int[] {1, 2}, 5000);
        assertThrows(IllegalArgumentException.class, () -> otherOrders.applyDelta(delta));
        ContextModel fresh = new ContextModel(ORDERS, 5000);
        assertThrows(IllegalStateException.class, fresh::encodeDelta, "a new model has no persisted point");
    }
}

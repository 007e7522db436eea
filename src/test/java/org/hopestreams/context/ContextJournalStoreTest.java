package org.hopestreams.context;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.hopestreams.model.HostTensor;
import org.hopestreams.store.ChunkedValues;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a commit writes for a global model of about 524K contexts in a real RocksDB store: the whole model (as
 * before journals) against a base and a journal of deltas. The size assertions hold on any machine; the times
 * are printed, not asserted ({@code -Djournal.commits=N} runs more commits, {@code -Djournal.fractions=a,b} other
 * compaction fractions, for docs/streaming.md's figures).
 */
class ContextJournalStoreTest {
    private static final int[] ORDERS = {1, 2, 3, 4, 5, 6, 8, 12, 16};
    private static final byte[] BASE = "CONTEXT".getBytes(StandardCharsets.UTF_8);
    private static final byte[] JOURNAL = "CONTEXT_JOURNAL".getBytes(StandardCharsets.UTF_8);
    /** One record's bytes per commit (the commit after one record). */
    private static final int RECORD = 200;

    @TempDir
    Path dir;

    private KeyValueStore<Bytes, byte[]> store;
    private ChunkedValues values;

    @BeforeEach
    void open() {
        store = org.hopestreams.store.TestRocksStores.open(dir, "context-journal-test");
        values = new ChunkedValues(store, new StateCodec());
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static ContextModel filled(ContextJournalTest.Text text, History h) {
        ContextModel m = new ContextModel(ORDERS, 1 << 20);
        while (m.size() < 524_000) {
            ContextJournalTest.learn(m, h, text.next(2_000));
        }
        return m;
    }

    @Test
    void aOneRecordCommitWritesTheJournalNotTheWholeModel() throws Exception {
        int commits = Integer.getInteger("journal.commits", 40);
        ContextJournalTest.Text text = new ContextJournalTest.Text(11, 20_000);
        History h = new History();
        ContextModel live = filled(text, h);
        int contexts = live.size();
        ContextModel whole = live.copy();
        History hw = h.copy();
        ContextJournalTest.Text textW = new ContextJournalTest.Text(12, 20_000);
        ContextJournalTest.Text textJ = new ContextJournalTest.Text(12, 20_000);

        // Before: the whole model at every commit.
        long wholeBytes = 0;
        long wholeNanos = 0;
        long wholeCommitNanos = 0;
        for (int c = 0; c < commits; c++) {
            ContextJournalTest.learn(whole, hw, textW.next(RECORD));
            long t0 = System.nanoTime();
            byte[] form = whole.encode();
            wholeNanos += System.nanoTime() - t0;
            wholeBytes += values.put(BASE, StateSnapshot.builder().tensor("context.global", HostTensor.ofBytes(form))
                    .build());
            wholeCommitNanos += System.nanoTime() - t0;
        }
        values.delete(BASE);

        // After: a base and the journal.
        ContextJournal journal = new ContextJournal();
        long t0 = System.nanoTime();
        long first = put(journal.take(live));
        long firstNanos = System.nanoTime() - t0;
        long bytes = 0;
        long nanos = 0;
        long commitNanos = 0;
        long journalMax = 0;
        int bases = 0;
        long firstDelta = -1;
        for (int c = 0; c < commits; c++) {
            ContextJournalTest.learn(live, h, textJ.next(RECORD));
            long t1 = System.nanoTime();
            ContextJournal.Persisted p = journal.take(live);
            nanos += System.nanoTime() - t1;
            long b = put(p);
            commitNanos += System.nanoTime() - t1;
            bytes += b;
            bases += p.base() == null ? 0 : 1;
            journalMax = Math.max(journalMax, p.journal().length);
            if (firstDelta < 0) {
                firstDelta = b;
            }
        }
        System.out.printf("context journal, %d to %d contexts, %d commits of one %d-byte record each (load average"
                        + " %.2f):%n  whole model per commit: %d bytes written, encode %.1f ms, with chunks and RocksDB"
                        + " puts %.1f ms (means)%n  journal: first base %d bytes in %.1f ms; then %d bytes per commit"
                        + " (mean; first %d), take (delta or base) %.2f ms, with chunks and puts %.2f ms (means), %d new"
                        + " bases, journal at most %d bytes%n",
                contexts, live.size(), commits, RECORD, java.lang.management.ManagementFactory
                        .getOperatingSystemMXBean().getSystemLoadAverage(), wholeBytes / commits,
                wholeNanos / 1e6 / commits, wholeCommitNanos / 1e6 / commits, first, firstNanos / 1e6,
                bytes / commits, firstDelta, nanos / 1e6 / commits, commitNanos / 1e6 / commits, bases, journalMax);
        assertTrue(firstDelta * 50 < first, "a one-record commit writes under 2 % of the base: " + firstDelta
                + " of " + first);
        assertTrue(bytes * 4 < wholeBytes, "commits write under a quarter of the whole model's bytes: " + bytes
                + " against " + wholeBytes);

        StateSnapshot b = values.get(BASE);
        StateSnapshot j = values.get(JOURNAL);
        assertArrayEquals(live.encode(), ContextJournal.restore(b.tensor("context.global").bytes(),
                j.tensor("context.journal").bytes()).model().encode(), "the store restores the live model");

        for (String f : System.getProperty("journal.fractions", "").split(",")) {
            if (!f.isBlank()) {
                amortised(Double.parseDouble(f), commits);
            }
        }
    }

    /** Bytes per commit, a base included, over {@code commits} one-record commits at another compaction fraction. */
    private void amortised(double fraction, int commits) {
        ContextJournalTest.Text text = new ContextJournalTest.Text(11, 20_000);
        History h = new History();
        ContextModel live = filled(text, h);
        ContextJournal journal = new ContextJournal(fraction);
        put(journal.take(live));
        long bytes = 0;
        int bases = 0;
        for (int c = 0; c < commits; c++) {
            ContextJournalTest.learn(live, h, text.next(RECORD));
            ContextJournal.Persisted p = journal.take(live);
            bases += p.base() == null ? 0 : 1;
            bytes += put(p);
        }
        System.out.printf("  fraction %.4f: %d bytes per commit (mean of %d), %d new bases%n", fraction,
                bytes / commits, commits, bases);
    }

    /** Writes a commit's context groups as the model store does; returns the bytes written. */
    private long put(ContextJournal.Persisted p) {
        long bytes = 0;
        if (p.base() != null) {
            bytes += values.put(BASE, StateSnapshot.builder().tensor("context.global", HostTensor.ofBytes(p.base()))
                    .build());
        }
        return bytes + values.put(JOURNAL, StateSnapshot.builder().tensor("context.journal",
                HostTensor.ofBytes(p.journal())).build());
    }
}

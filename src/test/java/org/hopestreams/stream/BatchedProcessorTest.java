package org.hopestreams.stream;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.learn.LearnerSnapshots;
import org.hopestreams.store.ModelStore;
import org.hopestreams.store.ModelStoreBuilder;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The processor with {@code hope.batch.records} > 1 (MockProcessorContext, real RocksDB stores, not
 * logged): records wait in the pending-batch store, a record of a waiting key or a full batch or the
 * linger learns the batch, every record is learned once, and a restart with records waiting learns them
 * once and ends where a run that never stopped ends.
 */
class BatchedProcessorTest {
    private static final long LINGER = 1000;

    @TempDir
    Path dir;

    private final List<StateStore> open = new ArrayList<>();

    @AfterEach
    void closeStores() {
        open.forEach(StateStore::close);
    }

    /** A task's stores in {@code sub} (created on first use, reopened as they are after). */
    private final class Task {
        final List<StateStore> stores = new ArrayList<>();
        final Map<String, Object> config = new LinkedHashMap<>();
        MockProcessorContext<String, Object> ctx;
        HopeProcessor processor;

        Task(String sub) {
            config.put(StreamsConfig.APPLICATION_ID_CONFIG, "batched-test");
            config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
            config.put(HopeStreamsConfig.MODEL_PRESET, "tiny");
            config.put(HopeStreamsConfig.WARMUP_RECORDS, "0");
            config.put(HopeStreamsConfig.WINDOW_MS, "1000");
            config.put(HopeStreamsConfig.CHECKPOINT_CLOCK, "stream");
            config.put(HopeStreamsConfig.CHECKPOINT_INTERVAL_MS, "3000");
            config.put(HopeStreamsConfig.BATCH_RECORDS, "4");
            config.put(HopeStreamsConfig.BATCH_LINGER_MS, Long.toString(LINGER));
            Properties p = new Properties();
            p.putAll(config);
            ctx = new MockProcessorContext<>(p, new TaskId(0, 0), dir.resolve(sub).toFile());
            stores.add(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(HopeProcessor.FAST_MEMORY),
                    Serdes.Bytes(), Serdes.ByteArray()).withLoggingDisabled().build());
            stores.add(new ModelStoreBuilder(HopeProcessor.MODEL).withLoggingDisabled().build());
            stores.add(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(HopeProcessor.CHECKPOINTS),
                    Serdes.Bytes(), Serdes.ByteArray()).withLoggingDisabled().build());
            stores.add(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(HopeProcessor.PENDING),
                    Serdes.Bytes(), Serdes.ByteArray()).withLoggingDisabled().build());
            for (StateStore s : stores) {
                s.init(ctx.getStateStoreContext(), s);
                ctx.addStateStore(s);
            }
            open.addAll(stores);
            ctx.setCurrentSystemTimeMs(0);
            start();
        }

        /** Wall time of the current life's {@code init}: where Kafka Streams starts its wall-clock punctuations. */
        long started;

        void start() {
            processor = new HopeProcessor(new HopeStreamsConfig(config));
            processor.wallClock = ctx::currentSystemTimeMs;
            started = ctx.currentSystemTimeMs();
            processor.init(ctx);
        }

        void process(int i) {
            String key = "k" + i % 3;
            long time = 100L * i;
            ctx.setCurrentSystemTimeMs(time);
            processor.process(new Record<>(key, new LearnRecord("id" + i, key,
                    ("record " + i + " of " + key).getBytes(StandardCharsets.UTF_8), time, 0, 1, "in", 0, i), time));
        }

        /** The current life's linger punctuation (the last scheduled; the only wall-clock one in this configuration). */
        MockProcessorContext.CapturedPunctuator lingerPunctuation() {
            return ctx.scheduledPunctuators().stream().filter(c -> c.getType() == PunctuationType.WALL_CLOCK_TIME)
                    .reduce((a, b) -> b).orElseThrow();
        }

        /** The linger punctuation, fired long after the last record arrived. */
        void linger() {
            ctx.setCurrentSystemTimeMs(ctx.currentSystemTimeMs() + LINGER);
            lingerPunctuation().getPunctuator().punctuate(ctx.currentSystemTimeMs());
        }

        /**
         * Moves the wall clock to {@code to}, firing the linger punctuation at each of its times on the way, as Kafka
         * Streams does: every interval after {@link #start}.
         */
        void wallClockTo(long to) {
            var p = lingerPunctuation();
            long interval = p.getInterval().toMillis();
            for (long at = started + interval; at <= to; at += interval) {
                if (at > ctx.currentSystemTimeMs()) {
                    ctx.setCurrentSystemTimeMs(at);
                    p.getPunctuator().punctuate(at);
                }
            }
            ctx.setCurrentSystemTimeMs(to);
        }

        void commit() {
            ((ModelStore) stores.get(1)).flushCache();
        }

        int waiting() {
            int n = 0;
            @SuppressWarnings("unchecked")
            KeyValueStore<Bytes, byte[]> s = (KeyValueStore<Bytes, byte[]>) stores.get(3);
            try (KeyValueIterator<Bytes, byte[]> it = s.all()) {
                while (it.hasNext()) {
                    it.next();
                    n++;
                }
            }
            return n;
        }

        List<LearningEvent> events() {
            List<LearningEvent> out = new ArrayList<>();
            ctx.forwarded().forEach(f -> {
                if (f.record().value() instanceof LearningEvent e) {
                    out.add(e);
                }
            });
            return out;
        }
    }

    @Test
    void recordsWaitForTheirBatchAndAreEachLearnedOnceInOrder() {
        Task t = new Task("one");
        for (int i = 0; i < 10; i++) {
            t.process(i);
        }
        // keys k0 k1 k2 k0 …: the second k0 closes each batch of three; the tenth record waits
        assertEquals(9, t.events().size());
        assertEquals(1, t.waiting());
        t.linger();
        List<LearningEvent> events = t.events();
        assertEquals(10, events.size());
        assertEquals(0, t.waiting());
        for (int i = 0; i < 10; i++) {
            assertEquals(i, events.get(i).getSourceOffset());
            assertEquals(i / 3 + 1, events.get(i).getHighSteps(), "HIGH steps once per batch, record " + i);
            assertEquals(100L * i / 1000, events.get(i).getMidSteps(), "MID per second of stream time, record " + i);
        }
        t.processor.close();
    }

    /**
     * A batch whose learning fails for a reason of its own (not the broker's or the disk's) sends each of its
     * records to the dead-letter topic and leaves none waiting in the store unseen; the next records learn as
     * usual. A failure of the infrastructure escapes (the task fails, its transaction aborts) and the records
     * still wait in the store for the next life.
     */
    @Test
    void aFailedBatchGoesToTheDeadLetterTopicAndNothingStaysBehind() {
        Task t = new Task("failed");
        t.processor.batchFailure = () -> {
            throw new IllegalStateException("injected engine failure");
        };
        for (int i = 0; i < 4; i++) {
            t.process(i);   // k0 k1 k2, then k0 again: the batch of three is learned, and fails
        }
        List<DeadLetter> dead = new ArrayList<>();
        t.ctx.forwarded().forEach(f -> {
            if (f.record().value() instanceof DeadLetter d) {
                dead.add(d);
            }
        });
        assertEquals(3, dead.size(), "each record of the failed batch is dead-lettered");
        dead.forEach(d -> assertEquals("processing-error", d.reason()));
        assertEquals(0, t.events().size());
        assertEquals(1, t.waiting(), "only the record that came after the batch waits");
        t.processor.batchFailure = null;
        t.linger();
        assertEquals(1, t.events().size(), "the next batch learns");
        assertEquals(3, t.events().get(0).getSourceOffset());
        assertEquals(0, t.waiting());

        t.processor.batchFailure = () -> {
            throw new org.apache.kafka.common.KafkaException("injected broker failure");
        };
        t.process(4);
        t.process(5);
        assertThrows(org.apache.kafka.common.KafkaException.class, () -> t.process(7), "k1 again: the batch fails");
        assertEquals(2, t.waiting(), "an infrastructure failure leaves the batch in the store for the next life");
        t.processor.batchFailure = null;
        t.processor.close();
    }

    /**
     * The wall-clock linger bounds a waiting record's wait by about the linger, wherever it falls between two
     * checks: here a record comes 100 ms after the task started, and is learned within 1.25 lingers of that.
     * (Checked once per linger, as before, it waited until the second check, 1.9 lingers: the 30 s linger of
     * CrashRecoveryTest's batched runs held the input's last records for up to a minute.)
     */
    @Test
    void aBatchThatIsNotFullWaitsAboutTheLingerNotTwice() {
        Task t = new Task("linger");
        t.process(1);   // at wall time 100 ms
        t.wallClockTo(100 + LINGER - 1);
        assertEquals(0, t.events().size(), "not before the linger");
        assertEquals(1, t.waiting());
        t.wallClockTo(100 + LINGER * 5 / 4);
        assertEquals(1, t.events().size(), "learned within 1.25 lingers of its arrival");
        assertEquals(0, t.waiting());
        t.processor.close();
    }

    @Test
    void aRestartWithRecordsWaitingLearnsThemOnceAndEndsAsIfNeverStopped() {
        Task never = new Task("never");
        for (int i = 0; i < 14; i++) {
            never.process(i);
        }
        never.linger();
        StateSnapshot expected = LearnerSnapshots.of(never.processor.learner(), true);
        List<Double> bits = never.events().stream().map(LearningEvent::getBitsPerByte).toList();
        never.processor.close();

        Task restarted = new Task("restarted");
        for (int i = 0; i < 8; i++) {
            restarted.process(i);
        }
        assertEquals(2, restarted.waiting(), "k0 k1 of the third batch wait");
        restarted.commit();
        List<LearningEvent> first = restarted.events();
        restarted.processor.close();
        restarted.start();   // a new life on the committed stores: the waiting records come back from the store
        for (int i = 8; i < 14; i++) {
            restarted.process(i);
        }
        restarted.linger();
        List<LearningEvent> second = restarted.events().subList(first.size(), restarted.events().size());
        List<LearningEvent> all = new ArrayList<>(first);
        all.addAll(second);
        assertEquals(14, all.size(), "every record learned once");
        for (int i = 0; i < 14; i++) {
            assertEquals(i, all.get(i).getSourceOffset());
            assertEquals(bits.get(i), all.get(i).getBitsPerByte(), "record " + i);
        }
        assertEquals(expected, LearnerSnapshots.of(restarted.processor.learner(), true));
        assertEquals(0, restarted.waiting());
        assertTrue(expected.counters().get("steps.HIGH") < 14, "fewer HIGH steps than records: batches");
        restarted.processor.close();
    }
}

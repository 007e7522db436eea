package org.hopestreams.stream;

import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.streams.KafkaStreams;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.avro.TextEvent;
import org.hopestreams.model.HostTensor;
import org.hopestreams.store.ChunkedValues;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.hopestreams.stream.StreamTestSupport.header;
import static org.hopestreams.stream.StreamTestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 9, "no input stops the application", on a real broker and registry, through the real serde and
 * topology: every dead-letter reason of docs/streaming.md ("Bad input") among good events. Afterwards the
 * application is still RUNNING, has learned every good event once with the windows still closing, and the
 * dead-letter topic holds exactly one record per bad input with all {@code hope.dlq.*} headers (reason,
 * message, stage, topic, partition, offset: the offset the broker gave the bad input) and the input's own headers.
 *
 * <p>Each bad input carries a header {@code test.case} naming it and a header {@code trace} of its own; the dead
 * letters are matched to the inputs by it. Avro, text and JSON each need their own application (the input format
 * is per application); the learn-stage reasons ({@code non-finite}, {@code unreadable-state}) need a key whose
 * stored memory is bad, written here into the fast-memory changelog and restored by a restarted instance.
 */
class BadInputIntegrationTest {
    private static final String CASE = "test.case";
    private static final String TRACE = "trace";

    @org.junit.jupiter.api.extension.RegisterExtension
    static final StreamTestSupport.Servers SERVERS = new StreamTestSupport.Servers();

    @TempDir
    Path stateDir;

    /** A bad input: the header it is found by, what its dead letter must say, where the input was written. */
    private record Bad(String name, String reason, String stage, String topic, RecordMetadata written, byte[] key,
                       byte[] value) {
    }

    @Test
    void avroInputOfEveryBadKindIsDeadLetteredWithItsHeadersAndTheApplicationKeepsLearning() throws Exception {
        String bootstrap = SERVERS.kafka().bootstrapServers();
        String registry = SERVERS.registry().apiUrl();
        Map<String, Object> m = StreamTestSupport.appConfig(bootstrap, registry, "it-bad", stateDir);
        StreamTestSupport.topics(m, "bad");
        m.put(HopeStreamsConfig.TEXT_MAX_BYTES, "4096");
        HopeStreamsConfig config = new HopeStreamsConfig(m);
        StreamApp.createTopics(config, 1, (short) 1);
        String in = "bad.events";
        String repartition = "it-bad-by-key-repartition";

        try (StreamApp app = StreamApp.start(config)) {
            failOnBoom(app);
            List<TextEvent> good = goodEvents();
            StreamTestSupport.produce(bootstrap, registry, in, good.subList(0, 10));

            List<Bad> bad = new ArrayList<>();
            Function<TextEvent, byte[]> avro = e -> StreamTestSupport.avroBytes(registry, in, e);
            bad.add(send(in, "key-too-long", "ingest", "k".repeat(70_000),
                    avro.apply(StreamTestSupport.event("long-key", "k".repeat(70_000), "a key past 64 KiB", 1_004_000L))));
            bad.add(send(in, "id-too-long", "ingest", "doc-0",
                    avro.apply(StreamTestSupport.event("i".repeat(70_000), "doc-0", "an id past 64 KiB", 1_004_000L))));
            bad.add(send(in, "future-time", "ingest", "doc-1", avro.apply(StreamTestSupport.event("future", "doc-1",
                    "from the year 3000", Instant.parse("3000-01-01T00:00:00Z").toEpochMilli()))));
            bad.add(send(in, "wrong-schema", "ingest", "doc-2",
                    avro.apply(StreamTestSupport.event("past", "doc-2", "from before 1970", -1000L)), "before-1970"));
            Schema other = SchemaBuilder.record("Invoice").namespace("org.example").fields()
                    .requiredString("key").requiredLong("cents").endRecord();
            GenericRecord invoice = new GenericData.Record(other);
            invoice.put("key", "doc-0");
            invoice.put("cents", 1999L);
            bad.add(send(in, "wrong-schema", "ingest", "doc-0", StreamTestSupport.avroBytes(registry, in, invoice),
                    "another-schema"));
            LearningEvent output = LearningEvent.newBuilder().setKey("doc-1").setSourceTopic(in).setSourcePartition(0)
                    .setSourceOffset(0).setBytes(1).setBitsPerByte(8.0).setSurprise(List.of(1.0)).setHighSteps(1)
                    .setMidSteps(0).setLowSteps(0).setModelVersion(1).setEventTime(Instant.ofEpochMilli(1_004_000L))
                    .build();
            bad.add(send(in, "wrong-schema", "ingest", "doc-1", StreamTestSupport.avroBytes(registry, in, output),
                    "a-learning-event"));
            byte[] whole = avro.apply(StreamTestSupport.event("cut", "doc-1", "a record whose Avro body is cut short",
                    1_004_000L));
            bad.add(send(in, "undecodable", "ingest", "doc-1", Arrays.copyOf(whole, 5 + (whole.length - 5) / 2)));
            bad.add(send(in, "unknown-schema", "ingest", "doc-2", new byte[] {0, 0, 0, 0x7f, 0x7f, 1, 2, 3}));
            bad.add(send(in, "corrupt", "ingest", "doc-0", utf8("{\"text\":\"json where Avro is expected\"}"),
                    "not-wire-format"));
            byte[] huge = new byte[1_048_300];   // fits max.request.size (1 MiB) as input; with dead-letter headers it would not
            Arrays.fill(huge, (byte) 'x');
            bad.add(send(in, "corrupt", "ingest", "huge", huge, "huge"));
            bad.add(send(in, "empty", "ingest", "doc-1", new byte[0]));
            bad.add(send(in, "empty", "ingest", "doc-2", null, "null-value"));
            bad.add(send(in, "oversize", "ingest", "doc-0",
                    avro.apply(StreamTestSupport.event("big", "doc-0", "y".repeat(5000), 1_004_000L))));
            bad.add(send(in, "processing-error", "handler", "boom",
                    avro.apply(StreamTestSupport.event("boom", "boom", "fails in a processor", 1_004_000L))));
            byte[] laterFormat = new LearnRecord("v9", "doc-0", new byte[] {'x'}, 1_004_000L, 0, 1, in, 0, 0).encode();
            laterFormat[0] = 9;   // what a later version of the application might write during a rolling upgrade
            bad.add(send(repartition, "unknown-format", "handler", "doc-0", laterFormat));
            bad.add(send(repartition, "corrupt-internal", "handler", "doc-0", new byte[] {2, 0, 0, 0, 0x7f}));
            StreamTestSupport.produce(bootstrap, registry, in, good.subList(10, 20));

            List<ConsumerRecord<String, Object>> learned = StreamTestSupport.readAvro(bootstrap, registry, "bad.learning",
                    20, Duration.ofSeconds(120));
            assertEquals(good.stream().map(TextEvent::getId).toList(),
                    learned.stream().map(r -> ((LearningEvent) r.value()).getId()).toList(), "every good event, once");
            LearningEvent last = (LearningEvent) learned.get(19).value();
            assertEquals((1_000_000L + 400L * 19) / 1000 - 1_000, last.getMidSteps(), "windows keep closing");

            Map<String, ConsumerRecord<byte[], byte[]>> dead = deadLetters("bad.dlq", bad.size());
            for (Bad b : bad) {
                ConsumerRecord<byte[], byte[]> d = dead.get(b.name());
                assertHeaders(b, d);
                if (b.name().equals("huge")) {
                    assertEquals("true", header(d, DeadLetter.TRUNCATED));
                    assertEquals(Integer.toString(huge.length), header(d, DeadLetter.VALUE_SIZE));
                    assertTrue(d.value().length < huge.length && d.value().length > 1_000_000, "cut to fit, not dropped");
                } else if (b.stage().equals("ingest")) {
                    assertNull(header(d, DeadLetter.TRUNCATED), b.name());
                    assertArrayEquals(b.value(), d.value(), b.name() + ": the original value");
                    assertArrayEquals(b.key(), d.key(), b.name() + ": the original key");
                }
            }
            // The processing error happened after the repartition hop: its dead letter names that record.
            ConsumerRecord<byte[], byte[]> boom = dead.get("processing-error");
            assertTrue(header(boom, DeadLetter.MESSAGE).contains("a listener failed on boom"),
                    header(boom, DeadLetter.MESSAGE));
            assertTrue(header(dead.get("unknown-schema"), DeadLetter.MESSAGE).contains(
                    Integer.toString(StreamTestSupport.schemaId(new byte[] {0, 0, 0, 0x7f, 0x7f}))),
                    "names the schema id");
            assertTrue(header(dead.get("another-schema"), DeadLetter.MESSAGE).contains("org.example.Invoice"),
                    "names the schema it got");
            assertTrue(header(dead.get("a-learning-event"), DeadLetter.MESSAGE).contains(
                    LearningEvent.SCHEMA$.getFullName()), "names the schema it got");

            assertEquals(KafkaStreams.State.RUNNING, app.streams().state());
            assertNull(app.failure());
        }
    }

    @Test
    void textAndJsonInputsAreDeadLetteredWithTheirReasonsAndHeaders() throws Exception {
        String bootstrap = SERVERS.kafka().bootstrapServers();
        String registry = SERVERS.registry().apiUrl();
        HopeStreamsConfig text = formatConfig("text");
        HopeStreamsConfig json = formatConfig("json");
        try (StreamApp textApp = StreamApp.start(text); StreamApp jsonApp = StreamApp.start(json)) {
            assertTrue(textApp.awaitRunning(Duration.ofSeconds(60)) && jsonApp.awaitRunning(Duration.ofSeconds(60)));
            String tin = text.inputTopic();
            String jin = json.inputTopic();
            List<Bad> textBad = new ArrayList<>();
            List<Bad> jsonBad = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                StreamTestSupport.send(bootstrap, tin, null, utf8("t-" + i % 2), utf8("good text line " + i + "."));
                StreamTestSupport.send(bootstrap, jin, null, utf8("j"), utf8("{\"text\":\"good json line " + i
                        + ".\",\"key\":\"j-" + i % 2 + "\",\"eventTime\":" + (1_000_000L + 400L * i) + "}"));
            }
            textBad.add(send(tin, "invalid-utf8", "ingest", "t-0", new byte[] {'o', 'k', (byte) 0xff, (byte) 0xfe}));
            textBad.add(send(tin, "empty", "ingest", "t-1", new byte[0]));
            textBad.add(send(tin, "oversize", "ingest", "t-0", utf8("z".repeat(5000))));
            textBad.add(send(tin, "key-too-long", "ingest", "q".repeat(5000), utf8("a Kafka key past the cap")));
            jsonBad.add(send(jin, "invalid-json", "ingest", "j", utf8("{\"text\": \"unterminated")));
            jsonBad.add(send(jin, "wrong-schema", "ingest", "j", utf8("[\"an\", \"array\"]"), "not-an-object"));
            jsonBad.add(send(jin, "wrong-schema", "ingest", "j", utf8("{\"key\":\"j-0\"}"), "no-text"));
            jsonBad.add(send(jin, "wrong-schema", "ingest", "j", utf8("{\"text\":\"old\",\"eventTime\":-1000}"),
                    "before-1970"));
            jsonBad.add(send(jin, "id-too-long", "ingest", "j",
                    utf8("{\"text\":\"x\",\"id\":\"" + "i".repeat(5000) + "\"}")));
            jsonBad.add(send(jin, "empty", "ingest", "j", utf8("{\"text\":\"\"}"), "empty-text"));
            for (int i = 3; i < 6; i++) {
                StreamTestSupport.send(bootstrap, tin, null, utf8("t-" + i % 2), utf8("good text line " + i + "."));
                StreamTestSupport.send(bootstrap, jin, null, utf8("j"), utf8("{\"text\":\"good json line " + i
                        + ".\",\"key\":\"j-" + i % 2 + "\",\"eventTime\":" + (1_000_000L + 400L * i) + "}"));
            }

            for (HopeStreamsConfig c : List.of(text, json)) {
                List<ConsumerRecord<String, Object>> learned = StreamTestSupport.readAvro(bootstrap, registry,
                        c.learningTopic(), 6, Duration.ofSeconds(120));
                assertEquals(List.of(0L, 1L, 2L, 3L + (c == text ? textBad : jsonBad).size(),
                                4L + (c == text ? textBad : jsonBad).size(), 5L + (c == text ? textBad : jsonBad).size()),
                        learned.stream().map(r -> ((LearningEvent) r.value()).getSourceOffset()).toList(),
                        c.inputFormat() + ": every good record, once");
            }
            for (var e : Map.of(text, textBad, json, jsonBad).entrySet()) {
                Map<String, ConsumerRecord<byte[], byte[]>> dead = deadLetters(e.getKey().dlqTopic(), e.getValue().size());
                for (Bad b : e.getValue()) {
                    ConsumerRecord<byte[], byte[]> d = dead.get(b.name());
                    assertHeaders(b, d);
                    assertArrayEquals(b.value(), d.value(), b.name() + ": the original value");
                    assertArrayEquals(b.key(), d.key(), b.name() + ": the original key");
                }
            }
            for (StreamApp app : List.of(textApp, jsonApp)) {
                assertEquals(KafkaStreams.State.RUNNING, app.streams().state());
                assertNull(app.failure());
            }
        }
    }

    /**
     * The learn-stage reasons on a real broker: a key whose stored memory holds a NaN ({@code non-finite}) and a key
     * whose stored memory does not decode ({@code unreadable-state}), written into the fast-memory changelog and
     * restored by a new instance; their records are dead letters naming the input record, other keys keep learning.
     */
    @Test
    void recordsOfKeysWithBadStoredMemoriesAreDeadLetteredAtTheLearnStage() throws Exception {
        String bootstrap = SERVERS.kafka().bootstrapServers();
        String registry = SERVERS.registry().apiUrl();
        Map<String, Object> m = StreamTestSupport.appConfig(bootstrap, registry, "it-bad-store", stateDir.resolve("a"));
        StreamTestSupport.topics(m, "badstore");
        HopeStreamsConfig first = new HopeStreamsConfig(m);
        StreamApp.createTopics(first, 1, (short) 1);
        String in = first.inputTopic();
        try (StreamApp app = StreamApp.start(first)) {
            assertTrue(app.awaitRunning(Duration.ofSeconds(60)));
            StreamTestSupport.produce(bootstrap, registry, in, List.of(
                    StreamTestSupport.event("a0", "doc-0", "first words of doc-0.", 1_000_000L),
                    StreamTestSupport.event("a1", "doc-1", "first words of doc-1.", 1_000_400L)));
            assertEquals(2, StreamTestSupport.readAvro(bootstrap, registry, "badstore.learning", 2,
                    Duration.ofSeconds(120)).size());
        }
        // doc-0's committed memory with one NaN, stored as key nan-key; a first chunk that is no state as bad-key.
        String changelog = "it-bad-store-" + HopeProcessor.FAST_MEMORY + "-changelog";
        StateSnapshot doc0 = StoreChangelogs.state(bootstrap, changelog).get("doc-0");
        assertNotNull(doc0, "doc-0's memory is in the changelog");
        StateSnapshot.Builder poisoned = StateSnapshot.builder();
        doc0.counters().forEach(poisoned::counter);
        doc0.meta().forEach(poisoned::meta);
        doc0.tensors().forEach((name, t) -> {
            if (name.equals("blocks.0.dM")) {
                double[] v = t.toDoubles();
                v[0] = Double.NaN;
                t = HostTensor.ofDoubles(t.type(), t.shape(), v);
            }
            poisoned.tensor(name, t);
        });
        List<byte[]> chunks = new StateCodec().encode(poisoned.build());
        for (int i = 0; i < chunks.size(); i++) {
            StreamTestSupport.send(bootstrap, changelog, 0, ChunkedValues.chunkKey(utf8("nan-key"), i).get(), chunks.get(i));
        }
        StreamTestSupport.send(bootstrap, changelog, 0, ChunkedValues.chunkKey(utf8("bad-key"), 0).get(),
                utf8("not a state at all"));

        m.put(org.apache.kafka.streams.StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve("b").toString());
        try (StreamApp app = StreamApp.start(new HopeStreamsConfig(m))) {   // restores every store from its changelog
            assertTrue(app.awaitRunning(Duration.ofSeconds(60)));
            List<Bad> bad = List.of(
                    learnStage(in, "non-finite", StreamTestSupport.event("n", "nan-key",
                            "this record meets a memory holding a NaN", 1_000_800L)),
                    learnStage(in, "unreadable-state", StreamTestSupport.event("u", "bad-key",
                            "this record meets a memory that does not decode", 1_001_200L)));
            StreamTestSupport.produce(bootstrap, registry, in, List.of(
                    StreamTestSupport.event("a2", "doc-0", "more words of doc-0.", 1_001_600L)));
            List<ConsumerRecord<String, Object>> learned = StreamTestSupport.readAvro(bootstrap, registry,
                    "badstore.learning", 3, Duration.ofSeconds(120));
            assertEquals(List.of("a0", "a1", "a2"), learned.stream().map(r -> ((LearningEvent) r.value()).getId())
                    .toList(), "the other keys keep learning");
            Map<String, ConsumerRecord<byte[], byte[]>> dead = deadLetters("badstore.dlq", 2);
            for (Bad b : bad) {
                ConsumerRecord<byte[], byte[]> d = dead.get(b.name());
                assertHeaders(b, d);
                assertArrayEquals(b.value(), d.value(), b.name() + ": a learn-stage dead letter carries the text");
                assertArrayEquals(b.key(), d.key(), b.name() + ": and the context key");
            }
            assertTrue(header(dead.get("unreadable-state"), DeadLetter.MESSAGE).contains("bad-key"), "names the key");
            assertTrue(header(dead.get("non-finite"), DeadLetter.MESSAGE).contains("non-finite"),
                    header(dead.get("non-finite"), DeadLetter.MESSAGE));
            assertEquals(KafkaStreams.State.RUNNING, app.streams().state());
            assertNull(app.failure());
        }
    }

    private HopeStreamsConfig formatConfig(String format) throws Exception {
        Map<String, Object> m = StreamTestSupport.appConfig(SERVERS.kafka().bootstrapServers(),
                SERVERS.registry().apiUrl(), "it-bad-" + format, stateDir.resolve(format));
        StreamTestSupport.topics(m, "bad" + format);
        m.put(HopeStreamsConfig.INPUT_FORMAT, format);
        m.put(HopeStreamsConfig.TEXT_MAX_BYTES, "4096");
        HopeStreamsConfig c = new HopeStreamsConfig(m);
        StreamApp.createTopics(c, 1, (short) 1);
        return c;
    }

    private static Bad send(String topic, String reason, String stage, String key, byte[] value) throws Exception {
        return send(topic, reason, stage, key, value, reason);
    }

    private static Bad send(String topic, String reason, String stage, String key, byte[] value, String name)
            throws Exception {
        byte[] k = key == null ? null : utf8(key);
        RecordMetadata md = StreamTestSupport.send(SERVERS.kafka().bootstrapServers(), topic, null, k, value,
                CASE, name, TRACE, "trace-of-" + name);
        return new Bad(name, reason, stage, topic, md, k, value);
    }

    /** An event whose record the learner dead-letters: the dead letter carries its context key and its text. */
    private static Bad learnStage(String topic, String reason, TextEvent e) throws Exception {
        RecordMetadata md = StreamTestSupport.send(SERVERS.kafka().bootstrapServers(), topic, null, utf8(e.getKey()),
                StreamTestSupport.avroBytes(SERVERS.registry().apiUrl(), topic, e), CASE, reason, TRACE,
                "trace-of-" + reason);
        return new Bad(reason, reason, "learn", topic, md, utf8(e.getKey()), utf8(e.getText()));
    }

    /** Exactly {@code n} dead letters, by their {@code test.case} header. */
    private static Map<String, ConsumerRecord<byte[], byte[]>> deadLetters(String topic, int n) {
        List<ConsumerRecord<byte[], byte[]>> read = StreamTestSupport.readBytes(SERVERS.kafka().bootstrapServers(), topic,
                n, Duration.ofSeconds(60));
        // Everything committed now: nothing beyond the n expected (a duplicate or a stray dead letter fails here).
        List<ConsumerRecord<byte[], byte[]>> all = StreamTestSupport.readAllCommitted(SERVERS.kafka().bootstrapServers(),
                topic, Duration.ofSeconds(30));
        assertTrue(read.size() >= n, topic + ": " + read.size() + " dead letters, expected " + n);
        Map<String, ConsumerRecord<byte[], byte[]>> out = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : all) {
            String name = header(r, CASE);
            assertNotNull(name, topic + ": a dead letter without the input's test.case header: reason "
                    + header(r, DeadLetter.REASON) + ", " + header(r, DeadLetter.MESSAGE));
            assertNull(out.put(name, r), topic + ": two dead letters for " + name);
        }
        assertEquals(n, all.size(), topic + ": one dead letter per bad input: " + out.keySet() + " reasons "
                + all.stream().map(r -> header(r, DeadLetter.REASON)).collect(Collectors.toList()));
        return out;
    }

    private static void assertHeaders(Bad b, ConsumerRecord<byte[], byte[]> d) {
        assertNotNull(d, "no dead letter for " + b.name());
        Map<String, String> h = new LinkedHashMap<>();
        for (String name : List.of(DeadLetter.REASON, DeadLetter.STAGE, DeadLetter.TOPIC, DeadLetter.PARTITION,
                DeadLetter.OFFSET)) {
            h.put(name, header(d, name));
        }
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put(DeadLetter.REASON, b.reason());
        expected.put(DeadLetter.STAGE, b.stage());
        // A processing error in the learner happened after the repartition hop: its dead letter names the
        // repartition record it was (checked below); every other one names the record written to its topic.
        boolean afterHop = b.reason().equals("processing-error");
        expected.put(DeadLetter.TOPIC, afterHop ? h.get(DeadLetter.TOPIC) : b.topic());
        expected.put(DeadLetter.PARTITION, Integer.toString(b.written().partition()));
        expected.put(DeadLetter.OFFSET, afterHop ? h.get(DeadLetter.OFFSET) : Long.toString(b.written().offset()));
        assertEquals(expected, h, b.name() + ": " + header(d, DeadLetter.MESSAGE));
        if (afterHop) {
            assertTrue(h.get(DeadLetter.TOPIC).endsWith("-by-key-repartition"), "the repartition record: " + h);
            assertTrue(Long.parseLong(h.get(DeadLetter.OFFSET)) >= 0, h.toString());
        }
        String message = header(d, DeadLetter.MESSAGE);
        assertTrue(message != null && message.length() > 10, b.name() + ": message " + message);
        assertEquals(b.name(), header(d, CASE), "the input's headers are kept");
        assertEquals("trace-of-" + b.name(), header(d, TRACE), "the input's headers are kept");
        for (String name : List.of(DeadLetter.REASON, DeadLetter.MESSAGE, DeadLetter.STAGE, DeadLetter.TOPIC,
                DeadLetter.PARTITION, DeadLetter.OFFSET)) {
            int count = 0;
            for (var x : d.headers().headers(name)) {
                count++;
            }
            assertEquals(1, count, b.name() + ": one " + name + " header");
        }
    }

    /** Once {@code app} runs: a listener that fails on key "boom" (a processing error in the learner). */
    static void failOnBoom(StreamApp app) throws InterruptedException {
        app.hub().addListener(new LearnerHub.Listener() {
            @Override
            public void learned(int partition, String key, org.hopestreams.learn.LearnOutcome o, long nanos) {
                if (key.equals("boom")) {
                    throw new IllegalStateException("a listener failed on " + key);
                }
            }
        });
        assertTrue(app.awaitRunning(Duration.ofSeconds(60)), "running");
    }

    /** 20 good events over 3 keys, 400 ms of event time apart. */
    static List<TextEvent> goodEvents() {
        List<TextEvent> good = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            good.add(StreamTestSupport.event("g" + i, "doc-" + (i % 3), "line " + i + " of a good stream.",
                    1_000_000L + 400L * i));
        }
        return good;
    }
}

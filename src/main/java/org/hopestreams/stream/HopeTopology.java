package org.hopestreams.stream;

import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.Stores;
import org.hopestreams.avro.CheckpointEvent;
import org.hopestreams.avro.ConsolidationEvent;
import org.hopestreams.avro.LearningEvent;
import org.hopestreams.store.ModelStoreBuilder;

import java.util.Map;
import java.util.function.Function;

/**
 * The one topology factory (used by the commands, the tests and the benchmarks):
 * <pre>
 *   input ─ ingest ─┬─ dead letters ───────────────────────────────────────────────▶ dlq
 *                   └─ records ─(repartition by context key)─┬─ hope ─┬─ LearningEvent ─▶ learning
 *                               global versions (if enabled) ┘        ├─ CheckpointEvent ▶ checkpoints
 *                                                                     ├─ dead letters ──▶ dlq
 *                                                                     └─ deltas ─▶ consolidation ─ consolidator ─▶ global
 * </pre>
 * with the {@code fast-memory}, {@code model}, {@code checkpoints} and {@code pending-batch} stores on the hope
 * processor; the consolidation branch, the global source and the consolidator (its {@code consolidation-round}
 * store) exist only with {@code hope.shards.enabled} (docs/streaming.md, "One model across shards").
 */
public final class HopeTopology {
    private HopeTopology() {
    }

    /** The topology for {@code config}, with the Avro serde named by {@link HopeStreamsConfig#SERDE_CLASS}. */
    public static Topology build(HopeStreamsConfig config) {
        return build(config, avroSerde(config), new LearnerHub());
    }

    public static Topology build(HopeStreamsConfig config, Serde<Object> avro) {
        return build(config, avro, new LearnerHub());
    }

    /** @param hub where the learners publish their committed models and events (queries, metrics) */
    public static Topology build(HopeStreamsConfig config, Serde<Object> avro, LearnerHub hub) {
        return build(config, avro, hub, decoder(config, avro));
    }

    /**
     * @param decoder decodes an input value for ingest ({@link #decoder}, or {@link RegistryGate#decode}
     *                around it: the application's, with a deadline on registry calls)
     */
    public static Topology build(HopeStreamsConfig config, Serde<Object> avro, LearnerHub hub,
                                 Function<byte[], Object> decoder) {
        return build(config, avro, hub, decoder, 0);
    }

    /**
     * @param learners the learner tasks (the input topic's partitions): with {@code hope.shards.enabled}, the
     *                 consolidator closes a round when this many have reported; ignored otherwise
     */
    public static Topology build(HopeStreamsConfig config, Serde<Object> avro, LearnerHub hub,
                                 Function<byte[], Object> decoder, int learners) {
        if (config.consolidationEnabled() && learners < 1) {
            throw new IllegalArgumentException(HopeStreamsConfig.SHARDS_ENABLED + "=true needs the number of learner "
                    + "tasks (the input topic's partitions), got " + learners);
        }
        Ingest ingest = new Ingest(config.inputFormat(), config.getInt(HopeStreamsConfig.RECORD_MAX_BYTES),
                config.getInt(HopeStreamsConfig.TEXT_MAX_BYTES), config.getInt(HopeStreamsConfig.KEY_MAX_BYTES),
                config.getString(HopeStreamsConfig.DEFAULT_KEY), decoder);
        StreamsBuilder b = new StreamsBuilder();
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(HopeProcessor.FAST_MEMORY),
                Serdes.Bytes(), Serdes.ByteArray()).withCachingEnabled());
        b.addStateStore(new ModelStoreBuilder(HopeProcessor.MODEL));
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(HopeProcessor.CHECKPOINTS),
                Serdes.Bytes(), Serdes.ByteArray()).withCachingDisabled());
        // Records waiting for their batch (hope.batch.records > 1): committed with their offsets, deleted when
        // learned. Always there, so that a life with hope.batch.records = 1 learns what a batched life left.
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(HopeProcessor.PENDING),
                Serdes.Bytes(), Serdes.ByteArray()).withCachingEnabled());

        KStream<String, Object> ingested = b.stream(config.inputTopic(),
                        Consumed.with(Serdes.Bytes(), Serdes.ByteArray()).withName("input"))
                .process(() -> new IngestProcessor(ingest, config.getLong(HopeStreamsConfig.EVENT_TIME_MAX_AHEAD_MS)),
                        Named.as("ingest"));
        Map<String, KStream<String, Object>> routes = ingested.split(Named.as("ingest-"))
                .branch((k, v) -> v instanceof DeadLetter, Branched.as("dlq"))
                .defaultBranch(Branched.as("records"));
        toDeadLetters(routes.get("ingest-dlq").peek((k, v) -> hub.deadLetter("ingest", ((DeadLetter) v).reason()),
                Named.as("ingest-dlq-count")), config, "ingest-dlq-out");

        KStream<String, LearnRecord> records = routes.get("ingest-records")
                .mapValues(v -> (LearnRecord) v, Named.as("as-learn-record"));
        if (config.getBoolean(HopeStreamsConfig.REPARTITION)) {
            records = records.repartition(Repartitioned.with(Serdes.String(), LearnRecord.SERDE).withName("by-key"));
        }
        String[] stores = {HopeProcessor.FAST_MEMORY, HopeProcessor.MODEL, HopeProcessor.CHECKPOINTS,
                HopeProcessor.PENDING};
        KStream<String, Object> out;
        if (config.consolidationEnabled()) {
            // The global versions are a second source of the learner's sub-topology: task p reads partition p of the
            // global topic with partition p of its records, so an adoption is ordered with the task's own records
            // and commits with them.
            KStream<String, Object> globals = b.stream(config.getString(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC),
                            Consumed.with(Serdes.String(), ConsolidationEvents.SERDE).withName("global-in"))
                    .mapValues(v -> (Object) v, Named.as("global-as-input"));
            out = records.mapValues(v -> (Object) v, Named.as("records-as-input"))
                    .merge(globals, Named.as("learner-input"))
                    .process(() -> new LearnerInput(new HopeProcessor(config, hub)), Named.as("hope"), stores);
        } else {
            out = records.process(() -> new HopeProcessor(config, hub), Named.as("hope"), stores);
        }
        var branches = out.split(Named.as("hope-"))
                .branch((k, v) -> v instanceof LearningEvent, Branched.as("learning"))
                .branch((k, v) -> v instanceof CheckpointEvent, Branched.as("checkpoints"));
        if (config.consolidationEnabled()) {
            branches = branches.branch((k, v) -> v instanceof ConsolidationEvent, Branched.as("deltas"));
        }
        Map<String, KStream<String, Object>> outputs = branches.defaultBranch(Branched.as("dlq"));
        outputs.get("hope-learning").to(config.learningTopic(), Produced.with(Serdes.String(), avro)
                .withName("learning-out"));
        outputs.get("hope-checkpoints").to(config.checkpointsTopic(), Produced.with(Serdes.String(), avro)
                .withName("checkpoints-out"));
        toDeadLetters(outputs.get("hope-dlq"), config, "learn-dlq-out");
        if (config.consolidationEnabled()) {
            consolidator(b, config, hub, learners, outputs.get("hope-deltas"));
        }
        return b.build();
    }

    /**
     * One model across shards: the learners' deltas go to the single-partition consolidation topic; its one task,
     * the consolidator, merges each round and writes the global version into every partition of the global topic.
     */
    private static void consolidator(StreamsBuilder b, HopeStreamsConfig config, LearnerHub hub, int learners,
                                     KStream<String, Object> deltas) {
        String topic = config.getString(HopeStreamsConfig.SHARDS_TOPIC);
        deltas.mapValues(v -> (ConsolidationEvent) v, Named.as("as-delta"))
                .to(topic, Produced.with(Serdes.String(), ConsolidationEvents.SERDE).withName("deltas-out"));
        b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(Consolidator.STORE),
                Serdes.Bytes(), Serdes.ByteArray()).withCachingDisabled());
        long timeout = config.getLong(HopeStreamsConfig.SHARDS_ROUND_TIMEOUT_MS);
        MergeRule rule = MergeRule.parse(config.getString(HopeStreamsConfig.SHARDS_MERGE));
        String levels = config.getString(HopeStreamsConfig.SHARDS_LEVELS);
        int chunkBytes = ConsolidationEvents.chunkBytes(config.maxRequestBytes());
        b.stream(topic, Consumed.with(Serdes.String(), ConsolidationEvents.SERDE).withName("deltas-in"))
                .process(() -> new Consolidator(learners, timeout, rule, levels, chunkBytes, hub),
                        Named.as("consolidator"), Consolidator.STORE)
                .to(config.getString(HopeStreamsConfig.SHARDS_GLOBAL_TOPIC), Produced.with(Serdes.String(),
                        ConsolidationEvents.SERDE).withStreamPartitioner(HopeTopology::everyPartition).withName("global-out"));
    }

    /** The broadcast partitioner of the global topic: every record into every partition (Kafka Streams ≥ 3.4). */
    static java.util.Optional<java.util.Set<Integer>> everyPartition(String topic, String key, ConsolidationEvent value,
                                                                    int partitions) {
        java.util.Set<Integer> all = new java.util.TreeSet<>();
        for (int p = 0; p < partitions; p++) {
            all.add(p);
        }
        return java.util.Optional.of(all);
    }

    /** The learner's input with consolidation on: records to learn, and chunks of global versions to adopt. */
    private static final class LearnerInput implements Processor<String, Object, String, Object> {
        private final HopeProcessor hope;

        LearnerInput(HopeProcessor hope) {
            this.hope = hope;
        }

        @Override
        public void init(ProcessorContext<String, Object> context) {
            hope.init(context);
        }

        @Override
        public void process(Record<String, Object> record) {
            if (record.value() instanceof ConsolidationEvent e) {
                hope.adopt(record.withValue(e));
            } else {
                hope.process(record.withValue((LearnRecord) record.value()));
            }
        }

        @Override
        public void close() {
            hope.close();
        }
    }

    private static void toDeadLetters(KStream<String, Object> s, HopeStreamsConfig config, String name) {
        int max = config.maxRequestBytes();
        s.process(() -> new ContextualProcessor<String, Object, byte[], byte[]>() {
            @Override
            public void process(Record<String, Object> r) {
                DeadLetter d = ((DeadLetter) r.value()).fit(r.headers(), max);
                context().forward(r.withKey(d.key()).withValue(d.value()));
            }
        }, Named.as(name + "-fit")).to(config.dlqTopic(), Produced.with(Serdes.ByteArray(), Serdes.ByteArray())
                .withName(name));
    }

    /** Decodes an input value with {@code avro}'s deserializer; registry errors name the registry's answer. */
    public static Function<byte[], Object> decoder(HopeStreamsConfig config, Serde<Object> avro) {
        return bytes -> decode(avro, config.inputTopic(), bytes);
    }

    private static Object decode(Serde<Object> avro, String topic, byte[] bytes) {
        try {
            return avro.deserializer().deserialize(topic, bytes);
        } catch (RuntimeException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                // Apicurio's client reports registry errors as ProblemDetails whose message is only its class name.
                if (t instanceof io.apicurio.registry.rest.client.models.ProblemDetails p) {
                    throw new IllegalStateException("the registry answered " + p.getStatus()
                            + (Integer.valueOf(404).equals(p.getStatus()) ? " (not found)" : "") + ": " + p.getTitle()
                            + (p.getDetail() == null ? "" : " - " + p.getDetail()), e);
                }
            }
            throw e;
        }
    }

    /** The configured Avro serde, configured for values with {@link HopeStreamsConfig#serdeConfig()}. */
    @SuppressWarnings("unchecked")
    public static Serde<Object> avroSerde(HopeStreamsConfig config) {
        String name = config.serdeClass();
        Serde<Object> serde;
        try {
            serde = (Serde<Object>) Class.forName(name).getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalArgumentException(HopeStreamsConfig.SERDE_CLASS + " = " + name
                    + " is not a Kafka Serde class with a public no-argument constructor on the class path: " + e, e);
        }
        serde.configure(config.serdeConfig(), false);
        return serde;
    }
}

package org.hopestreams.stream;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;
import org.hopestreams.learn.LearnerConfig;
import org.hopestreams.model.HopeConfig;
import org.hopestreams.registry.ConfluentAvroSerde;
import org.hopestreams.registry.RegistryClientConfig;
import org.hopestreams.store.BoundedRocksDbConfig;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The application's configuration: the {@code hope.*} keys below (each with type, default, range and
 * doc: Kafka's {@link ConfigDef}), and every other key passed through to Kafka Streams, its clients
 * and the Avro serde. {@link #streamsProperties()} adds the defaults this application needs
 * (exactly-once v2, a bounded RocksDB, a state cache big enough for the fast memories).
 */
public final class HopeStreamsConfig extends AbstractConfig {
    public static final String INPUT_TOPIC = "hope.input.topic";
    public static final String LEARNING_TOPIC = "hope.learning.topic";
    public static final String CHECKPOINTS_TOPIC = "hope.checkpoints.topic";
    public static final String DLQ_TOPIC = "hope.dlq.topic";
    public static final String INPUT_FORMAT = "hope.input.format";
    public static final String SERDE_CLASS = "hope.serde.class";
    public static final String REGISTRY_URL = "hope.registry.url";
    public static final String REGISTRY_API = "hope.registry.api";
    public static final String REGISTRY_BASIC_AUTH_USER_INFO = RegistryClientConfig.BASIC_AUTH_USER_INFO;
    public static final String REGISTRY_TRUSTSTORE_LOCATION = RegistryClientConfig.TRUSTSTORE_LOCATION;
    public static final String REGISTRY_TRUSTSTORE_PASSWORD = RegistryClientConfig.TRUSTSTORE_PASSWORD;
    public static final String REGISTRY_TRUSTSTORE_TYPE = RegistryClientConfig.TRUSTSTORE_TYPE;
    public static final String REGISTRY_AUTO_REGISTER = RegistryClientConfig.AUTO_REGISTER;
    public static final String REGISTRY_RETRIES = RegistryClientConfig.RETRIES;
    public static final String REGISTRY_COMPATIBILITY_INPUT = "hope.registry.compatibility.input";
    public static final String REGISTRY_COMPATIBILITY_OUTPUT = "hope.registry.compatibility.output";
    public static final String REGISTRY_CALL_TIMEOUT_MS = "hope.registry.call.timeout.ms";
    public static final String REGISTRY_RETRY_BACKOFF_MAX_MS = "hope.registry.retry.backoff.max.ms";
    public static final String REPARTITION = "hope.repartition";
    public static final String DEFAULT_KEY = "hope.default.key";
    public static final String RECORD_MAX_BYTES = "hope.record.max.bytes";
    public static final String TEXT_MAX_BYTES = "hope.text.max.bytes";
    public static final String KEY_MAX_BYTES = "hope.key.max.bytes";
    public static final String EVENT_TIME_MAX_AHEAD_MS = "hope.event.time.max.ahead.ms";
    public static final String MODEL_PRESET = "hope.model.preset";
    public static final String MODEL_INIT = "hope.model.init";
    public static final String MODEL_SEED = "hope.model.seed";
    public static final String MODEL_KAN = "hope.model.kan";
    public static final String MODEL_KAN_GRID = "hope.model.kan.grid";
    public static final String TICKS_MAX = "hope.ticks.max";
    public static final String TICKS_THRESHOLD = "hope.ticks.threshold";
    public static final String TICKS_MIN_GAIN = "hope.ticks.min-gain";
    public static final String DEVICE = "hope.device";
    public static final String LR_HIGH = "hope.learn.lr.high";
    public static final String LR_MID = "hope.learn.lr.mid";
    public static final String LR_LOW = "hope.learn.lr.low";
    public static final String WARMUP_RECORDS = "hope.learn.warmup.records";
    public static final String CONTEXT_MODE = "hope.context.mode";
    public static final String CONTEXT_ORDERS = "hope.context.orders";
    public static final String CONTEXT_KEY_CONTEXTS = "hope.context.key.contexts";
    public static final String CONTEXT_GLOBAL_CONTEXTS = "hope.context.global.contexts";
    public static final String CONTEXT_MIXER_RATE = "hope.context.mixer.rate";
    public static final String CONTEXT_MIXER_SELECT = "hope.context.mixer.select";
    public static final String CONTEXT_OVERFLOW = "hope.context.overflow";
    public static final String CONTEXT_MIXER_TRAIN = "hope.context.mixer.train";
    public static final String CONSOLIDATION = "hope.consolidation";
    public static final String ANCHOR_ABSORB = "hope.consolidation.anchor.absorb";
    public static final String ANCHOR_PULL = "hope.consolidation.anchor.pull";
    public static final String SHARDS_ENABLED = "hope.shards.enabled";
    public static final String SHARDS_LEVELS = "hope.shards.levels";
    public static final String SHARDS_ROUND_TIMEOUT_MS = "hope.shards.round.timeout.ms";
    public static final String SHARDS_MERGE = "hope.shards.merge";
    public static final String SHARDS_TOPIC = "hope.shards.topic";
    public static final String SHARDS_GLOBAL_TOPIC = "hope.shards.global.topic";
    public static final String WINDOW_MS = "hope.window.ms";
    public static final String WINDOW_RECORDS = "hope.window.records";
    public static final String CHECKPOINT_CLOCK = "hope.checkpoint.clock";
    public static final String CHECKPOINT_INTERVAL_MS = "hope.checkpoint.interval.ms";
    public static final String CHECKPOINTS_KEEP = "hope.checkpoints.keep";
    public static final String KEYS_TTL_MS = "hope.keys.ttl.ms";
    public static final String BATCH_RECORDS = "hope.batch.records";
    public static final String BATCH_LINGER_MS = "hope.batch.linger.ms";
    public static final String FAST_STATE_RESET_UNREADABLE = "hope.fast.state.reset.unreadable";
    public static final String CORRUPTION_REBALANCE = "hope.corruption.rebalance";
    public static final String ROCKSDB_MEMORY = BoundedRocksDbConfig.MEMORY_CONFIG;
    public static final String HTTP_PORT = "hope.http.port";
    public static final String HTTP_HOST = "hope.http.host";
    /** Environment variables with this prefix set hope.* keys: HOPE_INPUT_TOPIC sets hope.input.topic. */
    public static final String ENV_PREFIX = "HOPE_";
    /** Environment variables with this prefix set other keys: STREAMS_BOOTSTRAP_SERVERS sets bootstrap.servers. */
    public static final String STREAMS_ENV_PREFIX = "STREAMS_";
    /** HOPE_SET_anything=key=value sets a key as written (upper case, underscores). */
    public static final String ENV_SET_PREFIX = "HOPE_SET_";

    public static final String APICURIO_SERDE = "io.apicurio.registry.serde.avro.AvroSerde";
    public static final String CONFLUENT_SERDE = ConfluentAvroSerde.class.getName();
    private static final List<String> LEVELS = List.of("", "NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD",
            "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE");

    public static final ConfigDef DEF = new ConfigDef()
            .define(INPUT_TOPIC, Type.STRING, "hope.events", new ConfigDef.NonEmptyString(), Importance.HIGH,
                    "Topic of input events (TextEvent Avro, plain text or JSON; see " + INPUT_FORMAT + ").")
            .define(LEARNING_TOPIC, Type.STRING, "hope.learning", new ConfigDef.NonEmptyString(), Importance.HIGH,
                    "Topic of the LearningEvent written for every learned record.")
            .define(CHECKPOINTS_TOPIC, Type.STRING, "hope.checkpoints", new ConfigDef.NonEmptyString(),
                    Importance.MEDIUM, "Topic of the CheckpointEvent written for every LOW consolidation.")
            .define(DLQ_TOPIC, Type.STRING, "hope.events.dlq", new ConfigDef.NonEmptyString(), Importance.HIGH,
                    "Dead-letter topic: rejected input, original bytes, reason in headers (hope.dlq.*).")
            .define(INPUT_FORMAT, Type.STRING, "avro", ValidString.in("avro", "text", "json"), Importance.HIGH,
                    "Input value format: avro (TextEvent through the serde), text (UTF-8, the Kafka key is the "
                            + "context key) or json ({\"text\":..., \"key\":..., \"eventTime\":..., \"id\":...}).")
            .define(REGISTRY_API, Type.STRING, "confluent", ValidString.in("confluent", "apicurio"), Importance.HIGH,
                    "Which schema registry REST API the Avro serde speaks: confluent (the Confluent Schema Registry "
                            + "API, v7: Confluent Schema Registry, Karapace, Redpanda, Apicurio at /apis/ccompat/v7; "
                            + "this application's own serde, " + CONFLUENT_SERDE + ") or apicurio (Apicurio's v3 API "
                            + "through Apicurio's serde, " + APICURIO_SERDE + "). Both write the same wire format.")
            .define(SERDE_CLASS, Type.STRING, "", Importance.LOW,
                    "Avro serde class (a Kafka Serde), configured with every key of this configuration; empty = the "
                            + "serde of " + REGISTRY_API + ". Confluent's io.confluent.kafka.streams.serdes.avro."
                            + "SpecificAvroSerde works where its jars are on the class path.")
            .define(REGISTRY_URL, Type.STRING, "", Importance.HIGH,
                    "Schema registry URL, passed to the serde as schema.registry.url and apicurio.registry.url. "
                            + "Confluent API: Confluent Schema Registry or Karapace http://host:8081, Redpanda "
                            + "http://host:8081, Apicurio http://host:8080/apis/ccompat/v7 (several, comma-separated, "
                            + "are tried in turn); Apicurio API: http://host:8080/apis/registry/v3.")
            .define(REGISTRY_BASIC_AUTH_USER_INFO, Type.PASSWORD, "", Importance.MEDIUM,
                    "user:password for HTTP basic authentication to the registry (Confluent API; Confluent Cloud: "
                            + "API key:secret), sent with every call; never logged. Empty = no authentication.")
            .define(REGISTRY_TRUSTSTORE_LOCATION, Type.STRING, "", Importance.MEDIUM,
                    "Trust store file for an https:// registry URL (Confluent API); empty = the JVM's default trust "
                            + "(javax.net.ssl.trustStore, else the JDK's CA certificates).")
            .define(REGISTRY_TRUSTSTORE_PASSWORD, Type.PASSWORD, "", Importance.LOW,
                    "Password of " + REGISTRY_TRUSTSTORE_LOCATION + " (empty: none).")
            .define(REGISTRY_TRUSTSTORE_TYPE, Type.STRING, "PKCS12", ValidString.in("PKCS12", "JKS"), Importance.LOW,
                    "Type of " + REGISTRY_TRUSTSTORE_LOCATION + ".")
            .define(REGISTRY_AUTO_REGISTER, Type.BOOLEAN, true, Importance.MEDIUM,
                    "Whether the serializer registers the output schemas (LearningEvent, CheckpointEvent) under "
                            + "TOPIC-value when the subject lacks them (Confluent API); false = only look them up "
                            + "(registered beforehand by an operator; a missing one holds the input, not ready).")
            .define(REGISTRY_RETRIES, Type.INT, 2, Range.between(0, 10), Importance.LOW,
                    "Further attempts of a registry call that got no answer (refused, timed out, 5xx, 408, 429), "
                            + "after 100 ms, doubling up to 2 s (Confluent API); then the input waits (see "
                            + "hope.registry.retry.backoff.max.ms).")
            .define(REGISTRY_COMPATIBILITY_INPUT, Type.STRING, "FULL_TRANSITIVE", ValidString.in(LEVELS.toArray(String[]::new)),
                    Importance.MEDIUM,
                    "Compatibility level the application sets at start on the input subject (INPUT_TOPIC-value; "
                            + "Confluent API; empty = leave the registry's). FULL_TRANSITIVE: every new producer "
                            + "schema must be readable by every older one, this application's included (FORWARD), "
                            + "and the reverse, so a later build reads all the data still in the topic.")
            .define(REGISTRY_COMPATIBILITY_OUTPUT, Type.STRING, "FULL_TRANSITIVE", ValidString.in(LEVELS.toArray(String[]::new)),
                    Importance.LOW,
                    "Compatibility level the application sets at start on its output subjects (learning and "
                            + "checkpoints topics' -value; Confluent API; empty = leave the registry's): consumers "
                            + "of any version read the events of any other.")
            .define(REGISTRY_CALL_TIMEOUT_MS, Type.LONG, 10_000L, Range.between(100, 600_000), Importance.LOW,
                    "Longest wait for one schema registry answer; a call past it counts as the registry not "
                            + "answering (input then waits for it, see " + REGISTRY_RETRY_BACKOFF_MAX_MS + ").")
            .define(REGISTRY_RETRY_BACKOFF_MAX_MS, Type.LONG, 30_000L, Range.between(250, 3_600_000), Importance.LOW,
                    "While the schema registry does not answer (refused, timed out, 5xx), input events that need it "
                            + "wait uncommitted in their topic, never dead-lettered, and the registry is asked again "
                            + "after a backoff doubling from 250 ms up to this; meanwhile /health/ready is 503 and "
                            + "hope_registry_available is 0.")
            .define(REPARTITION, Type.BOOLEAN, true, Importance.MEDIUM,
                    "Repartition by context key before the learner, so that every key always meets the same "
                            + "learner even when producers key records otherwise. Off saves a topic hop when the "
                            + "Kafka key is the context key; off with other keys, a context key whose records are in "
                            + "several partitions is split across their learners.")
            .define(DEFAULT_KEY, Type.STRING, "default", Importance.LOW,
                    "Context key of events that carry none.")
            .define(RECORD_MAX_BYTES, Type.INT, 1024, Range.between(16, 64 * 1024), Importance.MEDIUM,
                    "Longest record handed to the learner; longer text is split at UTF-8 boundaries.")
            .define(TEXT_MAX_BYTES, Type.INT, 1 << 20, Range.between(16, 64 << 20), Importance.MEDIUM,
                    "Hard cap on one event's text: longer events go to the dead-letter topic (oversize).")
            .define(KEY_MAX_BYTES, Type.INT, 4096, Range.between(1, 1 << 20), Importance.LOW,
                    "Longest context key and event id, UTF-8 bytes: longer ones go to the dead-letter topic "
                            + "(key-too-long, id-too-long). Every key's state and every output event carries them.")
            .define(EVENT_TIME_MAX_AHEAD_MS, Type.LONG, 3_600_000L, Range.atLeast(0), Importance.LOW,
                    "Latest event time accepted, ms ahead of the stream time (the later of the input's stream "
                            + "time and the wall clock): later events go to the dead-letter topic (future-time), "
                            + "as they would move the window clocks forward for good. The default is Kafka 4 "
                            + "brokers' log.message.timestamp.after.max.ms, which refuses such timestamps anyway.")
            .define(MODEL_PRESET, Type.STRING, "small", ValidString.in("tiny", "small", "base"), Importance.HIGH,
                    "Model size of a new model. A stored model (the stores' or " + MODEL_INIT + "'s) keeps its "
                            + "own size; a different value given here is an error.")
            .define(MODEL_INIT, Type.STRING, "", Importance.MEDIUM,
                    "Checkpoint file (from pretrain or learn) a new model starts from; empty = seeded init. "
                            + "Its model size is kept; windows, checkpoint period and the context level are the keys "
                            + "here, as for a model restored from the stores; learning rates are the stored ones "
                            + "(a pretrained checkpoint's final rate) unless given here.")
            .define(MODEL_SEED, Type.LONG, 42L, Importance.LOW, "Seed of a new model's initial weights.")
            .define(MODEL_KAN, Type.STRING, HopeConfig.KAN_NONE,
                    ValidString.in(HopeConfig.KAN_NONE, HopeConfig.KAN_LOW, HopeConfig.KAN_ALL), Importance.LOW,
                    "CMS levels of a new model that are Kolmogorov-Arnold layer pairs (cubic B-splines plus SiLU per edge, "
                            + "about the MLP's parameters) instead of MLPs: none, low (the LOW levels) or all. A stored "
                            + "model keeps its own (docs/kan-ticks.md). Measured (tiny, 3 seeds, network alone): all "
                            + "lowers held-out bpb by 0.064 and BWT by 0.024 in every seed, but halves the gain on a "
                            + "fact and costs 1.7-3x per record; low: -0.022 held-out, more forgetting (docs/eval.md).")
            .define(MODEL_KAN_GRID, Type.INT, HopeConfig.DEFAULT_KAN_GRID, Range.between(1, 64), Importance.LOW,
                    "Grid intervals G of a KAN level's splines on [-2, 2]; its hidden width is round(4d / (G + 4)).")
            .define(DEVICE, Type.STRING, "auto", ValidString.in("auto", "cpu", "gpu"), Importance.MEDIUM,
                    "Where tensors live: gpu if a CUDA engine and GPU exist (auto), or forced.")
            .define(LR_HIGH, Type.DOUBLE, 3e-3, Range.between(0, 1), Importance.MEDIUM, "AdamW learning rate of HIGH.")
            .define(LR_MID, Type.DOUBLE, 3e-3, Range.between(0, 1), Importance.MEDIUM, "AdamW learning rate of MID.")
            .define(LR_LOW, Type.DOUBLE, 3e-3, Range.between(0, 1), Importance.MEDIUM, "AdamW learning rate of LOW.")
            .define(WARMUP_RECORDS, Type.INT, 400, Range.atLeast(0), Importance.LOW,
                    "Records during which every level steps on every record, before the nested cadence.")
            .define(CONTEXT_MODE, Type.STRING, LearnerConfig.DEFAULT_CONTEXT_MODE,
                    ValidString.in("off", "mix", "ppm-mix", "ppm-key", "ppm-global"), Importance.HIGH,
                    "Exact-context level: mix (network + per-key and global context models, learned mixer), off "
                            + "(network alone), ppm-mix (context models alone), ppm-key / ppm-global (one PPM alone).")
            .define(CONTEXT_ORDERS, Type.STRING, LearnerConfig.DEFAULT_CONTEXT_ORDERS, Importance.LOW,
                    "Context lengths (bytes) of the exact-context level besides order 0, ascending, at most 24.")
            .define(CONTEXT_KEY_CONTEXTS, Type.INT, LearnerConfig.DEFAULT_KEY_CONTEXTS, Range.atLeast(1), Importance.LOW,
                    "Bound on one key's contexts (stored with its fast memory); a full model starts again empty.")
            .define(CONTEXT_GLOBAL_CONTEXTS, Type.INT, LearnerConfig.DEFAULT_GLOBAL_CONTEXTS, Range.atLeast(1),
                    Importance.LOW, "Bound on the global context model's contexts (stored with the model).")
            .define(CONTEXT_MIXER_RATE, Type.DOUBLE, LearnerConfig.DEFAULT_MIXER_RATE, Range.between(0, 1),
                    Importance.LOW, "Learning rate of the mixer of the exact-context level.")
            .define(CONTEXT_MIXER_SELECT, Type.STRING, LearnerConfig.DEFAULT_MIXER_SELECT,
                    ValidString.in("match", "match+class"), Importance.LOW,
                    "How the mixer chooses its weights: match (by matched context lengths) or match+class (plus a "
                            + "set by the previous byte's class and the network's confidence; docs/eval.md).")
            .define(CONTEXT_MIXER_TRAIN, Type.STRING, LearnerConfig.DEFAULT_MIXER_TRAIN,
                    ValidString.in("selected", "selected+keyless"), Importance.LOW,
                    "Which of the mixer's weight sets learn from a byte: selected (the set that mixed it) or "
                            + "selected+keyless (also, in a second step, the set a key that knows nothing would have "
                            + "used, which queries under a fresh key use; docs/eval.md).")
            .define(CONTEXT_OVERFLOW, Type.STRING, LearnerConfig.DEFAULT_CONTEXT_OVERFLOW, ValidString.in("prune-global", "prune", "clear"),
                    Importance.LOW, "What a full context model does: prune (drop the contexts seen least until three "
                            + "quarters of its bound remain), clear (start again empty, as PPMd), or prune-global (the "
                            + "global model prunes, a key's clears: measured best, docs/eval.md).")
            .define(CONSOLIDATION, Type.STRING, LearnerConfig.DEFAULT_CONSOLIDATION,
                    ValidString.in(LearnerConfig.CONSOLIDATION_STEP, LearnerConfig.CONSOLIDATION_ANCHOR), Importance.LOW,
                    "What a LOW consolidation does besides LOW's step, within one learner: step (nothing more) or anchor "
                            + "(HIGH and MID keep a slow copy of their weights that absorbs part of their drift, and are "
                            + "pulled back toward it: measured best, docs/eval.md). Across partitions: " + SHARDS_ENABLED + ".")
            .define(ANCHOR_ABSORB, Type.DOUBLE, 0.5, Range.between(0, 1), Importance.LOW,
                    "With " + "hope.consolidation=anchor: share of the fast levels' drift the anchor absorbs per consolidation.")
            .define(ANCHOR_PULL, Type.DOUBLE, 0.5, Range.between(0, 1), Importance.LOW,
                    "With " + "hope.consolidation=anchor: share of the way back to the anchor the fast levels move per "
                            + "consolidation.")
            .define(SHARDS_ENABLED, Type.BOOLEAN, false, Importance.HIGH,
                    "One model across shards (docs/streaming.md): at every LOW consolidation each partition's learner "
                            + "publishes what its slow levels learned since its last publication; a consolidator "
                            + "merges each round into a global version that every learner adopts (its unsent progress "
                            + "rebased on top), exactly-once, inside Kafka. Off: P partitions are P independent models. "
                            + "Needs exactly_once_v2; enable it from a model's start (all learners then start equal).")
            .define(SHARDS_LEVELS, Type.STRING, "low", ValidString.in("low", "low+mid"), Importance.MEDIUM,
                    "Levels shared across partitions: low (LOW: embeddings, projections, gates, norms, M0, CMS level 3) "
                            + "or low+mid (also CMS level 2). HIGH and the fast memories stay per partition.")
            .define(SHARDS_ROUND_TIMEOUT_MS, Type.LONG, 60_000L, Range.between(100, 86_400_000), Importance.MEDIUM,
                    "A consolidation round closes when every partition has reported or this long (wall clock) after "
                            + "its first delta: an idle or lagging partition does not stall the others (its later delta "
                            + "goes into a later round).")
            .define(SHARDS_MERGE, Type.STRING, "weighted-mean", ValidString.in("weighted-mean", "mean", "sum"),
                    Importance.LOW,
                    "How a round's deltas (each partition's summed) become the global increment: weighted-mean (by "
                            + "records learned), mean, or sum.")
            .define(SHARDS_TOPIC, Type.STRING, "hope.consolidation", new ConfigDef.NonEmptyString(), Importance.LOW,
                    "Topic of the learners' slow-level deltas (one partition; created at start if missing).")
            .define(SHARDS_GLOBAL_TOPIC, Type.STRING, "hope.consolidation.global", new ConfigDef.NonEmptyString(),
                    Importance.LOW,
                    "Topic of the global versions, one copy in each of its partitions, as many as the input topic's "
                            + "(created at start if missing).")
            .define(TICKS_MAX, Type.INT, 0, Range.between(0, 16), Importance.LOW,
                    "Extra internal steps (ticks) a surprising record may take: the fast-memory write and HIGH's step "
                            + "repeated on it (0 = off; docs/kan-ticks.md). Measured (tiny, 3 seeds, threshold 3.5): "
                            + "T = 2 / 4 lower prequential bpb by 0.09 / 0.11 but raise BWT by 0.03 / 0.04 at the same "
                            + "held-out bpb, up to 3.3x the time per record (docs/eval.md).")
            .define(TICKS_THRESHOLD, Type.DOUBLE, LearnerConfig.DEFAULT_TICKS_THRESHOLD, Range.between(0, 64), Importance.LOW,
                    "Bits per byte above which a record is surprising and may take ticks.")
            .define(TICKS_MIN_GAIN, Type.DOUBLE, LearnerConfig.DEFAULT_TICKS_MIN_GAIN, Range.between(0, 8), Importance.LOW,
                    "Bits per byte a tick's loss must fall below the previous one's for HIGH to step on it and another "
                            + "tick to follow.")
            .define(WINDOW_MS, Type.LONG, 60_000L, Range.atLeast(0), Importance.HIGH,
                    "MID tumbling window in stream time (event time), ms; 0 = no time windows.")
            .define(WINDOW_RECORDS, Type.INT, 0, Range.atLeast(0), Importance.MEDIUM,
                    "MID window in records (0 = none); with " + WINDOW_MS + " both close a window.")
            .define(CHECKPOINT_CLOCK, Type.STRING, "wall", ValidString.in("wall", "stream"), Importance.MEDIUM,
                    "Clock of the LOW checkpoint punctuation: wall (processing time) or stream (event time, "
                            + "reproducible runs).")
            .define(CHECKPOINT_INTERVAL_MS, Type.LONG, 300_000L, Range.atLeast(1), Importance.HIGH,
                    "LOW consolidation period, ms of the checkpoint clock.")
            .define(CHECKPOINTS_KEEP, Type.INT, 5, Range.atLeast(1), Importance.LOW,
                    "LOW versions kept in the checkpoints store.")
            .define(BATCH_RECORDS, Type.INT, 1, Range.between(1, 256), Importance.MEDIUM,
                    "Records of distinct keys learned in one forward and backward (docs/streaming.md \"Batched "
                            + "learning\"): HIGH steps once per batch; a record of a key already waiting closes the "
                            + "batch first. Waiting records are kept in the pending-batch store, so exactly-once "
                            + "holds. 1 learns every record at once, as before.")
            .define(BATCH_LINGER_MS, Type.LONG, 100L, Range.atLeast(1), Importance.LOW,
                    "With " + BATCH_RECORDS + " > 1: a batch that is not full is learned once its first record has "
                            + "waited this long (wall clock, checked every quarter of it: at most 1.25 times this) or "
                            + "a record comes this much stream time after it.")
            .define(KEYS_TTL_MS, Type.LONG, 0L, Range.atLeast(0), Importance.MEDIUM,
                    "Fast memories of keys with no record for longer than this, ms of stream time, are deleted "
                            + "(tombstones in the changelog; checked every min(ttl, 1 min) of wall time); the key "
                            + "starts afresh at its next record. 0 keeps them forever.")
            .define(FAST_STATE_RESET_UNREADABLE, Type.BOOLEAN, false, Importance.LOW,
                    "A key whose stored fast memory cannot be decoded (corrupt, or of a format version this build "
                            + "does not read): true resets it to the initial memory and learns the record (WARN "
                            + "once per key); false dead-letters its records (unreadable-state) and keeps the entry.")
            .define(CORRUPTION_REBALANCE, Type.BOOLEAN, false, Importance.LOW,
                    "Let Kafka Streams rebalance when an active task's state is corrupted (a commit or send timed "
                            + "out under exactly-once), so that an instance with a standby replica can take the task "
                            + "over while it restores. Off: the task is revived in place on its thread. Either way "
                            + "its input is read again from the committed offset (docs/streaming.md, Task revival).")
            .define(ROCKSDB_MEMORY, Type.LONG, BoundedRocksDbConfig.DEFAULT_MEMORY, Range.atLeast(4L << 20),
                    Importance.MEDIUM, "Bound on the off-heap memory of all RocksDB stores of the process, bytes.")
            .define(HTTP_PORT, Type.INT, 8080, Range.between(0, 65535), Importance.HIGH,
                    "Port of the query API and dashboard, and of health and metrics when hope.http.management.port"
                            + " is -1 (0 = any free port). Set "
                            + "application.server to this instance's host:port for routing between instances.")
            .define(HTTP_HOST, Type.STRING, "0.0.0.0", new ConfigDef.NonEmptyString(), Importance.LOW,
                    "Address the HTTP server binds.");

    // ---- Security of the HTTP API (issue 14): kept in one block, defined into DEF below ----
    public static final String HTTP_MANAGEMENT_PORT = "hope.http.management.port";
    public static final String HTTP_AUTH_TOKENS_FILE = "hope.http.auth.tokens.file";
    public static final String HTTP_TLS_KEYSTORE_FILE = "hope.http.tls.keystore.file";
    public static final String HTTP_TLS_KEYSTORE_PASSWORD = "hope.http.tls.keystore.password";
    public static final String HTTP_TLS_TRUSTSTORE_FILE = "hope.http.tls.truststore.file";
    public static final String HTTP_TLS_TRUSTSTORE_PASSWORD = "hope.http.tls.truststore.password";
    public static final String HTTP_FORWARD_ALLOW = "hope.http.forward.allow";
    public static final String HTTP_FORWARD_TOKEN = "hope.http.forward.token";
    public static final String HTTP_QUERY_CONCURRENCY = "hope.http.query.concurrency";
    public static final String HTTP_QUERY_QUEUE = "hope.http.query.queue";
    public static final String HTTP_QUERY_TIMEOUT_MS = "hope.http.query.timeout.ms";
    public static final String HTTP_BODY_MAX_BYTES = "hope.http.body.max.bytes";
    public static final String HTTP_COMPLETE_MAX_BYTES = "hope.http.complete.max.bytes";
    /** {@code run}'s log format: text lines, or one JSON object per line (k8s); {@code --log-format} wins. */
    public static final String LOG_FORMAT = "hope.log.format";
    /** How often the dead letters of the last period are summed up in one log line. */
    public static final String LOG_DLQ_INTERVAL_MS = "hope.log.dlq.interval.ms";

    static {
        DEF.define(HTTP_MANAGEMENT_PORT, Type.INT, 8081, Range.between(-1, 65535), Importance.HIGH,
                        "Port of /health/* and /metrics, a server of their own so that probes never wait behind "
                                + "queries (0 = any free port; -1 = no management server: they are served on "
                                + HTTP_PORT + " with the API).")
                .define(HTTP_AUTH_TOKENS_FILE, Type.STRING, "", Importance.HIGH,
                        "File of the API's bearer tokens, one per line: 'TOKEN SCOPE [NAME]', SCOPE * (every key "
                                + "and /metrics, /v1/model, /v1/dashboard) or key prefixes separated by commas "
                                + "(docs/deploy.md). Empty = no authentication (every route open). /health/* is "
                                + "always open.")
                .define(HTTP_TLS_KEYSTORE_FILE, Type.STRING, "", Importance.MEDIUM,
                        "PKCS12 keystore (certificate and key) of the API port: set, the API is served over HTTPS "
                                + "only, and forwarded queries use https. Empty = plain HTTP.")
                .define(HTTP_TLS_KEYSTORE_PASSWORD, Type.PASSWORD, "", Importance.MEDIUM,
                        "Password of " + HTTP_TLS_KEYSTORE_FILE + ".")
                .define(HTTP_TLS_TRUSTSTORE_FILE, Type.STRING, "", Importance.MEDIUM,
                        "PKCS12 truststore of the client CAs: set (with " + HTTP_TLS_KEYSTORE_FILE + "), the API "
                                + "requires a client certificate it signed (mutual TLS), and this instance presents "
                                + "its keystore's certificate when it forwards.")
                .define(HTTP_TLS_TRUSTSTORE_PASSWORD, Type.PASSWORD, "", Importance.MEDIUM,
                        "Password of " + HTTP_TLS_TRUSTSTORE_FILE + ".")
                .define(HTTP_FORWARD_ALLOW, Type.LIST, "localhost,127.0.0.1", Importance.HIGH,
                        "Hosts a key's query may be forwarded to (the owner's application.server): exact names or "
                                + "*.domain. An owner elsewhere gets no request and the client 502. Kubernetes: "
                                + "*.hope-streams-headless.<namespace>.svc.")
                .define(HTTP_FORWARD_TOKEN, Type.PASSWORD, "", Importance.HIGH,
                        "This instance's own bearer token, sent with the queries it forwards (the owner's tokens "
                                + "file must grant it scope *); the client's token is never passed on.")
                .define(HTTP_QUERY_CONCURRENCY, Type.INT, 2, Range.between(1, 256), Importance.MEDIUM,
                        "Queries computed at once on this instance.")
                .define(HTTP_QUERY_QUEUE, Type.INT, 16, Range.between(0, 10_000), Importance.MEDIUM,
                        "Queries waiting for a slot; over it, 429 with Retry-After.")
                .define(HTTP_QUERY_TIMEOUT_MS, Type.LONG, 10_000L, Range.between(100, 600_000), Importance.MEDIUM,
                        "Longest time for one query's answer, waiting included; past it, 503 with Retry-After.")
                .define(HTTP_BODY_MAX_BYTES, Type.INT, 65_536, Range.between(1024, 16 << 20), Importance.LOW,
                        "Largest request body; larger ones get 413 unread.")
                .define(HTTP_COMPLETE_MAX_BYTES, Type.INT, 512, Range.between(1, 65_536), Importance.MEDIUM,
                        "Largest maxBytes of one /v1/complete.")
                .define(LOG_FORMAT, Type.STRING, "text", ValidString.in("text", "json"), Importance.MEDIUM,
                        "Log format of run on standard error: text lines, or one JSON object per line (time, level, "
                                + "logger, thread, message, error) for a log collector; what anything prints becomes "
                                + "such a line too. run --log-format wins. The k8s manifests set json.")
                .define(LOG_DLQ_INTERVAL_MS, Type.LONG, 60_000L, Range.between(1_000, 86_400_000), Importance.LOW,
                        "Dead letters are logged as one summary line per this period (how many, by stage and "
                                + "reason), not one line each; each one's reason is in its hope.dlq.* headers.");
    }

    /**
     * Keys from environment variables: {@code HOPE_X_Y} sets {@code hope.x.y}, {@code STREAMS_X_Y}
     * sets {@code x.y} (any Kafka Streams, client or serde key). In the name after the prefix, {@code __}
     * (two underscores) stands for a hyphen: {@code STREAMS_APICURIO_REGISTRY_TLS_VERIFY__HOST} sets
     * {@code apicurio.registry.tls.verify-host}. A key that needs upper case or an underscore is given whole in the
     * value of {@code HOPE_SET_<anything>=key=value} (e.g. {@code HOPE_SET_1=some.Key_x=42}). Others are ignored.
     */
    public static Map<String, String> fromEnvironment(Map<String, String> env) {
        Map<String, String> out = new java.util.TreeMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith(ENV_SET_PREFIX)) {
                int eq = v.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("environment variable " + k + " must be 'key=value' (it sets "
                            + "any key as written), got no '=' after a key");
                }
                out.put(v.substring(0, eq).strip(), v.substring(eq + 1));
            } else if (k.startsWith(ENV_PREFIX) && k.length() > ENV_PREFIX.length()) {
                out.put(envKey(k), v);
            } else if (k.startsWith(STREAMS_ENV_PREFIX) && k.length() > STREAMS_ENV_PREFIX.length()) {
                out.put(envKey(k.substring(STREAMS_ENV_PREFIX.length())), v);
            }
        });
        return out;
    }

    private static String envKey(String name) {
        return name.toLowerCase(java.util.Locale.ROOT).replace("__", "\0").replace('_', '.').replace('\0', '-');
    }

    /** The environment variable that sets {@code key} (see {@link #fromEnvironment}). */
    public static String envName(String key) {
        String upper = key.toUpperCase(java.util.Locale.ROOT).replace("-", "__").replace('.', '_');
        return key.startsWith("hope.") ? upper : STREAMS_ENV_PREFIX + upper;
    }

    /** The configuration table in Markdown (README "Streaming configuration"; a test keeps them equal). */
    public static String markdownTable() {
        StringBuilder sb = new StringBuilder("| key | type | default | valid values | what it does |\n|---|---|---|---|---|\n");
        for (ConfigDef.ConfigKey k : DEF.configKeys().values()) {
            Object d = k.defaultValue;
            boolean empty = d instanceof String str && str.isEmpty()
                    || d instanceof org.apache.kafka.common.config.types.Password pw && pw.value().isEmpty();
            String def = d == null ? "" : empty ? "\"\"" : d.toString();
            String valid = k.validator == null ? "" : k.validator.toString();
            sb.append("| `").append(k.name).append("` | ").append(k.type.toString().toLowerCase(java.util.Locale.ROOT))
                    .append(" | `").append(def).append("` | ").append(valid.replace("|", "\\|")).append(" | ")
                    .append(k.documentation.replace("|", "\\|")).append(" |\n");
        }
        return sb.toString();
    }

    public HopeStreamsConfig(Map<?, ?> props) {
        super(DEF, props, false);
        if (consolidationEnabled()) {
            checkConsolidation();
        }
    }

    public boolean consolidationEnabled() {
        return getBoolean(SHARDS_ENABLED);
    }

    /** The combinations a consolidating application cannot run with, each named with its value. */
    private void checkConsolidation() {
        Object guarantee = originals().getOrDefault(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        if (!StreamsConfig.EXACTLY_ONCE_V2.equals(String.valueOf(guarantee).trim())) {
            throw new org.apache.kafka.common.config.ConfigException(SHARDS_ENABLED + "=true needs "
                    + StreamsConfig.PROCESSING_GUARANTEE_CONFIG + "=" + StreamsConfig.EXACTLY_ONCE_V2 + ", got '"
                    + guarantee + "': without transactions a delta could be merged twice or lost after a crash");
        }
        List<String> others = List.of(inputTopic(), learningTopic(), checkpointsTopic(), dlqTopic());
        for (String key : List.of(SHARDS_TOPIC, SHARDS_GLOBAL_TOPIC)) {
            if (others.contains(getString(key))) {
                throw new org.apache.kafka.common.config.ConfigException(key + " = '" + getString(key)
                        + "' is already the input, learning, checkpoints or dead-letter topic; give it a topic of its own");
            }
        }
        if (getString(SHARDS_TOPIC).equals(getString(SHARDS_GLOBAL_TOPIC))) {
            throw new org.apache.kafka.common.config.ConfigException(SHARDS_TOPIC + " and " + SHARDS_GLOBAL_TOPIC
                    + " are both '" + getString(SHARDS_TOPIC) + "': deltas and global versions need topics of their own");
        }
    }

    public String inputTopic() {
        return getString(INPUT_TOPIC);
    }

    public String learningTopic() {
        return getString(LEARNING_TOPIC);
    }

    public String checkpointsTopic() {
        return getString(CHECKPOINTS_TOPIC);
    }

    public String dlqTopic() {
        return getString(DLQ_TOPIC);
    }

    public InputFormat inputFormat() {
        return InputFormat.valueOf(getString(INPUT_FORMAT).toUpperCase(java.util.Locale.ROOT));
    }

    public boolean streamTimeCheckpoints() {
        return getString(CHECKPOINT_CLOCK).equals("stream");
    }

    public HopeConfig modelConfig() {
        return HopeConfig.preset(getString(MODEL_PRESET)).withKan(getString(MODEL_KAN), getInt(MODEL_KAN_GRID));
    }

    /** The learner settings of a new model. */
    public LearnerConfig learnerConfig() {
        return LearnerConfig.defaults().withRates(getDouble(LR_HIGH), getDouble(LR_MID), getDouble(LR_LOW))
                .withWarmup(getInt(WARMUP_RECORDS)).withWindow(getInt(WINDOW_RECORDS), getLong(WINDOW_MS))
                .withMaxRecordBytes(getInt(RECORD_MAX_BYTES))
                .withCheckpointMillis(streamTimeCheckpoints() ? getLong(CHECKPOINT_INTERVAL_MS) : 0)
                .withContext(getString(CONTEXT_MODE), getString(CONTEXT_ORDERS), getInt(CONTEXT_KEY_CONTEXTS),
                        getInt(CONTEXT_GLOBAL_CONTEXTS), getDouble(CONTEXT_MIXER_RATE))
                .withMixerSelect(getString(CONTEXT_MIXER_SELECT))
                .withMixerTrain(getString(CONTEXT_MIXER_TRAIN)).withContextOverflow(getString(CONTEXT_OVERFLOW))
                .withConsolidation(getString(CONSOLIDATION), getDouble(ANCHOR_ABSORB), getDouble(ANCHOR_PULL))
                .withTicks(getInt(TICKS_MAX), getDouble(TICKS_THRESHOLD), getDouble(TICKS_MIN_GAIN));
    }

    /** The producer's max.request.size (a producer. prefix wins): the largest dead letter written whole. */
    public int maxRequestBytes() {
        Object v = originals().getOrDefault(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG),
                originals().getOrDefault(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 1 << 20));
        return Integer.parseInt(v.toString().trim());
    }

    /** Whether the serde speaks the Confluent API ({@value #REGISTRY_API} = confluent). */
    public boolean confluentApi() {
        return getString(REGISTRY_API).equals("confluent");
    }

    /** The Avro serde class: {@value #SERDE_CLASS} if given, else the serde of {@value #REGISTRY_API}. */
    public String serdeClass() {
        String given = getString(SERDE_CLASS);
        return !given.isBlank() ? given.trim() : confluentApi() ? CONFLUENT_SERDE : APICURIO_SERDE;
    }

    /**
     * Configuration handed to the serde: every key given, the registry keys with their defaults (passwords as
     * plain values: the serde needs them), the registry URL under both serdes' names, specific-record reading,
     * and cached schemas kept for good (Apicurio's {@code check-period-ms}).
     */
    public Map<String, Object> serdeConfig() {
        Map<String, Object> m = new HashMap<>(originals());
        for (String k : List.of(REGISTRY_BASIC_AUTH_USER_INFO, REGISTRY_TRUSTSTORE_LOCATION, REGISTRY_TRUSTSTORE_PASSWORD,
                REGISTRY_TRUSTSTORE_TYPE, REGISTRY_AUTO_REGISTER, REGISTRY_RETRIES, REGISTRY_CALL_TIMEOUT_MS)) {
            Object v = get(k);
            m.put(k, v instanceof org.apache.kafka.common.config.types.Password p ? p.value() : String.valueOf(v));
        }
        String url = getString(REGISTRY_URL);
        if (!url.isEmpty()) {
            m.putIfAbsent("apicurio.registry.url", url);
            m.putIfAbsent("schema.registry.url", url);
        }
        m.putIfAbsent("apicurio.registry.use-specific-avro-reader", "true");
        m.putIfAbsent("specific.avro.reader", "true");
        m.putIfAbsent("apicurio.registry.auto-register", "true");
        // A schema id never changes: the schema the serde cached for it is never refreshed, so that once the
        // registry has answered for an id, no stream thread needs it again for that id (RegistryGate).
        m.putIfAbsent("apicurio.registry.check-period-ms", Long.toString(Long.MAX_VALUE));
        return m;
    }

    /**
     * The settings every Kafka client of the application takes besides Kafka Streams' own (the admin client of
     * {@code --create-topics}): bootstrap servers, security protocol, SASL and SSL keys, client DNS lookup, and
     * {@code admin.}-prefixed keys (which win).
     */
    public Map<String, Object> clientProperties() {
        Map<String, Object> m = new HashMap<>();
        originals().forEach((k, v) -> {
            if (k.equals(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG) || k.equals("security.protocol") || k.startsWith("sasl.")
                    || k.startsWith("ssl.") || k.equals("client.dns.lookup")) {
                m.put(k, v);
            }
        });
        originals().forEach((k, v) -> {
            if (k.startsWith(StreamsConfig.ADMIN_CLIENT_PREFIX)) {
                m.put(k.substring(StreamsConfig.ADMIN_CLIENT_PREFIX.length()), v);
            }
        });
        return m;
    }

    /** Kafka Streams properties: the given ones over this application's defaults. */
    public Properties streamsProperties() {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "hope-streams");
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "1000");
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, Long.toString(64L << 20));
        p.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbConfig.class.getName());
        p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
        p.put("processing.exception.handler.global.enabled", "true");
        p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, RecordFailureHandler.class.getName());
        p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, RecordFailureHandler.class.getName());
        p.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, RecordFailureHandler.class.getName());
        p.put(StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG, MissingTimestamps.class.getName());
        p.putAll(originals());
        return p;
    }
}

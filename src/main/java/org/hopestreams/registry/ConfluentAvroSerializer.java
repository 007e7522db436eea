package org.hopestreams.registry;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericContainer;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Avro records (generated classes or {@link org.apache.avro.generic.GenericRecord}s) in the Confluent wire format:
 * magic byte 0, the schema's registry id (4 bytes, big-endian), Avro binary. The id is that of the record's schema
 * under the subject {@code <topic>-value} ({@code <topic>-key} for keys: the topic-name strategy), registered there
 * on first use unless {@link RegistryClientConfig#autoRegister()} is off (then only looked up), and cached.
 *
 * <p>Registry failures throw a {@link SerializationException} whose cause is the {@link RegistryException}.
 */
public final class ConfluentAvroSerializer<T> implements Serializer<T> {
    private ConfluentRegistryClient client;
    private boolean key;
    private final Map<Schema, DatumWriter<Object>> writers = new ConcurrentHashMap<>();

    /** For Kafka's reflective construction; {@link #configure} must follow. */
    public ConfluentAvroSerializer() {
    }

    public ConfluentAvroSerializer(ConfluentRegistryClient client) {
        this.client = client;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        if (client == null) {
            client = new ConfluentRegistryClient(RegistryClientConfig.from(configs));
        }
        key = isKey;
    }

    public ConfluentRegistryClient client() {
        return client;
    }

    @Override
    public byte[] serialize(String topic, T value) {
        if (value == null) {
            return null;
        }
        if (!(value instanceof GenericContainer record)) {
            throw new SerializationException("the Avro serializer writes Avro records, not " + value.getClass().getName());
        }
        Schema schema = record.getSchema();
        String subject = topic + (key ? "-key" : "-value");
        int id;
        try {
            id = client.id(subject, schema, client.config().autoRegister());
        } catch (RegistryException e) {
            throw new SerializationException((client.config().autoRegister() ? "cannot register " : "cannot look up ")
                    + schema.getFullName() + " for topic " + topic + ": " + e.getMessage(), e);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        out.write(0);
        out.writeBytes(ByteBuffer.allocate(4).putInt(id).array());
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        try {
            writers.computeIfAbsent(schema, s -> writer(s, value)).write(value, encoder);
            encoder.flush();
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("cannot write a " + schema.getFullName() + " as Avro: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    @SuppressWarnings("unchecked")
    private static DatumWriter<Object> writer(Schema schema, Object value) {
        return value instanceof SpecificRecord
                ? new SpecificDatumWriter<>(schema, SpecificData.getForClass(value.getClass()))
                : new GenericDatumWriter<>(schema, GenericData.get());
    }
}

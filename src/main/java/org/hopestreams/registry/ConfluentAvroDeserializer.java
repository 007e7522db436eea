package org.hopestreams.registry;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads the Confluent wire format (magic byte 0, 4-byte big-endian schema id, Avro binary): the writer's schema is
 * fetched by id ({@code GET /schemas/ids/{id}}, cached for good) and resolved against the reader's schema. With
 * {@code specific.avro.reader=true} (the application's setting) the reader is the generated class of the writer's
 * record name (e.g. {@code org.hopestreams.avro.TextEvent}): a newer writer's extra fields are skipped, fields it
 * lacks take their defaults; a record with no class here fails with "Could not find class ... specified in writer's
 * schema". Otherwise records are {@link org.apache.avro.generic.GenericRecord}s of the writer's schema.
 *
 * <p>Failures throw a {@link SerializationException}; a registry failure is its cause ({@link RegistryException}:
 * an unknown id is {@link RegistryException.Kind#NOT_FOUND}, no answer {@link RegistryException.Kind#UNAVAILABLE}).
 */
public final class ConfluentAvroDeserializer<T> implements Deserializer<T> {
    public static final String SPECIFIC_READER = "specific.avro.reader";

    private ConfluentRegistryClient client;
    private boolean specific;
    private final Map<Integer, DatumReader<Object>> readers = new ConcurrentHashMap<>();

    /** For Kafka's reflective construction; {@link #configure} must follow. */
    public ConfluentAvroDeserializer() {
    }

    public ConfluentAvroDeserializer(ConfluentRegistryClient client, boolean specific) {
        this.client = client;
        this.specific = specific;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        if (client == null) {
            client = new ConfluentRegistryClient(RegistryClientConfig.from(configs));
        }
        Object s = configs.get(SPECIFIC_READER);
        specific = s != null && Boolean.parseBoolean(s.toString());
    }

    public ConfluentRegistryClient client() {
        return client;
    }

    @Override
    @SuppressWarnings("unchecked")
    public T deserialize(String topic, byte[] data) {
        if (data == null) {
            return null;
        }
        if (data.length < 5 || data[0] != 0) {
            throw new SerializationException("not the Confluent wire format: " + (data.length < 5 ? data.length
                    + " bytes, fewer than the 5 of magic byte and schema id" : "magic byte " + data[0] + ", expected 0"));
        }
        int id = ByteBuffer.wrap(data, 1, 4).getInt();
        DatumReader<Object> reader = readers.get(id);
        if (reader == null) {
            Schema writer;
            try {
                writer = client.schema(id);
            } catch (RegistryException e) {
                throw new SerializationException("cannot read a record of schema id " + id + " from topic " + topic
                        + ": " + e.getMessage(), e);
            }
            reader = reader(writer);
            readers.putIfAbsent(id, reader);
        }
        try {
            return (T) reader.read(null, DecoderFactory.get().binaryDecoder(data, 5, data.length - 5, null));
        } catch (IOException | RuntimeException e) {
            throw new SerializationException("cannot decode a record of schema id " + id + " from topic " + topic
                    + " (" + (data.length - 5) + " bytes of Avro): " + e, e);
        }
    }

    private DatumReader<Object> reader(Schema writer) {
        if (!specific) {
            return new GenericDatumReader<>(writer, writer, GenericData.get());
        }
        Class<?> cls = writer.getType() == Schema.Type.RECORD ? SpecificData.get().getClass(writer) : null;
        if (cls == null) {
            throw new SerializationException("Could not find class " + writer.getFullName() + " specified in writer's "
                    + "schema whilst finding reader's schema for a SpecificRecord");
        }
        SpecificData data = SpecificData.getForClass(cls);
        return new SpecificDatumReader<>(writer, data.getSchema(cls), data);
    }
}

package org.hopestreams.stream;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.hopestreams.avro.ConsolidationEvent;
import org.hopestreams.model.HostTensor;
import org.hopestreams.store.StateCodec;
import org.hopestreams.store.StateFormatException;
import org.hopestreams.store.StateSnapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@link ConsolidationEvent}s on the consolidation and global topics: their serde and the chunking of their
 * tensors. The topics are the application's own (written and read by its sub-topologies), so the events travel as
 * Avro single-object encoding (schema fingerprint + binary) without the schema registry: consolidation never waits
 * on the registry. Tensors are {@link StateCodec} chunks of at most {@link #chunkBytes} each, one event per chunk,
 * so no record reaches the broker's message size.
 */
final class ConsolidationEvents {
    /** Headroom for the event's other fields and the record's overhead below {@code max.request.size}. */
    static final int RECORD_OVERHEAD = 16 * 1024;

    static final Serde<ConsolidationEvent> SERDE = Serdes.serdeFrom((topic, e) -> {
        try {
            ByteBuffer b = ConsolidationEvent.getEncoder().encode(e);
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        } catch (IOException x) {
            throw new SerializationException("cannot encode a ConsolidationEvent: " + x.getMessage(), x);
        }
    }, (topic, bytes) -> {
        try {
            return bytes == null ? null : ConsolidationEvent.getDecoder().decode(bytes);
        } catch (IOException | RuntimeException x) {
            throw new SerializationException("not a ConsolidationEvent on " + topic + ": " + x.getMessage(), x);
        }
    });

    private ConsolidationEvents() {
    }

    /** The largest chunk for records of at most {@code maxRequestBytes}. */
    static int chunkBytes(int maxRequestBytes) {
        return Math.max(StateCodec.MAX_CHUNK_BYTES / 64, Math.min(StateCodec.MAX_CHUNK_BYTES,
                maxRequestBytes - RECORD_OVERHEAD));
    }

    /** One event per chunk of {@code tensors}: {@code header}'s fields, each with its chunk index and payload. */
    static List<ConsolidationEvent> chunked(ConsolidationEvent.Builder header, Map<String, HostTensor> tensors,
                                            int chunkBytes) {
        StateSnapshot.Builder s = StateSnapshot.builder();
        tensors.forEach(s::tensor);
        List<byte[]> chunks = new StateCodec(chunkBytes).encode(s.build());
        List<ConsolidationEvent> out = new ArrayList<>(chunks.size());
        for (int i = 0; i < chunks.size(); i++) {
            out.add(ConsolidationEvent.newBuilder(header).setChunk(i).setChunks(chunks.size())
                    .setPayload(ByteBuffer.wrap(chunks.get(i))).build());
        }
        return out;
    }

    /** The bytes of an event's payload chunk. */
    static byte[] payload(ConsolidationEvent e) {
        ByteBuffer b = e.getPayload().duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /** The tensors of a whole payload (its chunks in index order). */
    static Map<String, HostTensor> tensors(List<byte[]> chunks) throws StateFormatException {
        return new StateCodec().decode(chunks).tensors();
    }
}

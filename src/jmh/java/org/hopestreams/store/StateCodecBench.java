package org.hopestreams.store;

import org.hopestreams.model.HostTensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Encoding and decoding a state group as the model store does at every commit: {@code mb} MB of
 * float32 in four tensors (6 MB is what a one-record commit of {@code small} writes).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class StateCodecBench {
    @Param({"1", "6"})
    int mb;

    private final StateCodec codec = new StateCodec();
    private StateSnapshot snapshot;
    private List<byte[]> chunks;

    @Setup
    public void setUp() {
        StateSnapshot.Builder b = StateSnapshot.builder().meta("kind", "bench").counter("records", 1);
        Random r = new Random(1);
        int values = mb * 1024 * 1024 / 4 / 4;
        for (int t = 0; t < 4; t++) {
            b.tensor("t" + t, HostTensor.ofDoubles(HostTensor.Type.FLOAT32, new long[] {values},
                    r.doubles(values).toArray()));
        }
        snapshot = b.build();
        chunks = codec.encode(snapshot);
    }

    @Benchmark
    public List<byte[]> encode() {
        return codec.encode(snapshot);
    }

    @Benchmark
    public StateSnapshot decode() throws StateFormatException {
        return codec.decode(chunks);
    }
}

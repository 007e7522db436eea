package org.hopestreams.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.hopestreams.learn.InMemoryFastStateStore;
import org.hopestreams.learn.LearnOutcome;
import org.hopestreams.learn.Learner;
import org.hopestreams.learn.LearnerConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Not a check: exports weights, inputs and results of this implementation so that an independent
 * reference (shared/reference/hope_ref.py) can recompute and compare them. Runs only when the
 * system property {@code hope.export.dir} is set.
 *
 * <p>Each exported set is a JSON index ({@code name -> {shape, offset}}) and a raw little-endian
 * float64 file ({@code .bin}); float32 values are widened exactly.
 */
@Tag("export")
class ReferenceExport {

    /** name -> (shape, values) in insertion order. */
    static final class Arrays64 {
        final Map<String, long[]> shapes = new LinkedHashMap<>();
        final Map<String, double[]> values = new LinkedHashMap<>();

        void put(String name, long[] shape, double[] v) {
            shapes.put(name, shape);
            values.put(name, v);
        }

        void put(String name, HostTensor t) {
            put(name, t.shape(), t.toDoubles());
        }

        void put(String name, NDArray a) {
            put(name, a.getShape().getShape(), a.toType(DataType.FLOAT64, false).toDoubleArray());
        }

        void write(Path dir, String stem) throws IOException {
            StringBuilder json = new StringBuilder("{");
            long offset = 0;
            try (OutputStream out = Files.newOutputStream(dir.resolve(stem + ".bin"))) {
                boolean first = true;
                for (Map.Entry<String, double[]> e : values.entrySet()) {
                    double[] v = e.getValue();
                    ByteBuffer bb = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
                    for (double x : v) {
                        bb.putDouble(x);
                    }
                    out.write(bb.array());
                    json.append(first ? "" : ",").append("\n \"").append(e.getKey()).append("\": {\"shape\": ")
                            .append(Arrays.toString(shapes.get(e.getKey()))).append(", \"offset\": ").append(offset)
                            .append("}");
                    offset += v.length;
                    first = false;
                }
            }
            json.append("\n}\n");
            Files.writeString(dir.resolve(stem + ".json"), json.toString());
        }
    }

    private static Path exportDir() {
        String d = System.getProperty("hope.export.dir");
        Assumptions.assumeTrue(d != null, "set -Dhope.export.dir to export");
        return Path.of(d);
    }

    private static byte[] text(Path dir) throws IOException {
        Path p = dir.resolve("stream.txt");
        Assumptions.assumeTrue(Files.exists(p), "put the text to use in " + p);
        return Files.readAllBytes(p);
    }

    /** Initial values, M0 replaced by N(0, 0.3²) draws when {@code randomM0}. */
    static Map<String, HostTensor> weights(HopeConfig c, long seed, boolean randomM0) {
        Map<String, HostTensor> p = new LinkedHashMap<>(HopeParameters.initialize(c, seed));
        if (randomM0) {
            SplittableRandom rnd = new SplittableRandom(seed + 1000);
            p.replaceAll((k, v) -> {
                if (!k.endsWith("M0")) {
                    return v;
                }
                double[] x = v.toDoubles();
                for (int i = 0; i < x.length; i++) {
                    double u1 = 1.0 - rnd.nextDouble();
                    double u2 = rnd.nextDouble();
                    x[i] = 0.3 * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
                }
                return HostTensor.ofDoubles(v.type(), v.shape(), x);
            });
        }
        return p;
    }

    private static void writeParams(Path dir, Map<String, HostTensor> values) throws IOException {
        Arrays64 a = new Arrays64();
        values.forEach(a::put);
        a.write(dir, "params");
    }

    private static String meta(HopeConfig c, String extra) {
        return "{\"preset\": \"" + c.preset() + "\", \"chunk\": " + c.chunk() + ", \"float64\": " + c.float64()
                + extra + "}\n";
    }

    @Test
    void exportNumerics() throws IOException {
        Path root = exportDir().resolve("numerics");
        byte[] text = text(exportDir());
        byte[] r0 = Arrays.copyOfRange(text, 1000, 1200);
        byte[] r1 = Arrays.copyOfRange(text, 1200, 1400);
        for (String preset : List.of("tiny", "small")) {
            for (int b : new int[] {16, 1}) {
                for (boolean f64 : new boolean[] {true, false}) {
                    for (boolean randomM0 : new boolean[] {false, true}) {
                        HopeConfig c = HopeConfig.preset(preset).withChunk(b).withFloat64(f64);
                        String name = preset + "_b" + b + (f64 ? "_f64" : "_f32") + (randomM0 ? "_m0rand" : "_m0zero");
                        long t0 = System.nanoTime();
                        exportCase(root.resolve(name), c, weights(c, 11, randomM0), r0, r1);
                        System.out.printf("exported %s in %.1f s%n", name, (System.nanoTime() - t0) / 1e9);
                    }
                }
            }
        }
    }

    private static void exportCase(Path dir, HopeConfig c, Map<String, HostTensor> values, byte[] r0, byte[] r1)
            throws IOException {
        Files.createDirectories(dir);
        writeParams(dir, values);
        Files.write(dir.resolve("record0.bin"), r0);
        Files.write(dir.resolve("record1.bin"), r1);
        HopeModel model = new HopeModel(c);
        Arrays64 res = new Arrays64();
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Map<String, NDArray> p = HopeParameters.toEngine(values, m);
            FastState fresh = FastState.fresh(c);
            // logits of the first record (inputs START, r0[0..n-2]), no gradients
            int[] inputs = new int[r0.length];
            inputs[0] = fresh.lastInput();
            for (int i = 1; i < r0.length; i++) {
                inputs[i] = r0[i - 1] & 0xff;
            }
            boolean was = Autograd.setRecording(false);
            try {
                res.put("logits0", model.forward(m, p, new int[][] {inputs}, List.of(fresh)).logits());
            } finally {
                Autograd.setRecording(was);
            }
            p.values().forEach(a -> a.setRequiresGradient(true));
            was = Autograd.setRecording(true);
            HopeModel.RecordLoss l0;
            HopeModel.RecordLoss l1;
            try {
                l0 = model.recordLoss(m, p, r0, fresh);
                l1 = model.recordLoss(m, p, r1, l0.state());   // host state: a constant
                Autograd.backward(l0.lossNats().add(l1.lossNats()));
            } finally {
                Autograd.setRecording(was);
            }
            res.put("loss0", new long[0], new double[] {l0.lossNats().toType(DataType.FLOAT64, false).getDouble()});
            res.put("loss1", new long[0], new double[] {l1.lossNats().toType(DataType.FLOAT64, false).getDouble()});
            l0.state().tensors().forEach((k, v) -> res.put("state0." + k, v));
            l1.state().tensors().forEach((k, v) -> res.put("state1." + k, v));
            res.put("state0.last", new long[0], new double[] {l0.state().lastInput()});
            res.put("state1.last", new long[0], new double[] {l1.state().lastInput()});
            p.forEach((k, a) -> res.put("grad." + k, a.getGradient()));
        }
        res.write(dir, "java");
        Files.writeString(dir.resolve("meta.json"), meta(c, ", \"n0\": " + r0.length + ", \"n1\": " + r1.length));
    }

    @Test
    void exportLearning() throws IOException {
        Path root = exportDir().resolve("learning");
        byte[] text = text(exportDir());
        int records = Integer.getInteger("hope.export.records", 300);
        int keyRecords = 80;
        for (boolean f64 : new boolean[] {false, true}) {
            HopeConfig c = HopeConfig.preset("tiny").withFloat64(f64);
            String name = "tiny_b" + c.chunk() + (f64 ? "_f64" : "_f32");
            Path dir = root.resolve(name);
            Files.createDirectories(dir);
            Map<String, HostTensor> values = HopeParameters.initialize(c, 21);
            writeParams(dir, values);
            LearnerConfig lc = LearnerConfig.defaults().withWarmup(0).withWindow(16, 0);
            double[] bits = new double[records];
            long t0 = System.nanoTime();
            try (Learner l = Learner.withParameters(c, lc, values, new InMemoryFastStateStore(), Device.cpu())) {
                for (int i = 0; i < records; i++) {
                    byte[] r = Arrays.copyOfRange(text, i * 256, (i + 1) * 256);
                    LearnOutcome o = l.learn("doc" + i / keyRecords, r, i);
                    if (!o.accepted()) {
                        throw new IllegalStateException("record " + i + " rejected: " + o.reason());
                    }
                    bits[i] = o.bitsPerByte();
                    if ((i + 1) % 256 == 0) {
                        l.checkpoint();
                    }
                }
                Arrays64 res = new Arrays64();
                res.put("bits", new long[] {records}, bits);
                l.parameters().forEach((k, v) -> res.put("final." + k, v));
                res.put("steps", new long[] {3}, Arrays.stream(l.levelSteps()).asDoubleStream().toArray());
                res.write(dir, "java");
            }
            double sec = (System.nanoTime() - t0) / 1e9;
            Files.writeString(dir.resolve("meta.json"), meta(c, ", \"records\": " + records + ", \"record_len\": 256"
                    + ", \"key_records\": " + keyRecords + ", \"seconds\": " + sec));
            System.out.printf("learning %s: %d records in %.1f s%n", name, records, sec);
        }
    }
}

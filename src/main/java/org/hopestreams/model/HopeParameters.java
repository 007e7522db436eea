package org.hopestreams.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/**
 * The named parameters of a HOPE model, in a fixed order, with their initial values.
 *
 * <p>Names follow the reference implementation ({@code emb}, {@code blocks.0.wq},
 * {@code blocks.0.cms.1.w1}, …) so that weights can be exchanged with it. Initial values come from
 * a seeded Java generator, so the same seed gives the same model on every engine and device.
 */
public final class HopeParameters {
    private HopeParameters() {
    }

    /** Shapes of every parameter of {@code c}, in order. */
    public static Map<String, long[]> shapes(HopeConfig c) {
        Map<String, long[]> s = new LinkedHashMap<>();
        int d = c.d();
        int hd = c.heads() * c.dHead();
        s.put("emb", new long[] {HopeConfig.VOCAB + 1, d});
        for (int b = 0; b < c.blocks(); b++) {
            String p = "blocks." + b + ".";
            s.put(p + "norm1.g", new long[] {d});
            s.put(p + "conv_w", new long[] {d, c.convK()});
            if (c.memory()) {
                s.put(p + "wq", new long[] {hd, d});
                s.put(p + "wk", new long[] {hd, d});
                s.put(p + "wv", new long[] {hd, d});
                s.put(p + "wg", new long[] {3L * c.heads(), d});
                s.put(p + "bg", new long[] {3L * c.heads()});
                s.put(p + "M0", new long[] {c.heads(), c.dHead(), c.dHead()});
            }
            s.put(p + "wo", new long[] {d, hd});
            s.put(p + "norm2.g", new long[] {d});
            for (int l = 0; l < c.cmsLevels(); l++) {
                String q = p + "cms." + l + ".";
                s.put(q + "norm.g", new long[] {d});
                if (c.kanLevel(l)) {
                    int h = c.kanHidden();
                    int basis = c.kanGrid() + KanLayer.ORDER;
                    s.put(q + "base1", new long[] {h, d});
                    s.put(q + "spline1", new long[] {h, (long) d * basis});
                    s.put(q + "base2", new long[] {d, h});
                    s.put(q + "spline2", new long[] {d, (long) h * basis});
                } else {
                    s.put(q + "w1", new long[] {c.hidden(), d});
                    s.put(q + "w2", new long[] {d, c.hidden()});
                }
            }
        }
        s.put("norm_f.g", new long[] {d});
        return s;
    }

    /** Parameter names grouped by level, each group in parameter order. */
    public static Map<Level, List<String>> byLevel(HopeConfig c) {
        Map<Level, List<String>> m = new EnumMap<>(Level.class);
        for (Level l : Level.values()) {
            m.put(l, shapes(c).keySet().stream().filter(n -> Level.ofParameter(n) == l)
                    .collect(Collectors.toUnmodifiableList()));
        }
        return Collections.unmodifiableMap(m);
    }

    public static long count(HopeConfig c, Level level) {
        return shapes(c).entrySet().stream().filter(e -> level == null || Level.ofParameter(e.getKey()) == level)
                .mapToLong(e -> HostTensor.elements(e.getValue())).sum();
    }

    /** Fresh initial values (MODEL.md), deterministic in {@code seed}. */
    public static Map<String, HostTensor> initialize(HopeConfig c, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes(c).entrySet()) {
            out.put(e.getKey(), HostTensor.ofDoubles(c.type(), e.getValue(), initial(c, e.getKey(), e.getValue(), rnd)));
        }
        return out;
    }

    private static double[] initial(HopeConfig c, String name, long[] shape, SplittableRandom rnd) {
        double[] v = new double[Math.toIntExact(HostTensor.elements(shape))];
        String leaf = name.substring(name.lastIndexOf('.') + 1);
        int d = c.d();
        switch (leaf) {
            case "g" -> java.util.Arrays.fill(v, 1.0);
            case "M0" -> { }
            case "emb" -> gauss(v, rnd, 1 / Math.sqrt(d));
            case "conv_w" -> {
                gauss(v, rnd, 0.1);
                int k = c.convK();
                for (int i = 0; i < d; i++) {
                    v[i * k + k - 1] += 1.0;   // tap K-1 is the current position: near identity
                }
            }
            case "wq", "wk", "wv" -> gauss(v, rnd, 1 / Math.sqrt(d));
            case "wg" -> gauss(v, rnd, 0.01 / Math.sqrt(d));
            case "bg" -> {
                int h = c.heads();
                for (int i = 0; i < h; i++) {
                    v[i] = c.thetaBias();
                    v[h + i] = c.alphaBias();
                    v[2 * h + i] = c.etaBias();
                }
            }
            case "wo" -> gauss(v, rnd, 0.5 / Math.sqrt((double) c.heads() * c.dHead()));
            case "w1" -> gauss(v, rnd, 1 / Math.sqrt(d));
            case "w2" -> gauss(v, rnd, 0.5 / Math.sqrt(c.hidden()));
            // KAN levels: the base term starts as the MLP would; the splines start small (efficient-KAN's noise)
            case "base1" -> gauss(v, rnd, 1 / Math.sqrt(d));
            case "spline1" -> gauss(v, rnd, 0.1 / Math.sqrt(d));
            case "base2" -> gauss(v, rnd, 0.5 / Math.sqrt(c.kanHidden()));
            case "spline2" -> gauss(v, rnd, 0.05 / Math.sqrt(c.kanHidden()));
            default -> throw new IllegalStateException("no initialiser for parameter " + name);
        }
        return v;
    }

    private static void gauss(double[] v, SplittableRandom rnd, double std) {
        for (int i = 0; i < v.length; i++) {
            v[i] = std * gaussian(rnd);
        }
    }

    private static double gaussian(SplittableRandom rnd) {
        double u1 = 1.0 - rnd.nextDouble();
        double u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Engine copies of {@code values}, owned by {@code manager}. */
    public static Map<String, NDArray> toEngine(Map<String, HostTensor> values, NDManager manager) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, v.toNDArray(manager)));
        return out;
    }
}

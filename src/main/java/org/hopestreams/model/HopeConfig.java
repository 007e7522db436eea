package org.hopestreams.model;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The shape of a HOPE model (MODEL.md "HOPE-lite"): every size is a value here, and a checkpoint
 * stores all of them, so a model always runs with the configuration it was trained with.
 *
 * @param preset       name of the preset this configuration started from
 * @param d            model width
 * @param blocks       number of blocks
 * @param heads        memory heads per block
 * @param dHead        width of one head
 * @param cmsLevels    CMS levels per block (level 0 = HIGH, 1 = MID, 2 and above = LOW)
 * @param hiddenMult   CMS MLP hidden width as a multiple of d
 * @param convK        causal depthwise conv kernel
 * @param chunk        b, tokens per memory chunk (1 = the exact per-token recurrence)
 * @param thetaMax     bound of the memory learning rate θ = θmax·σ(·)
 * @param innerClip    norm clip of the memory residual (0 = off)
 * @param thetaBias    initial bias of the θ gate
 * @param alphaBias    initial bias of the retention gate α
 * @param etaBias      initial bias of the momentum gate η
 * @param memory       {@code true}: Titans memory on; {@code false}: the conv path alone (the
 *                     "memory off" baseline)
 * @param selfModifying k and v come from per-key fast linear memories (HOPE §8)
 * @param float64      parameters and state in double precision (gradient checks)
 * @param kan          which CMS levels are Kolmogorov–Arnold layer pairs instead of MLPs ({@link KanLayer}):
 *                     {@code none}, {@code low} (the LOW levels, l >= 2) or {@code all}
 * @param kanGrid      G, grid intervals of a KAN level's cubic B-splines on [−{@link KanLayer#RANGE}, {@link KanLayer#RANGE}]
 */
public record HopeConfig(String preset, int d, int blocks, int heads, int dHead, int cmsLevels, int hiddenMult,
                         int convK, int chunk, double thetaMax, double innerClip, double thetaBias, double alphaBias,
                         double etaBias, boolean memory, boolean selfModifying, boolean float64,
                         String kan, int kanGrid) {

    public static final int VOCAB = 256;
    /** Index of the learned START row of the embedding table: the input before a key's first byte. */
    public static final int START = 256;
    public static final String KAN_NONE = "none";
    public static final String KAN_LOW = "low";
    public static final String KAN_ALL = "all";
    /** efficient-KAN's default grid size. */
    public static final int DEFAULT_KAN_GRID = 5;

    public HopeConfig {
        require(d > 0, "d", d, "> 0");
        require(blocks > 0, "blocks", blocks, "> 0");
        require(heads > 0, "heads", heads, "> 0");
        require(dHead > 0, "dHead", dHead, "> 0");
        require(cmsLevels >= 1, "cmsLevels", cmsLevels, ">= 1");
        require(hiddenMult > 0, "hiddenMult", hiddenMult, "> 0");
        require(convK >= 1, "convK", convK, ">= 1");
        require(chunk >= 1, "chunk", chunk, ">= 1");
        require(thetaMax > 0, "thetaMax", thetaMax, "> 0");
        require(innerClip >= 0, "innerClip", innerClip, ">= 0");
        require(KAN_NONE.equals(kan) || KAN_LOW.equals(kan) || KAN_ALL.equals(kan), "kan", kan, "none, low or all");
        require(kanGrid >= 1, "kanGrid", kanGrid, ">= 1");
        require(heads * dHead == d, "heads*dHead", heads * dHead,
                "== d (" + d + "): the conv path is added to the memory read before Wo");
    }

    private static void require(boolean ok, String name, Object value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException("model config " + name + " = " + value + ", expected " + expected);
        }
    }

    /** A named preset: {@code tiny} (~38 k parameters), {@code small} (default, ~0.97 M), {@code base}. */
    public static HopeConfig preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny" -> new HopeConfig("tiny", 32, 1, 2, 16, 3, 4, 4, 16, 0.5, 10, 0, 4, -2, true, false, false, KAN_NONE, DEFAULT_KAN_GRID);
            case "small" -> new HopeConfig("small", 128, 2, 2, 64, 3, 4, 4, 16, 0.5, 10, 0, 4, -2, true, false, false, KAN_NONE, DEFAULT_KAN_GRID);
            case "base" -> new HopeConfig("base", 256, 4, 4, 64, 3, 4, 4, 16, 0.5, 10, 0, 4, -2, true, false, false, KAN_NONE, DEFAULT_KAN_GRID);
            default -> throw new IllegalArgumentException("unknown preset '" + name + "', expected tiny, small or base");
        };
    }

    public HopeConfig withChunk(int b) {
        return with("chunk", b);
    }

    public HopeConfig withInnerClip(double clip) {
        return with("innerClip", clip);
    }

    public HopeConfig withMemory(boolean on) {
        return with("memory", on);
    }

    public HopeConfig withSelfModifying(boolean on) {
        return with("selfModifying", on);
    }

    public HopeConfig withBlocks(int n) {
        return with("blocks", n);
    }

    /** The retention gate's initial bias bα (retention σ(bα) per byte where its input is 0). */
    public HopeConfig withAlphaBias(double bias) {
        return with("alphaBias", bias);
    }

    public HopeConfig withFloat64(boolean on) {
        return with("float64", on);
    }

    /** KAN layer pairs in the CMS levels {@code levels} (none, low, all), G = {@code grid}. */
    public HopeConfig withKan(String levels, int grid) {
        Map<String, String> m = toMap();
        m.put("kan", levels);
        m.put("kanGrid", Integer.toString(grid));
        return fromMap(m);
    }

    /** Whether CMS level {@code l} is a KAN layer pair rather than an MLP. */
    public boolean kanLevel(int l) {
        return KAN_ALL.equals(kan) || KAN_LOW.equals(kan) && Level.ofCmsLevel(l) == Level.LOW;
    }

    /**
     * The hidden width of a KAN level: its pair has 2·d·h·(G + 4) weights (per edge one base and G + 3
     * spline coefficients) against the MLP's 2·d·hidden, so h = round(hidden / (G + 4)) matches them as
     * closely as a whole width can.
     */
    public int kanHidden() {
        return Math.max(1, (int) Math.round((double) hidden() / (kanGrid + 4)));
    }

    /** A copy with one value changed, checked like any other configuration. */
    private HopeConfig with(String key, Object value) {
        Map<String, String> m = toMap();
        m.put(key, String.valueOf(value));
        return fromMap(m);
    }

    public int hidden() {
        return hiddenMult * d;
    }

    public HostTensor.Type type() {
        return float64 ? HostTensor.Type.FLOAT64 : HostTensor.Type.FLOAT32;
    }

    /** Every value as text, for checkpoints; {@link #fromMap} reads it back. */
    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("preset", preset);
        m.put("d", Integer.toString(d));
        m.put("blocks", Integer.toString(blocks));
        m.put("heads", Integer.toString(heads));
        m.put("dHead", Integer.toString(dHead));
        m.put("cmsLevels", Integer.toString(cmsLevels));
        m.put("hiddenMult", Integer.toString(hiddenMult));
        m.put("convK", Integer.toString(convK));
        m.put("chunk", Integer.toString(chunk));
        m.put("thetaMax", Double.toString(thetaMax));
        m.put("innerClip", Double.toString(innerClip));
        m.put("thetaBias", Double.toString(thetaBias));
        m.put("alphaBias", Double.toString(alphaBias));
        m.put("etaBias", Double.toString(etaBias));
        m.put("memory", Boolean.toString(memory));
        m.put("selfModifying", Boolean.toString(selfModifying));
        m.put("float64", Boolean.toString(float64));
        if (!KAN_NONE.equals(kan)) {   // absent in configurations written before KAN levels existed
            m.put("kan", kan);
            m.put("kanGrid", Integer.toString(kanGrid));
        }
        return m;
    }

    public static HopeConfig fromMap(Map<String, String> m) {
        return new HopeConfig(get(m, "preset"), integer(m, "d"), integer(m, "blocks"), integer(m, "heads"),
                integer(m, "dHead"), integer(m, "cmsLevels"), integer(m, "hiddenMult"), integer(m, "convK"),
                integer(m, "chunk"), real(m, "thetaMax"), real(m, "innerClip"), real(m, "thetaBias"),
                real(m, "alphaBias"), real(m, "etaBias"), Boolean.parseBoolean(get(m, "memory")),
                Boolean.parseBoolean(get(m, "selfModifying")), Boolean.parseBoolean(get(m, "float64")),
                m.getOrDefault("kan", KAN_NONE), Integer.parseInt(m.getOrDefault("kanGrid", Integer.toString(DEFAULT_KAN_GRID))));
    }

    private static String get(Map<String, String> m, String k) {
        String v = m.get(k);
        if (v == null) {
            throw new IllegalArgumentException("model config lacks '" + k + "'");
        }
        return v;
    }

    private static int integer(Map<String, String> m, String k) {
        return Integer.parseInt(get(m, k));
    }

    private static double real(Map<String, String> m, String k) {
        return Double.parseDouble(get(m, k));
    }
}

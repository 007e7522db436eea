package org.hopestreams.eval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report helpers: a headless PNG, Markdown tables, running means, number formats. */
class EvalReportTest {
    @Test
    void writesAPngHeadless(@TempDir Path dir) throws Exception {
        Map<String, double[][]> lines = new LinkedHashMap<>();
        lines.put("a", new double[][] {{0, 1, 2}, {3.0, 2.5, Double.NaN}});
        lines.put("b", new double[][] {{0, 1, 2}, {3.1, 3.0, 2.9}});
        Path png = dir.resolve("x.png");
        EvalReport.linePlot(png, "t", "x", "y", lines);
        byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(png), 4);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, head);
    }

    @Test
    void tablesAndNumbers() {
        assertEquals("| a | b |\n|---|---|\n| 1 | 2 |\n", EvalReport.table(List.of("a", "b"), List.of(List.of("1", "2"))));
        assertArrayEquals(new double[] {1, 1.5, 2.5}, EvalReport.smooth(new double[] {1, 2, 3}, 2), 1e-12);
        assertEquals("n/a", EvalReport.f("%.2f", Double.NaN));
        assertEquals("∞", EvalReport.f("%.2f", Double.POSITIVE_INFINITY));
        assertTrue(EvalReport.f("%.2f", 1.234).equals("1.23"));
    }
}

package org.hopestreams.eval;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** PNG line plots (JFreeChart, headless) and small Markdown helpers for the evaluation report. */
public final class EvalReport {
    private EvalReport() {
    }

    /** One line per name: x values and y values. */
    public static void linePlot(Path file, String title, String xLabel, String yLabel,
                                Map<String, double[][]> lines) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYSeriesCollection data = new XYSeriesCollection();
        for (Map.Entry<String, double[][]> e : lines.entrySet()) {
            XYSeries s = new XYSeries(e.getKey(), false, true);
            double[] x = e.getValue()[0];
            double[] y = e.getValue()[1];
            for (int i = 0; i < x.length; i++) {
                if (Double.isFinite(y[i])) {
                    s.add(x[i], y[i]);
                }
            }
            data.addSeries(s);
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, yLabel, data, PlotOrientation.VERTICAL,
                true, false, false);
        org.jfree.chart.plot.XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(java.awt.Color.WHITE);
        plot.setDomainGridlinePaint(java.awt.Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(java.awt.Color.LIGHT_GRAY);
        ((org.jfree.chart.axis.NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        org.jfree.chart.renderer.xy.XYLineAndShapeRenderer r = new org.jfree.chart.renderer.xy.XYLineAndShapeRenderer(true,
                lines.values().stream().allMatch(v -> v[0].length <= 12));
        for (int i = 0; i < data.getSeriesCount(); i++) {
            r.setSeriesStroke(i, new java.awt.BasicStroke(2f));
        }
        plot.setRenderer(r);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, 900, 540);
    }

    /** A trailing running mean over {@code w} values (fewer at the start). */
    public static double[] smooth(double[] xs, int w) {
        double[] out = new double[xs.length];
        double sum = 0;
        for (int i = 0; i < xs.length; i++) {
            sum += xs[i];
            if (i >= w) {
                sum -= xs[i - w];
            }
            out[i] = sum / Math.min(i + 1, w);
        }
        return out;
    }

    /** A Markdown table. */
    public static String table(List<String> header, List<List<String>> rows) {
        StringBuilder b = new StringBuilder();
        b.append("| ").append(String.join(" | ", header)).append(" |\n|");
        header.forEach(h -> b.append("---|"));
        b.append('\n');
        for (List<String> r : rows) {
            b.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        return b.toString();
    }

    public static String f(String fmt, double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "∞" : "-∞";
        }
        return String.format(Locale.ROOT, fmt, v);
    }

    public static <K, V> Map<K, V> ordered() {
        return new LinkedHashMap<>();
    }
}

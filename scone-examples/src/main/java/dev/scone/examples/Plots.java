package dev.scone.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** PNG line charts (headless) for the examples' results. */
final class Plots {

    /** One line: a name and its (x, y) points. */
    record Series(String name, double[] x, double[] y) {
        Series {
            if (x.length != y.length) {
                throw new IllegalArgumentException("series " + name + ": " + x.length + " x values, " + y.length
                        + " y values");
            }
        }
    }

    private Plots() {}

    /**
     * Writes a line chart as PNG.
     *
     * @param png the file to write (its folder is created)
     * @param title chart title
     * @param xTitle x axis title
     * @param yTitle y axis title
     * @param series the lines; each needs at least one point
     * @throws IOException when writing fails
     */
    static void lineChart(Path png, String title, String xTitle, String yTitle, List<Series> series)
            throws IOException {
        if (series.isEmpty()) {
            throw new IllegalArgumentException("nothing to plot");
        }
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        chart.getStyler().setLegendVisible(true);
        chart.getStyler().setMarkerSize(6);
        chart.getStyler().setXAxisDecimalPattern("#,###");
        for (Series s : series) {
            if (s.x().length == 0) {
                throw new IllegalArgumentException("series " + s.name() + " has no points");
            }
            XYSeries line = chart.addSeries(s.name(), s.x(), s.y());
            line.setMarker(SeriesMarkers.CIRCLE);
        }
        Path abs = png.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        String name = abs.getFileName().toString();
        String base = name.endsWith(".png") ? name.substring(0, name.length() - 4) : name;
        BitmapEncoder.saveBitmap(chart, abs.getParent().resolve(base).toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** @return the series named in {@code data}, in its order */
    static List<Series> of(Map<String, double[][]> data) {
        return data.entrySet().stream().map(e -> new Series(e.getKey(), e.getValue()[0], e.getValue()[1])).toList();
    }
}

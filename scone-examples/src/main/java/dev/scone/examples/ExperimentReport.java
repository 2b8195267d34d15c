package dev.scone.examples;

import dev.scone.fgram.io.AtomicFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Writes the experiment's {@code RESULTS.md} (one table per group: mean and min-max over seeds)
 * and one PNG per sweep, from the finished arms only: figures are never typed in.
 */
final class ExperimentReport {

    private ExperimentReport() {}

    /**
     * @param work the work folder (RESULTS.md and the plots go there)
     * @param groups the groups to report
     * @param results finished arms by key
     * @param seeds seeds per arm (1..N)
     * @param log where to say what was written
     * @throws IOException when writing fails
     */
    static void write(Path work, List<ExperimentArm.Group> groups, Map<String, ExperimentResult> results, int seeds,
            PrintStream log) throws IOException {
        StringBuilder md = new StringBuilder("# SCONE experiment results\n\n");
        md.append(String.format(Locale.ROOT, "Written from %d finished arms of `results.jsonl`; seeds 1..%d; each cell"
                + " is the mean over the finished seeds with [min to max] when there are several.%n%n", results.size(),
                seeds));
        md.append("Columns: held-out perplexity on the fixed evaluation windows (the same for every arm of a corpus and"
                + " split), on positions with / without an f-gram match; gap = arm minus the group's reference"
                + " baseline, same seed; training wall seconds and training tokens/s (validation excluded); parameters"
                + " needed at inference (SCONE: A_fgram excluded, its outputs live in the store); equal wall time ="
                + " the arm's validation perplexity interpolated at the wall time the reference baseline of the same"
                + " seed took, next to that baseline's final validation perplexity (n/a outside the arm's curve).\n\n");
        List<Path> plots = new ArrayList<>();
        for (ExperimentArm.Group g : groups) {
            md.append("## ").append(g.name()).append(": ").append(g.title()).append("\n\n");
            ExperimentArm.Entry ref = g.reference();
            md.append(String.format(Locale.ROOT, "Main model E=%d, %d layers, %d heads, FFN %d, T=%d, B=%d; %,d training"
                    + " tokens per arm; reference baseline: %s.%n%n", ref.arm().embedding(), ref.arm().layers(),
                    ref.arm().heads(), ref.arm().ffn(), ref.arm().context(), ref.arm().batch(), ref.arm().tokens(),
                    ref.label()));
            boolean transfer = g.entries().stream().flatMap(e -> pairs(e, ref, results, seeds).stream())
                    .anyMatch(p -> p[0].transfer() != null);
            md.append("| arm | seeds | perplexity | matched | unmatched | matched share | gap vs reference |"
                    + (transfer ? " transfer set: perplexity | matched | unmatched | gap vs reference |" : "")
                    + " f-grams | train wall s | tokens/s | inference params | equal wall time: arm vs reference |\n");
            md.append("|---|---|---|---|---|---|---|" + (transfer ? "---|---|---|---|" : "")
                    + "---|---|---|---|---|\n");
            for (ExperimentArm.Entry e : g.entries()) {
                List<ExperimentResult[]> pairs = pairs(e, ref, results, seeds);
                List<ExperimentResult> rs = pairs.stream().map(p -> p[0]).toList();
                md.append("| ").append(e.label()).append(e.reference() ? " (reference)" : "").append(" | ")
                        .append(rs.size()).append(" | ");
                if (rs.isEmpty()) {
                    md.append("not run | | | | | | | | | |").append(transfer ? " | | | |" : "").append('\n');
                    continue;
                }
                md.append(stat(rs, ExperimentResult::perplexity, "%.2f")).append(" | ")
                        .append(stat(rs, ExperimentResult::matchedPerplexity, "%.2f")).append(" | ")
                        .append(stat(rs, ExperimentResult::unmatchedPerplexity, "%.2f")).append(" | ")
                        .append(stat(rs, r -> 100 * r.matchedFraction(), "%.1f%%")).append(" | ");
                List<ExperimentResult[]> withRef = pairs.stream().filter(p -> p[1] != null).toList();
                md.append(e.reference() ? "-" : withRef.isEmpty() ? "n/a"
                        : statOf(withRef.stream().mapToDouble(p -> p[0].perplexity() - p[1].perplexity()).toArray(),
                                "%+.2f")).append(" | ");
                if (transfer) {
                    List<ExperimentResult> tr = rs.stream().filter(r -> r.transfer() != null).toList();
                    List<ExperimentResult[]> tPairs = withRef.stream()
                            .filter(p -> p[0].transfer() != null && p[1].transfer() != null).toList();
                    md.append(tr.isEmpty() ? "- | - | - | " : stat(tr, r -> r.transfer().perplexity(), "%.2f") + " | "
                            + stat(tr, r -> r.transfer().matchedPerplexity(), "%.2f") + " | "
                            + stat(tr, r -> r.transfer().unmatchedPerplexity(), "%.2f") + " | ");
                    md.append(e.reference() ? "-" : tPairs.isEmpty() ? "n/a" : statOf(tPairs.stream().mapToDouble(
                            p -> p[0].transfer().perplexity() - p[1].transfer().perplexity()).toArray(), "%+.2f"))
                            .append(" | ");
                }
                md.append(e.arm().scone() ? stat(rs, r -> r.fgrams(), "%,.0f") : "-").append(" | ")
                        .append(stat(rs, ExperimentResult::trainWallSeconds, "%.0f")).append(" | ")
                        .append(stat(rs, ExperimentResult::tokensPerSecond, "%,.0f")).append(" | ")
                        .append(stat(rs, r -> r.inferenceParameters(), "%,.0f")).append(" | ");
                if (e.reference() || withRef.isEmpty()) {
                    md.append("-");
                } else {
                    double[] at = withRef.stream().mapToDouble(p -> p[0].perplexityAtWall(p[1].finalWall())).toArray();
                    double[] refPpl = withRef.stream().mapToDouble(p -> p[1].finalValidationPerplexity()).toArray();
                    boolean all = Arrays.stream(at).allMatch(Double::isFinite);
                    md.append(all ? statOf(at, "%.2f") + " vs " + statOf(refPpl, "%.2f")
                            : "n/a (" + Arrays.stream(at).filter(Double::isFinite).count() + " of "
                                    + at.length + " seeds inside the curve)");
                }
                md.append(" |\n");
            }
            md.append('\n');
            if (g.xTitle() != null) {
                Path png = plot(work, g, results, seeds);
                if (png != null) {
                    plots.add(png);
                    md.append("![").append(g.name()).append("](").append(png.getFileName()).append(")\n\n");
                }
            }
        }
        Path file = work.resolve("RESULTS.md");
        Files.createDirectories(work);
        byte[] bytes = md.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, tmp -> Files.write(tmp, bytes));
        log.printf("wrote %s%s%n", file, plots.isEmpty() ? "" : " and " + plots);
    }

    /** @return {arm result, reference result of the same seed or null} for each finished seed */
    private static List<ExperimentResult[]> pairs(ExperimentArm.Entry e, ExperimentArm.Entry ref,
            Map<String, ExperimentResult> results, int seeds) {
        List<ExperimentResult[]> out = new ArrayList<>();
        for (long s = 1; s <= seeds; s++) {
            ExperimentResult r = results.get(e.arm().withSeed(s).key());
            if (r != null) {
                out.add(new ExperimentResult[] {r, results.get(ref.arm().withSeed(s).key())});
            }
        }
        return out;
    }

    private static String stat(List<ExperimentResult> rs, ToDoubleFunction<ExperimentResult> f, String fmt) {
        return statOf(rs.stream().mapToDouble(f).toArray(), fmt);
    }

    /** @return "mean" or "mean [min-max]" */
    static String statOf(double[] v, String fmt) {
        double sum = 0;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double x : v) {
            sum += x;
            min = Math.min(min, x);
            max = Math.max(max, x);
        }
        String mean = String.format(Locale.ROOT, fmt, sum / v.length);
        return v.length < 2 ? mean : mean + " [" + String.format(Locale.ROOT, fmt, min) + " to "
                + String.format(Locale.ROOT, fmt, max) + "]";
    }

    /** Perplexity of the SCONE arms against the sweep's x, the reference baseline as a band. */
    private static Path plot(Path work, ExperimentArm.Group g, Map<String, ExperimentResult> results, int seeds)
            throws IOException {
        ExperimentArm.Entry ref = g.reference();
        List<double[]> points = new ArrayList<>();
        for (ExperimentArm.Entry e : g.entries()) {
            if (!e.arm().scone() || Double.isNaN(e.x())) {
                continue;
            }
            List<ExperimentResult> rs = pairs(e, ref, results, seeds).stream().map(p -> p[0]).toList();
            if (rs.isEmpty()) {
                continue;
            }
            double x = e.x();
            if (g.name().equals("vsize")) {
                x = rs.get(0).fgrams(); // the S that was really kept
            } else if (g.name().equals("docs-size")) {
                x = rs.get(0).countTokens();
            }
            points.add(new double[] {x, rs.stream().mapToDouble(ExperimentResult::perplexity).average().orElseThrow()});
        }
        if (points.isEmpty()) {
            return null;
        }
        points.sort((a, b) -> Double.compare(a[0], b[0]));
        double[] xs = points.stream().mapToDouble(p -> p[0]).toArray();
        double[] ys = points.stream().mapToDouble(p -> p[1]).toArray();
        List<Plots.Series> series = new ArrayList<>();
        series.add(new Plots.Series("SCONE (mean over seeds)", xs, ys));
        double[] base = pairs(ref, ref, results, seeds).stream().mapToDouble(p -> p[0].perplexity()).toArray();
        if (base.length > 0) {
            double lo = Arrays.stream(base).min().orElseThrow();
            double hi = Arrays.stream(base).max().orElseThrow();
            double mean = Arrays.stream(base).average().orElseThrow();
            double x0 = xs[0];
            double x1 = xs[xs.length - 1] == x0 ? x0 + 1 : xs[xs.length - 1];
            series.add(new Plots.Series(ref.label() + " mean", new double[] {x0, x1}, new double[] {mean, mean}));
            if (base.length > 1) {
                series.add(new Plots.Series(ref.label() + " min", new double[] {x0, x1}, new double[] {lo, lo}));
                series.add(new Plots.Series(ref.label() + " max", new double[] {x0, x1}, new double[] {hi, hi}));
            }
        }
        Path png = work.resolve("plot-" + g.name() + ".png");
        Plots.lineChart(png, g.title(), g.xTitle(), "held-out perplexity", series);
        return png;
    }
}

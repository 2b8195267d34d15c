package dev.scone.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.testing.TestData;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The experiment runs end to end on a tiny slice, resumes, reports, and rejects bad options. */
class ExperimentCommandTest {

    private static ExperimentCommand command(Path work, Path docs, String... extra) {
        List<String> args = new ArrayList<>(List.of("--data", TestData.dataDir().toString(), "--docs",
                docs.toString(), "--work", work.toString(), "--max-documents", "8", "--held-out", "2",
                "--docs-held-out", "0.25", "--count-divisor", "2", "--compact", "400", "--max-n", "3",
                "--min-count", "2", "--top-s", "600", "--seeds", "1", "--tokens", "2048", "--context", "32",
                "--batch", "8", "--embedding", "32", "--ffn", "64", "--eval-every", "2", "--eval-windows", "4",
                "--warmup", "2", "--final-windows", "16"));
        args.addAll(List.of(extra));
        ExperimentCommand c = new ExperimentCommand();
        new CommandLine(c).parseArgs(args.toArray(String[]::new));
        return c;
    }

    /** A small stand-in for the documentation corpus: pieces of addresses, one per file. */
    private static Path fakeDocs(Path tmp) throws Exception {
        Path docs = Files.createDirectories(tmp.resolve("docs"));
        List<Path> sotu;
        try (var s = Files.list(TestData.sotuDir())) {
            sotu = s.filter(p -> p.toString().endsWith(".txt")).sorted().limit(4).toList();
        }
        int n = 0;
        for (Path p : sotu) {
            String text = Files.readString(p, StandardCharsets.UTF_8);
            for (int part = 0; part < 2; part++) {
                int from = part * text.length() / 2;
                String piece = text.substring(from, Math.min(text.length(), from + 6000));
                Files.writeString(docs.resolve(String.format("doc%02d.txt", n++)), piece, StandardCharsets.UTF_8);
            }
        }
        return docs;
    }

    private static ExperimentCommand.Outcome run(ExperimentCommand c, StringBuilder printed) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ExperimentCommand.Outcome o;
        try (PrintStream log = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            o = c.run(log);
        }
        printed.append(bytes.toString(StandardCharsets.UTF_8));
        return o;
    }

    @Test
    void runsEndToEndResumesAndReports(@TempDir Path tmp) throws Exception {
        Path docs = fakeDocs(tmp);
        Path work = tmp.resolve("work");
        StringBuilder printed = new StringBuilder();

        ExperimentCommand.Outcome first = run(command(work, docs, "--only", "main,docs-size"), printed);
        Set<String> expected = new TreeSet<>();
        for (ExperimentArm a : first.arms()) {
            expected.add(a.key());
        }
        // main: baseline + SCONE on SOTU; docs-size: baseline + SCONE counted on all / on half the documents.
        assertEquals(5, expected.size(), expected.toString());
        assertEquals(5, first.trained());
        assertTrue(expected.stream().anyMatch(k -> k.startsWith("sotu/chrono/baseline/")), expected.toString());
        assertTrue(expected.stream().anyMatch(k -> k.startsWith("docs/random/scone/") && k.contains("-q2/")),
                expected.toString());

        List<String> lines = Files.readAllLines(first.results());
        assertEquals(5, lines.size());
        Set<String> keys = new TreeSet<>();
        for (String line : lines) {
            ExperimentResult r = ExperimentResult.fromJson(line);
            keys.add(r.arm().key());
            assertTrue(Double.isFinite(r.perplexity()) && r.perplexity() > 1 && r.perplexity() < 402,
                    r.arm().key() + " perplexity " + r.perplexity());
            assertTrue(Double.isFinite(r.matchedPerplexity()) && Double.isFinite(r.unmatchedPerplexity()), line);
            assertEquals(4, r.historyTokens().length, "8 steps validated every 2: " + line);
            assertTrue(r.historyWall()[0] > 0 && r.historyWall()[3] >= r.historyWall()[0], line);
            assertTrue(r.tokensPerSecond() > 0 && r.trainWallSeconds() > 0 && r.inferenceParameters() > 0, line);
            assertTrue(r.fgrams() > 0 && r.fgrams() <= 600 && r.countTokens() > 0, line);
        }
        assertEquals(expected, keys);
        ExperimentResult quarter = lines.stream().map(ExperimentResult::fromJson)
                .filter(r -> r.arm().countDivisor() == 2).findFirst().orElseThrow();
        ExperimentResult full = lines.stream().map(ExperimentResult::fromJson)
                .filter(r -> r.arm().corpus().equals("docs") && r.arm().scone() && r.arm().countDivisor() == 1)
                .findFirst().orElseThrow();
        assertTrue(quarter.countTokens() < full.countTokens(), "counted on fewer documents");
        ExperimentResult base = lines.stream().map(ExperimentResult::fromJson)
                .filter(r -> r.arm().corpus().equals("sotu") && !r.arm().scone()).findFirst().orElseThrow();
        ExperimentResult scone = lines.stream().map(ExperimentResult::fromJson)
                .filter(r -> r.arm().corpus().equals("sotu") && r.arm().scone()).findFirst().orElseThrow();
        assertEquals(base.inferenceParameters(), scone.inferenceParameters(), "same main model at inference");
        assertTrue(scone.trainedParameters() > scone.inferenceParameters(), "A_fgram is trained too");
        assertEquals(base.evalTokens(), scone.evalTokens(), "the same held-out windows");

        String md = Files.readString(work.resolve("RESULTS.md"));
        assertTrue(md.contains("## main:") && md.contains("## docs-size:"), md);
        assertTrue(md.contains(String.format(java.util.Locale.ROOT, "%.2f", base.perplexity())), md);
        assertTrue(md.contains("| baseline (2 layers) (reference) | 1 |"), md);
        assertTrue(md.lines().filter(l -> l.startsWith("| SCONE")).count() >= 3, md);
        BufferedImage png = ImageIO.read(work.resolve("plot-docs-size.png").toFile());
        assertNotNull(png, "plot-docs-size.png is not an image");
        assertTrue(png.getWidth() > 100 && png.getHeight() > 100);
        assertTrue(printed.toString().contains("[5/5] done"), printed.toString());

        // A rerun trains nothing; a lost line (an arm killed before it was recorded) is run again.
        ExperimentCommand.Outcome second = run(command(work, docs, "--only", "main,docs-size"), printed);
        assertEquals(0, second.trained());
        assertEquals(5, second.skipped());
        assertEquals(5, Files.readAllLines(first.results()).size());

        String last = lines.get(4);
        List<String> kept = new ArrayList<>(lines.subList(0, 4));
        Files.write(first.results(), (String.join("\n", kept) + "\n" + last.substring(0, last.length() / 2))
                .getBytes(StandardCharsets.UTF_8)); // a torn last line
        ExperimentCommand.Outcome third = run(command(work, docs, "--only", "main,docs-size"), printed);
        assertEquals(1, third.trained());
        assertTrue(printed.toString().contains("ignoring line 5"), printed.toString());
        Set<String> after = ExperimentCommand.readResults(first.results(), new PrintStream(
                new ByteArrayOutputStream())).keySet().stream().collect(Collectors.toCollection(TreeSet::new));
        assertEquals(expected, after);

        // --report-only and --dry-run train nothing.
        Files.delete(work.resolve("RESULTS.md"));
        ExperimentCommand.Outcome report = run(command(work, docs, "--only", "main,docs-size", "--report-only"),
                printed);
        assertEquals(0, report.trained());
        assertTrue(Files.readString(work.resolve("RESULTS.md")).contains("## docs-size:"));
        StringBuilder dry = new StringBuilder();
        run(command(work, docs, "--dry-run"), dry);
        assertTrue(dry.toString().contains("5 to run") == false && dry.toString().contains("arms (1 seeds)"),
                dry.toString());
        assertTrue(dry.toString().contains("done sotu/chrono/baseline/"), dry.toString());
    }

    @Test
    void dryRunCountsSharedArmsOnce(@TempDir Path tmp) throws Exception {
        ExperimentCommand c = new ExperimentCommand();
        new CommandLine(c).parseArgs("--work", tmp.toString(), "--seeds", "3", "--dry-run");
        List<ExperimentArm> arms = c.arms(c.groups());
        // main 2, vsize +2, asize +1, smaller +1, ksweep +3, random 2, docs 2, docs-size +1, junction +6 (its
        // baseline and layer-norm SCONE arm are random's), junction-docs +6 (docs'), capacity +0 (the main and
        // smaller groups' baselines), demo 2 = 28 settings.
        assertEquals(28 * 3, arms.size());
        assertEquals(arms.size(), arms.stream().map(ExperimentArm::key).distinct().count());
        StringBuilder out = new StringBuilder();
        run(c, out);
        assertTrue(out.toString().contains("84 arms (3 seeds), 84 to run"), out.toString());
    }

    @Test
    void badOptionsGiveAClearError(@TempDir Path tmp) {
        ExperimentCommand zero = new ExperimentCommand();
        new CommandLine(zero).parseArgs("--work", tmp.toString(), "--seeds", "0");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, zero::groups);
        assertTrue(e.getMessage().contains("--seeds must be >= 1, got 0"), e.getMessage());

        ExperimentCommand unknown = new ExperimentCommand();
        new CommandLine(unknown).parseArgs("--work", tmp.toString(), "--only", "main,vsise");
        e = assertThrows(IllegalArgumentException.class, unknown::groups);
        assertTrue(e.getMessage().contains("unknown group 'vsise'") && e.getMessage().contains("ksweep"),
                e.getMessage());

        assertEquals(2, SconeCli.runExample(new String[] {"experiment", "--work", tmp.toString(), "--only", "nope",
            "--dry-run"}));
        assertEquals(2, SconeCli.runExample(new String[] {"experiment", "--work", tmp.toString(), "--seeds", "0",
            "--dry-run"}));
    }

    @Test
    void resultLineRoundTrips() {
        ExperimentArm arm = new ExperimentArm("sotu", "chrono", "scone", 128, 2, 2, 512, 128, 16, 8191, 5, 5, 50_000,
                1, 1, 512, 524_288, 3, false, "layernorm", "replace");
        ExperimentResult r = new ExperimentResult(arm, 210.5, 230.25, 190.125, 0.61, 141_980, 123.4, 3616.5,
                2_510_336, 2_709_504, 50_000, 1_932_299, new long[] {65_536, 131_072, 196_608},
                new double[] {10.5, 21.0, Double.NaN}, new double[] {600.0, 400.5, 300.25}, null);
        String line = r.toJson();
        assertTrue(!line.contains("\n") && line.startsWith("{\"key\":\"sotu/chrono/scone/"), line);
        ExperimentResult back = ExperimentResult.fromJson(line);
        assertEquals(arm, back.arm());
        assertEquals(line, back.toJson());
        assertEquals(230.25, back.matchedPerplexity());
        assertTrue(Double.isNaN(back.historyWall()[2]), "NaN survives as null");
        assertEquals(2_709_504, back.trainedParameters());

        // The junction: the legacy one adds nothing to the key (lines written before it existed lack the
        // fields and read back as it); any other one is part of the key; a baseline never carries one.
        assertTrue(!arm.key().contains("/J"), arm.key());
        String legacyLine = line.replace(",\"inputNorm\":false,\"fgramOutput\":\"layernorm\",\"combine\":\"replace\"", "");
        assertTrue(!legacyLine.contains("inputNorm"), legacyLine);
        assertEquals(arm, ExperimentResult.fromJson(legacyLine).arm());
        ExperimentArm junction = arm.withJunction(true, "scaled", "add");
        assertTrue(junction.key().endsWith("/tok524288/Jnorm-scaled-add/seed3"), junction.key());
        assertEquals(junction, ExperimentResult.fromJson(new ExperimentResult(junction, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1,
                1, new long[0], new double[0], new double[0], null).toJson()).arm());
        ExperimentResult withTransfer = new ExperimentResult(junction, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, new long[0],
                new double[0], new double[0], new ExperimentResult.Transfer(301.5, 320.25, 280.0, 0.55, 12_345));
        assertEquals(withTransfer.transfer(), ExperimentResult.fromJson(withTransfer.toJson()).transfer());
        ExperimentArm base = new ExperimentArm("sotu", "chrono", "baseline", 128, 2, 2, 512, 128, 16, 8191, 5, 5,
                50_000, 1, 0, 0, 524_288, 3, false, "scaled", "add");
        assertTrue(!base.key().contains("/J"), "a baseline has no f-gram junction: " + base.key());
        assertTrue(base.withJunction(true, "none", "add").key().endsWith("/Jnorm-layernorm-replace/seed3"));

        // Interpolation on the validation curve, and n/a outside it.
        ExperimentResult curve = new ExperimentResult(arm, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1,
                new long[] {1, 2, 3}, new double[] {10, 20, 30}, new double[] {600, 400, 300}, null);
        assertEquals(500, curve.perplexityAtWall(15), 1e-9);
        assertEquals(300, curve.perplexityAtWall(30), 1e-9);
        assertTrue(Double.isNaN(curve.perplexityAtWall(31)) && Double.isNaN(curve.perplexityAtWall(5)));

        assertThrows(IllegalArgumentException.class, () -> ExperimentResult.fromJson(line.replace("\"seed\":3",
                "\"seed\":4")), "a key that does not match its fields");
        assertThrows(IllegalArgumentException.class, () -> ExperimentResult.fromJson(line.substring(0, 40)));
    }
}

package dev.scone.examples;

import dev.scone.core.FgramCombine;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.data.CorpusSplit;
import dev.scone.core.train.HistoryPoint;
import dev.scone.core.train.PerplexityResult;
import dev.scone.core.train.TrainerConfig;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.Temporaries;
import dev.scone.fgram.nn.FgramOutput;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The experiment behind the results table: baseline vs SCONE over several seeds and groups of
 * arms (main comparison, f-gram vocabulary size, A_fgram size, a larger baseline, K, a random
 * split, and a second corpus at two counting sizes). Each finished arm is appended to
 * {@code results.jsonl} in the work folder, so an interrupted run resumes where it stopped;
 * {@code RESULTS.md} and one plot per sweep are written from that file.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = "Run the baseline-vs-SCONE experiment (groups of arms x seeds), resumable; writes results.jsonl,"
                + " RESULTS.md and plots.")
public final class ExperimentCommand implements Callable<Integer> {

    /** The groups, in the order they run and are reported. */
    static final List<String> GROUPS = List.of("main", "vsize", "asize", "smaller", "ksweep", "random", "docs",
            "docs-size", "junction", "junction-docs", "capacity", "demo");

    @Mixin
    ModelSizeOptions size = new ModelSizeOptions();

    @Mixin
    SharedOptions.DataFolder data = new SharedOptions.DataFolder();

    @Option(names = "--docs", description = "Folder of the second corpus (default: <data>/docs from scripts/fetch-docs-corpus.sh).")
    Path docs;

    @Option(names = "--work", description = "Work folder: caches, models, results (default: ${DEFAULT-VALUE}).")
    Path work = Path.of("out", "experiment");

    @Option(names = "--only", split = ",", description = "Run only these groups (of: main, vsize, asize, smaller, ksweep,"
            + " random, docs, docs-size, junction, junction-docs, capacity, demo; default: all).")
    List<String> only;

    @Option(names = "--corpus", description = "Corpus of the groups main, vsize, asize, smaller, ksweep and capacity:"
            + " sotu or docs (default: ${DEFAULT-VALUE}).")
    String corpus = "sotu";

    @Option(names = "--split", description = "Split of those groups: chrono (the most recent documents held out) or"
            + " random (seeded, by document) (default: ${DEFAULT-VALUE}).")
    String split = "chrono";

    @Option(names = "--capacity-layers", split = ",", description = "Main model layers of the capacity group's baselines"
            + " (default: <--layers>, 2 x <--layers>).")
    List<Integer> capacityLayers;

    @Option(names = "--seeds", description = "Seeds per arm, 1..N (default: ${DEFAULT-VALUE}).")
    int seeds = 3;

    @Option(names = "--tokens", description = "Training tokens per arm (default: ${DEFAULT-VALUE}).")
    long tokens = 524_288;

    @Option(names = "--dry-run", description = "Print the arms and an estimated time; train nothing.")
    boolean dryRun;

    @Option(names = "--report-only", description = "Write RESULTS.md and the plots from results.jsonl; train nothing.")
    boolean reportOnly;

    @Mixin
    SharedOptions.CorpusSelection selection = new SharedOptions.CorpusSelection(8191);

    @Option(names = "--held-out", description = "SOTU addresses held out: the most recent (chrono) or as many at random (default: ${DEFAULT-VALUE}).")
    int heldOut = 20;

    @Option(names = "--docs-held-out", description = "Share of the docs corpus's documents held out at random (default: ${DEFAULT-VALUE}).")
    double docsHeldOut = 0.05;

    @Option(names = "--split-seed", description = "Seed of the random splits (default: ${DEFAULT-VALUE}).")
    long splitSeed = 2025;

    /** K and S of the main comparison, the threshold of every arm. */
    @Mixin
    SharedOptions.Counting counting = new SharedOptions.Counting();

    @Option(names = "--vsizes", split = ",", description = "S values of the vsize group (default: 5000,20000,<--top-s>).")
    List<Integer> vsizes;

    @Option(names = "--ks", split = ",", description = "K values of the ksweep group (default: ${DEFAULT-VALUE}).")
    List<Integer> ks = List.of(2, 3, 4, 5);

    @Option(names = "--larger-layers", description = "Main model layers of the smaller group's larger baseline (default: main + 2).")
    Integer largerLayers;

    @Option(names = "--larger-embedding", description = "E of the smaller group's larger baseline (default: the main model's;"
            + " given alone, the larger baseline is wider, not deeper).")
    Integer largerEmbedding;

    @Option(names = "--larger-ffn", description = "Feed-forward width of the smaller group's larger baseline (default: the"
            + " main model's, times the E ratio).")
    Integer largerFfn;

    @Option(names = "--count-divisor", description = "docs-size counts the vocabulary on every N-th training document (default: ${DEFAULT-VALUE}).")
    int countDivisor = 4;

    @Mixin
    SharedOptions.Schedule schedule = new SharedOptions.Schedule(1e-3f, 100, 32, 64);

    @Option(names = "--final-windows", description = "Held-out windows of the final evaluation: the first N of the"
            + " held-out split, the same for every arm of a corpus and split (0 = all; default: ${DEFAULT-VALUE}).")
    long finalWindows = 2048;

    @Override
    public Integer call() throws Exception {
        run(System.out);
        return 0;
    }

    /** What one invocation did. */
    record Outcome(List<ExperimentArm> arms, int trained, int skipped, Path results, Path report) {}

    /**
     * Runs the experiment with this command's options.
     *
     * @param log where progress goes
     * @return what was done
     * @throws Exception when a step fails
     */
    Outcome run(PrintStream log) throws Exception {
        List<ExperimentArm.Group> groups = groups();
        List<ExperimentArm> arms = arms(groups);
        Path results = work.resolve("results.jsonl");
        Map<String, ExperimentResult> done = readResults(results, log);
        if (dryRun) {
            printPlan(arms, done, log);
            return new Outcome(arms, 0, 0, results, null);
        }
        Path report = work.resolve("RESULTS.md");
        if (reportOnly) {
            ExperimentReport.write(work, groups, done, seeds, log);
            return new Outcome(arms, 0, 0, results, report);
        }
        Path dataDir = data.resolve();
        Path tokenizerJson = dataDir.resolve("gpt2").resolve("tokenizer.json");
        requireInputs(arms, dataDir, tokenizerJson);
        Files.createDirectories(work);

        List<ExperimentArm> todo = arms.stream().filter(a -> !done.containsKey(a.key())).toList();
        log.printf(Locale.ROOT, "experiment: %d arms, %d finished before, %d to run; results in %s%n", arms.size(),
                arms.size() - todo.size(), todo.size(), results);
        long t0 = System.nanoTime();
        int trained = 0;
        for (ExperimentArm arm : todo) {
            log.printf(Locale.ROOT, "[%d/%d] start %s%n", trained + 1, todo.size(), arm.key());
            ExperimentResult r = runArm(arm, dataDir, tokenizerJson, log);
            append(results, r.toJson());
            done.put(arm.key(), r);
            trained++;
            double elapsed = (System.nanoTime() - t0) / 1e9;
            double eta = elapsed / trained * (todo.size() - trained);
            log.printf(Locale.ROOT, "[%d/%d] done  %s: perplexity %.2f (matched %.2f, unmatched %.2f), %.0f s, %.0f"
                    + " tokens/s; ETA for the rest %s%n", trained, todo.size(), arm.key(), r.perplexity(),
                    r.matchedPerplexity(), r.unmatchedPerplexity(), r.trainWallSeconds(), r.tokensPerSecond(),
                    duration(eta));
        }
        ExperimentReport.write(work, groups, done, seeds, log);
        return new Outcome(arms, trained, arms.size() - todo.size(), results, report);
    }

    /** @return the selected groups, checked */
    List<ExperimentArm.Group> groups() {
        if (seeds < 1) {
            throw new IllegalArgumentException("--seeds must be >= 1, got " + seeds);
        }
        if (tokens < 1) {
            throw new IllegalArgumentException("--tokens must be >= 1, got " + tokens);
        }
        if (heldOut < 1) {
            throw new IllegalArgumentException("--held-out must be >= 1, got " + heldOut);
        }
        if (!(docsHeldOut > 0 && docsHeldOut < 1)) {
            throw new IllegalArgumentException("--docs-held-out must be in (0, 1), got " + docsHeldOut);
        }
        if (countDivisor < 2) {
            throw new IllegalArgumentException("--count-divisor must be >= 2, got " + countDivisor);
        }
        List<String> selected = only == null || only.isEmpty() ? GROUPS : only;
        for (String g : selected) {
            if (!GROUPS.contains(g)) {
                throw new IllegalArgumentException("unknown group '" + g + "' in --only; the groups are "
                        + String.join(", ", GROUPS));
            }
        }
        if (!corpus.equals("sotu") && !corpus.equals("docs")) {
            throw new IllegalArgumentException("--corpus must be sotu or docs, got '" + corpus + "'");
        }
        if (!split.equals("chrono") && !split.equals("random") && !split.equals("rc")) {
            throw new IllegalArgumentException("--split must be chrono, random or rc, got '" + split + "'");
        }
        counting.check();
        int maxN = counting.maxN;
        int topS = counting.topS;
        String where = (corpus.equals("sotu") ? "SOTU" : "Debian docs") + ", " + splitName(split);
        List<Integer> sizes = vsizes != null ? vsizes : List.of(5_000, 20_000, topS);
        int bigEmbedding = largerEmbedding != null ? largerEmbedding : size.embedding;
        int bigLayers = largerLayers != null ? largerLayers : largerEmbedding != null ? size.layers : size.layers + 2;
        int bigFfn = largerFfn != null ? largerFfn : (int) ((long) size.ffn * bigEmbedding / size.embedding);
        if (bigEmbedding < 1 || bigLayers < 1 || bigFfn < 1 || bigEmbedding % size.heads != 0) {
            throw new IllegalArgumentException("the larger baseline needs E, layers and FFN >= 1 and E divisible by the "
                    + size.heads + " heads, got E=" + bigEmbedding + ", " + bigLayers + " layers, FFN " + bigFfn);
        }
        ExperimentArm base = arm(corpus, split, "baseline", size.layers, maxN, topS, 1, 0, 0);
        ExperimentArm scone = arm(corpus, split, "scone", size.layers, maxN, topS, 1, size.fgramLayers, size.ffn);
        String sconeLabel = sconeLabel(maxN, topS, size.fgramLayers, size.ffn);
        String baseLabel = "baseline (" + size.layers + " layers)";
        List<ExperimentArm.Group> out = new ArrayList<>();
        for (String g : GROUPS) {
            if (!selected.contains(g)) {
                continue;
            }
            List<ExperimentArm.Entry> e = new ArrayList<>();
            switch (g) {
                case "main" -> {
                    e.add(new ExperimentArm.Entry(baseLabel, base, true, Double.NaN));
                    e.add(new ExperimentArm.Entry(sconeLabel, scone, false, Double.NaN));
                    out.add(new ExperimentArm.Group(g, "Main comparison: " + where, e, null));
                }
                case "vsize" -> {
                    e.add(new ExperimentArm.Entry(baseLabel, base, true, Double.NaN));
                    for (int s : sizes) {
                        e.add(new ExperimentArm.Entry(sconeLabel(maxN, s, size.fgramLayers, size.ffn),
                                arm(corpus, split, "scone", size.layers, maxN, s, 1, size.fgramLayers, size.ffn),
                                false, s));
                    }
                    out.add(new ExperimentArm.Group(g, "|V_fgram| (S) sweep: " + where, e, "S"));
                }
                case "asize" -> {
                    e.add(new ExperimentArm.Entry(baseLabel, base, true, Double.NaN));
                    e.add(new ExperimentArm.Entry(sconeLabel, scone, false, size.fgramLayers));
                    int l2 = size.fgramLayers * 2;
                    int f2 = size.ffn * 2;
                    e.add(new ExperimentArm.Entry(sconeLabel(maxN, topS, l2, f2),
                            arm(corpus, split, "scone", size.layers, maxN, topS, 1, l2, f2), false, l2));
                    out.add(new ExperimentArm.Group(g, "A_fgram size: " + where, e,
                            "A_fgram layers (the larger one also twice as wide)"));
                }
                case "smaller" -> {
                    String bigLabel = bigEmbedding == size.embedding && bigFfn == size.ffn
                            ? "baseline (" + bigLayers + " layers)"
                            : "baseline (E=" + bigEmbedding + ", " + bigLayers + " layers, FFN " + bigFfn + ")";
                    e.add(new ExperimentArm.Entry(bigLabel, arm(corpus, split, "baseline", bigEmbedding, bigLayers,
                            bigFfn, maxN, topS, 1, 0, 0), true, Double.NaN));
                    e.add(new ExperimentArm.Entry(baseLabel, base, false, Double.NaN));
                    e.add(new ExperimentArm.Entry(sconeLabel + ", " + size.layers + " layers", scone, false,
                            Double.NaN));
                    out.add(new ExperimentArm.Group(g, "A smaller model with SCONE vs a larger baseline: " + where
                            + " (gap vs the larger baseline)", e, null));
                }
                case "ksweep" -> {
                    e.add(new ExperimentArm.Entry(baseLabel, base, true, Double.NaN));
                    for (int k : ks) {
                        if (k < 2) {
                            throw new IllegalArgumentException("--ks values must be >= 2, got " + k);
                        }
                        e.add(new ExperimentArm.Entry(sconeLabel(k, topS, size.fgramLayers, size.ffn),
                                arm(corpus, split, "scone", size.layers, k, topS, 1, size.fgramLayers, size.ffn),
                                false, k));
                    }
                    out.add(new ExperimentArm.Group(g, "K sweep: " + where, e, "K"));
                }
                case "random" -> {
                    e.add(new ExperimentArm.Entry(baseLabel, arm("sotu", "random", "baseline", size.layers, maxN, topS,
                            1, 0, 0), true, Double.NaN));
                    e.add(new ExperimentArm.Entry(sconeLabel, arm("sotu", "random", "scone", size.layers, maxN, topS,
                            1, size.fgramLayers, size.ffn), false, Double.NaN));
                    out.add(new ExperimentArm.Group(g, "SOTU, random split by document (" + heldOut
                            + " addresses held out)", e, null));
                }
                case "docs", "docs-size" -> {
                    e.add(new ExperimentArm.Entry(baseLabel, arm("docs", "random", "baseline", size.layers, maxN, topS,
                            1, 0, 0), true, Double.NaN));
                    e.add(new ExperimentArm.Entry(sconeLabel + ", counted on all training documents",
                            arm("docs", "random", "scone", size.layers, maxN, topS, 1, size.fgramLayers, size.ffn),
                            false, 1));
                    if (g.equals("docs-size")) {
                        e.add(new ExperimentArm.Entry(sconeLabel + ", counted on 1/" + countDivisor
                                + " of the training documents", arm("docs", "random", "scone", size.layers, maxN,
                                topS, countDivisor, size.fgramLayers, size.ffn), false, 1.0 / countDivisor));
                    }
                    out.add(new ExperimentArm.Group(g, g.equals("docs")
                            ? "Debian documentation corpus (linux-doc + python-doc reST), random split by document"
                            : "Debian documentation corpus: f-gram vocabulary counted on a smaller corpus", e,
                            g.equals("docs") ? null : "tokens the f-grams were counted on"));
                }
                case "junction", "junction-docs" -> {
                    String corpus = g.equals("junction") ? "sotu" : "docs";
                    ExperimentArm b = arm(corpus, "random", "baseline", size.layers, maxN, topS, 1, 0, 0);
                    ExperimentArm s = arm(corpus, "random", "scone", size.layers, maxN, topS, 1, size.fgramLayers,
                            size.ffn);
                    e.add(new ExperimentArm.Entry("baseline", b.withJunction(false, "layernorm", "replace"), true,
                            Double.NaN));
                    e.add(new ExperimentArm.Entry("baseline, RMS-normalised input",
                            b.withJunction(true, "layernorm", "replace"), false, Double.NaN));
                    e.add(new ExperimentArm.Entry("SCONE, A_fgram output layer-normalised",
                            s.withJunction(false, "layernorm", "replace"), false, Double.NaN));
                    e.add(new ExperimentArm.Entry("SCONE, A_fgram without its final norm",
                            s.withJunction(false, "none", "replace"), false, Double.NaN));
                    e.add(new ExperimentArm.Entry("SCONE, layer norm x learned scalar gain (starts at 0.02)",
                            s.withJunction(false, "scaled", "replace"), false, Double.NaN));
                    e.add(new ExperimentArm.Entry("SCONE, layer norm, RMS-normalised input",
                            s.withJunction(true, "layernorm", "replace"), false, Double.NaN));
                    e.add(new ExperimentArm.Entry("SCONE, without the final norm, RMS-normalised input",
                            s.withJunction(true, "none", "replace"), false, Double.NaN));
                    e.add(new ExperimentArm.Entry("SCONE, scaled, added to T(token) (ablation)",
                            s.withJunction(false, "scaled", "add"), false, Double.NaN));
                    out.add(new ExperimentArm.Group(g, "The embedding junction: "
                            + (g.equals("junction") ? "SOTU" : "Debian documentation") + ", random split by document",
                            e, null));
                }
                case "capacity" -> {
                    List<Integer> layers = capacityLayers != null ? capacityLayers : List.of(size.layers, 2 * size.layers);
                    boolean first = true;
                    for (int l : layers) {
                        if (l < 1) {
                            throw new IllegalArgumentException("--capacity-layers values must be >= 1, got " + l);
                        }
                        e.add(new ExperimentArm.Entry("baseline, " + l + " layers",
                                arm(corpus, split, "baseline", l, maxN, topS, 1, 0, 0), first, l));
                        first = false;
                    }
                    out.add(new ExperimentArm.Group(g, "Does capacity bind? Baselines of several depths: " + where
                            + " (gap vs the first)", e, "main model layers"));
                }
                case "demo" -> {
                    // The demo's setting: SOTU, held-out addresses drawn at random among all but the most
                    // recent, which are a second (transfer) evaluation set.
                    e.add(new ExperimentArm.Entry(baseLabel, arm("sotu", "rc", "baseline", size.layers, maxN, topS, 1,
                            0, 0), true, Double.NaN));
                    e.add(new ExperimentArm.Entry(sconeLabel, arm("sotu", "rc", "scone", size.layers, maxN, topS, 1,
                            size.fgramLayers, size.ffn), false, Double.NaN));
                    out.add(new ExperimentArm.Group(g, "The demo's setting: SOTU, " + splitName("rc"), e, null));
                }
                default -> throw new IllegalStateException(g);
            }
        }
        return out;
    }

    private ExperimentArm arm(String corpus, String split, String model, int layers, int k, int s, int divisor,
            int fgramLayers, int fgramFfn) {
        return arm(corpus, split, model, size.embedding, layers, size.ffn, k, s, divisor, fgramLayers, fgramFfn);
    }

    private ExperimentArm arm(String corpus, String split, String model, int embedding, int layers, int ffn, int k,
            int s, int divisor, int fgramLayers, int fgramFfn) {
        return new ExperimentArm(corpus, split, model, embedding, layers, size.heads, ffn, size.context,
                size.batch, selection.compact, k, counting.minCount, s, divisor, fgramLayers, fgramFfn, tokens, 0,
                size.inputNorm, size.fgramOutput.id(), size.fgramCombine.id());
    }

    private String splitName(String s) {
        return switch (s) {
            case "chrono" -> "chronological split";
            case "random" -> "random split by document";
            default -> heldOut + " documents held out at random (seed " + splitSeed + ") among all but the " + heldOut
                    + " most recent, which are the transfer set";
        };
    }

    private static String sconeLabel(int k, int s, int fgramLayers, int fgramFfn) {
        return String.format(Locale.ROOT, "SCONE K=%d S=%,d A_fgram %dx%d", k, s, fgramLayers, fgramFfn);
    }

    /** @return every run of the groups, seeds 1..N, each key once, in group order */
    List<ExperimentArm> arms(List<ExperimentArm.Group> groups) {
        Map<String, ExperimentArm> m = new LinkedHashMap<>();
        for (ExperimentArm.Group g : groups) {
            for (long seed = 1; seed <= seeds; seed++) {
                for (ExperimentArm.Entry e : g.entries()) {
                    ExperimentArm a = e.arm().withSeed(seed);
                    m.putIfAbsent(a.key(), a);
                }
            }
        }
        return new ArrayList<>(m.values());
    }

    private void printPlan(List<ExperimentArm> arms, Map<String, ExperimentResult> done, PrintStream log) {
        // Throughput of earlier arms of the same kind when there are any, else the README's CPU figures.
        double[] tps = {5000, 3500};
        for (int k = 0; k < 2; k++) {
            boolean scone = k == 1;
            double mean = done.values().stream().filter(r -> r.arm().scone() == scone)
                    .mapToDouble(ExperimentResult::tokensPerSecond).average().orElse(Double.NaN);
            if (Double.isFinite(mean) && mean > 0) {
                tps[k] = mean;
            }
        }
        double seconds = 0;
        int todo = 0;
        for (ExperimentArm a : arms) {
            boolean finished = done.containsKey(a.key());
            log.printf(Locale.ROOT, "%s %s%n", finished ? "done" : "todo", a.key());
            if (!finished) {
                todo++;
                double layerScale = a.layers() / (double) size.layers;
                seconds += a.tokens() / tps[a.scone() ? 1 : 0] * layerScale * (a.scone()
                        ? 1 + 0.3 * (a.fgramLayers() / (double) size.fgramLayers - 1) : 1);
            }
        }
        log.printf(Locale.ROOT, "%d arms (%d seeds), %d to run; estimated training time %s at %.0f (baseline) /"
                + " %.0f (SCONE) tokens/s, plus tokenizing, counting and evaluating%n", arms.size(), seeds, todo,
                duration(seconds), tps[0], tps[1]);
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "n/a";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }

    private void requireInputs(List<ExperimentArm> arms, Path dataDir, Path tokenizerJson) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IllegalArgumentException(tokenizerJson + " is missing: run scripts/fetch-data.sh");
        }
        for (ExperimentArm a : arms) {
            Path folder = corpusFolder(a.corpus(), dataDir);
            if (!Files.isDirectory(folder)) {
                throw new IllegalArgumentException("corpus folder " + folder + " is missing: run "
                        + (a.corpus().equals("docs") ? "scripts/fetch-docs-corpus.sh" : "scripts/fetch-data.sh"));
            }
        }
    }

    private Path corpusFolder(String corpus, Path dataDir) {
        return corpus.equals("docs") ? (docs != null ? docs : dataDir.resolve("docs")) : dataDir.resolve("sotu");
    }

    /** Tokenizes a corpus with a split once per work folder; later arms read the cached files. */
    private TokenizeCommand.Outputs tokens(ExperimentArm a, Path dataDir, Path tokenizerJson, PrintStream log)
            throws Exception {
        String held = a.split().equals("chrono") ? "last" + heldOut
                : a.split().equals("rc") ? "rand" + heldOut + "-last" + heldOut + "-s" + splitSeed
                : a.corpus().equals("docs") ? "frac" + docsHeldOut + "-s" + splitSeed : "rand" + heldOut + "-s" + splitSeed;
        Path dir = work.resolve("cache").resolve(String.format(Locale.ROOT, "%s-%s-%s-c%d%s", a.corpus(), a.split(),
                held, a.compact(), selection.maxDocuments == Integer.MAX_VALUE ? "" : "-d" + selection.maxDocuments));
        Path marker = dir.resolve("complete");
        if (Files.exists(marker)) {
            return TokenizeCommand.Outputs.in(dir);
        }
        Temporaries.deleteTree(dir);
        Path folder = corpusFolder(a.corpus(), dataDir);
        if (a.split().equals("rc")) {
            TokenizeCommand.Outputs o = TokenizeCommand.runWithTransfer(folder, tokenizerJson, dir,
                    selection.maxDocuments, a.compact(), true, log, heldOut, heldOut, splitSeed);
            AtomicFiles.write(marker, tmp -> Files.writeString(tmp, "tokenized\n"));
            return o;
        }
        TokenizeCommand.HeldOutChoice choice;
        if (a.split().equals("chrono")) {
            choice = all -> {
                int n = all.documentCount();
                if (n <= heldOut) {
                    throw new IllegalArgumentException("only " + n + " documents in " + folder + ": cannot hold out "
                            + heldOut);
                }
                return IntStream.range(n - heldOut, n).toArray();
            };
        } else {
            choice = all -> {
                double fraction = a.corpus().equals("docs") ? docsHeldOut
                        : (heldOut + 0.25) / all.documentCount(); // rounds to exactly heldOut documents
                return CorpusSplit.randomDocuments(all, fraction, splitSeed).validation().baseDocuments();
            };
        }
        TokenizeCommand.Outputs o = TokenizeCommand.run(folder, tokenizerJson, dir, selection.maxDocuments, a.compact(),
                true, log,
                choice, staged -> { });
        AtomicFiles.write(marker, tmp -> Files.writeString(tmp, "tokenized\n"));
        return o;
    }

    /** Counts the arm's vocabulary once per work folder. */
    private Path fgrams(ExperimentArm a, TokenizeCommand.Outputs tok, PrintStream log) throws Exception {
        Path dir = tok.all().getParent();
        Path file = dir.resolve(String.format(Locale.ROOT, "fgrams-K%d-m%d-S%d-q%d.bin", a.maxN(), a.minCount(),
                a.topS(), a.countDivisor()));
        if (Files.exists(file)) {
            return file;
        }
        CountCommand.run(countingCorpus(a, tok), a.maxN(), a.minCount(), a.topS(), 2, 1L << 30, file, log);
        return file;
    }

    private static Path countingCorpus(ExperimentArm a, TokenizeCommand.Outputs tok) throws IOException {
        if (a.countDivisor() == 1) {
            return tok.train();
        }
        Path part = tok.train().resolveSibling("train-q" + a.countDivisor() + ".tok");
        if (!Files.exists(part)) {
            try (TokenIdFile train = TokenIdFile.open(tok.train())) {
                int[] docs = IntStream.range(0, train.documentCount()).filter(d -> d % a.countDivisor() == 0)
                        .toArray();
                Path tmp = part.resolveSibling(part.getFileName() + ".part");
                TokenIdFile.writeSubset(tmp, train, docs);
                Files.move(tmp, part, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        return part;
    }

    private ExperimentResult runArm(ExperimentArm a, Path dataDir, Path tokenizerJson, PrintStream console)
            throws Exception {
        Path logs = work.resolve("logs");
        Files.createDirectories(logs);
        try (OutputStream file = Files.newOutputStream(logs.resolve(a.fileName() + ".log"));
                PrintStream log = new PrintStream(file, true, StandardCharsets.UTF_8)) {
            TokenizeCommand.Outputs tok = tokens(a, dataDir, tokenizerJson, log);
            Path fgrams = fgrams(a, tok, log);
            long countTokens;
            try (TokenIdFile c = TokenIdFile.open(countingCorpus(a, tok))) {
                countTokens = c.tokenCount();
            }
            LanguageModelConfig arch = new LanguageModelConfig(1, a.context(), a.embedding(), a.layers(), a.heads(),
                    a.ffn(), false, 0f, null, a.inputNorm(), FgramCombine.of(a.combine()));
            long perStep = (long) a.batch() * a.context();
            int steps = (int) Math.max(1, (a.tokens() + perStep - 1) / perStep);
            TrainerConfig trainer = TrainerConfig.builder().setSeed(a.seed()).optBatchSize(a.batch())
                    .optContextLength(a.context()).optLearningRate(schedule.lr, schedule.lr / 10)
                    .optSteps(Math.min(schedule.warmup, steps), steps).optWeightDecay(0.1f).optClipNorm(1f)
                    .optEvaluation(Math.min(schedule.evalEvery, steps), schedule.evalWindows).build();
            Path dir = work.resolve("models").resolve(a.fileName());
            Temporaries.deleteTree(dir); // a run killed before its result was recorded starts again
            TrainCommand.Options o = new TrainCommand.Options(a.model(), tok.train(), tok.heldOut(), fgrams, arch,
                    Math.max(1, a.fgramLayers()), a.heads(), a.scone() ? a.fgramFfn() : a.ffn(),
                    FgramOutput.of(a.fgramOutput()), trainer, 0);
            long t0 = System.nanoTime();
            TrainCommand.Result tr = TrainCommand.run(o, dir, true, log);
            double wall = (System.nanoTime() - t0) / 1e9;
            List<HistoryPoint> h = tr.history();
            long[] ht = new long[h.size()];
            double[] hw = new double[h.size()];
            double[] hp = new double[h.size()];
            for (int i = 0; i < ht.length; i++) {
                ht[i] = h.get(i).tokensSeen();
                hw[i] = h.get(i).wallSeconds();
                hp[i] = h.get(i).validationPerplexity();
            }
            EvalCommand.Result ev = EvalCommand.run(dir, tok.heldOut(), null, false, a.batch(), finalWindows, log);
            ExperimentResult.Transfer transfer = null;
            if (a.split().equals("rc")) {
                PerplexityResult t = EvalCommand.run(dir, tok.transfer(), null, false, a.batch(), finalWindows, log)
                        .result();
                transfer = new ExperimentResult.Transfer(t.perplexity(), t.matchedPerplexity(),
                        t.unmatchedPerplexity(), t.matchedFraction(), t.tokens());
            }
            long[] params = TrainedModels.parameterCounts(dir);
            long fgramCount = FgramVocabularyFile.read(fgrams).size();
            Files.deleteIfExists(tr.outputs().checkpoint()); // final.ckpt has the same weights
            var p = ev.result();
            console.printf(Locale.ROOT, "      %s: %,d f-grams, %,d steps, held-out %,d positions (%.1f%% matched)%n",
                    a.model(), fgramCount, steps, p.tokens(), 100 * p.matchedFraction());
            return new ExperimentResult(a, p.perplexity(), p.matchedPerplexity(), p.unmatchedPerplexity(),
                    p.matchedFraction(), p.tokens(), wall, tr.tokensPerSecond(), params[0], params[1], fgramCount,
                    countTokens, ht, hw, hp, transfer);
        }
    }

    /**
     * Reads the finished arms.
     *
     * @param results the results file (missing: none)
     * @param log where a damaged line is reported
     * @return results by key (a later line for the same key wins)
     * @throws IOException when the file cannot be read
     */
    static Map<String, ExperimentResult> readResults(Path results, PrintStream log) throws IOException {
        Map<String, ExperimentResult> m = new LinkedHashMap<>();
        if (!Files.exists(results)) {
            return m;
        }
        List<String> lines = Files.readAllLines(results, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            try {
                ExperimentResult r = ExperimentResult.fromJson(line);
                m.put(r.arm().key(), r);
            } catch (IllegalArgumentException | ClassCastException e) {
                log.printf("experiment: ignoring line %d of %s (%s); its arm will run again%n", i + 1, results,
                        e.getMessage());
            }
        }
        return m;
    }

    /**
     * Appends one line with a single write and forces it to disk; a partial line left by a crash
     * is ended first so that it spoils only itself.
     */
    static void append(Path results, String line) throws IOException {
        Files.createDirectories(results.toAbsolutePath().getParent());
        String prefix = "";
        if (Files.exists(results) && Files.size(results) > 0) {
            try (FileChannel in = FileChannel.open(results, StandardOpenOption.READ)) {
                ByteBuffer last = ByteBuffer.allocate(1);
                in.read(last, in.size() - 1);
                if (last.get(0) != '\n') {
                    prefix = "\n";
                }
            }
        }
        try (FileChannel ch = FileChannel.open(results, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap((prefix + line + "\n").getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }
}

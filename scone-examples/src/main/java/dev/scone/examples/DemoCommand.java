package dev.scone.examples;

import dev.scone.core.LanguageModelConfig;
import dev.scone.core.generate.Sampling;
import dev.scone.core.train.HistoryPoint;
import dev.scone.core.train.TrainerConfig;
import dev.scone.fgram.count.CountingResult;
import dev.scone.store.VectorDtype;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The end-to-end demo on the default corpus: tokenize (holding out addresses drawn at random, and the
 * most recent ones as a transfer set), count f-grams on the training split, train a baseline and a
 * SCONE model with the same main model on the same tokens, precompute the SCONE model's f-gram store
 * and export both models for serving, evaluate both on the random held-out addresses (the primary
 * split) and on the most recent ones (SCONE served from its export and the store), plot validation
 * perplexity against training tokens, generate a sample from each, and print a table with the seed
 * spread the experiment measured for the same setting and a plain verdict.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the SCONE pipeline end to end on the State of the Union corpus: baseline vs SCONE.")
public final class DemoCommand implements Callable<Integer> {

    @Mixin
    ModelSizeOptions size = new ModelSizeOptions();

    /** Everything the demo measured; the table is printed from it. */
    public record Report(Path out, ModelReport baseline, ModelReport scone, long fgrams, long storeBytes,
            Path plot, double minutes, Spread spread, String verdict) {}

    /**
     * The SCONE-minus-baseline perplexity gap over the experiment's seeds for the demo's setting.
     *
     * @param seeds how many seeds the experiment holds for it (0: none measured)
     * @param primary gaps on the random held-out split, one per seed
     * @param transfer gaps on the transfer set, one per seed
     */
    public record Spread(int seeds, double[] primary, double[] transfer) {}

    /**
     * One model's figures.
     *
     * @param name "baseline" or "scone"
     * @param perplexity held-out perplexity on the random split (SCONE: through the store)
     * @param matchedPerplexity on positions with an f-gram match
     * @param unmatchedPerplexity on positions without
     * @param transfer the perplexity on the transfer set (the most recent addresses)
     * @param acceleratorParameters parameters the model needs at inference besides the store
     * @param trainingParameters parameters trained (SCONE: with A_fgram)
     * @param trainTokensPerSecond training throughput
     * @param generateTokensPerSecond generation throughput (SCONE: through the store)
     * @param history validation points during training
     * @param sample generated text
     */
    public record ModelReport(String name, double perplexity, double matchedPerplexity, double unmatchedPerplexity,
            dev.scone.core.train.PerplexityResult transfer, long acceleratorParameters, long trainingParameters, double trainTokensPerSecond,
            double generateTokensPerSecond, List<HistoryPoint> history, String sample) {}

    @Mixin
    SharedOptions.DataFolder data = new SharedOptions.DataFolder();

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("out", "demo");

    @Mixin
    SharedOptions.CorpusSelection selection = new SharedOptions.CorpusSelection(8191);

    @Option(names = "--held-out", description = "Addresses held out at random (the primary evaluation), drawn among all but"
            + " the most recent --transfer (default: ${DEFAULT-VALUE}).")
    int heldOut = 20;

    @Option(names = "--transfer", description = "Most recent addresses held out as a transfer set (default: ${DEFAULT-VALUE}).")
    int transfer = 20;

    @Option(names = "--split-seed", description = "Seed of the random held-out draw (default: ${DEFAULT-VALUE}).")
    long splitSeed = 2025;

    @Option(names = "--spread-from", description = "The experiment's results file with the seed spread of this setting"
            + " (default: ${DEFAULT-VALUE}).")
    Path spreadFrom = Path.of("docs", "experiment", "results.jsonl");

    @Mixin
    SharedOptions.Counting counting = new SharedOptions.Counting();

    @Option(names = "--tokens", description = "Training tokens per model (default: ${DEFAULT-VALUE}).")
    long tokens = 1L << 20;

    @Mixin
    SharedOptions.Schedule schedule = new SharedOptions.Schedule(1e-3f, 100, 64, 64);

    @Option(names = "--dtype", description = "Store vector type: FLOAT32, BFLOAT16 or INT8 (default: ${DEFAULT-VALUE}).")
    VectorDtype dtype = VectorDtype.FLOAT32;

    @Option(names = "--generate", description = "Tokens generated per sample (default: ${DEFAULT-VALUE}).")
    int generateTokens = 128;

    @Option(names = "--prompt", description = "Prompt of the samples (default: ${DEFAULT-VALUE}).")
    String prompt = "The state of the Union";

    /** Seed of both trainings and the sampling; the experiment's seeds are 1, 2, 3. */
    @Mixin
    SharedOptions.Seed seed = SharedOptions.Seed.forDemo();

    @Mixin
    SharedOptions.Quiet quiet = new SharedOptions.Quiet();

    @Mixin
    SharedOptions.DeviceOption device = new SharedOptions.DeviceOption();

    @Override
    public Integer call() throws Exception {
        Path dataDir = data.resolve();
        Path sotu = dataDir.resolve("sotu");
        Path tokenizerJson = dataDir.resolve("gpt2").resolve("tokenizer.json");
        if (!Files.isDirectory(sotu) || !Files.isRegularFile(tokenizerJson)) {
            throw new IllegalArgumentException(dataDir + " lacks sotu/ or gpt2/tokenizer.json: run scripts/fetch-data.sh");
        }
        run(sotu, tokenizerJson, System.out);
        return 0;
    }

    /**
     * Runs the demo with this command's options.
     *
     * @param corpus folder of .txt documents
     * @param tokenizerJson the tokenizer
     * @param log where progress and the table go
     * @return the figures
     * @throws Exception when a step fails
     */
    Report run(Path corpus, Path tokenizerJson, PrintStream log) throws Exception {
        counting.check();
        long t0 = System.nanoTime();
        int maxN = counting.maxN;
        int minCount = counting.minCount;
        int topS = counting.topS;
        int compact = selection.compact;
        long seed = this.seed.get();
        boolean quiet = this.quiet.quiet;
        ai.djl.Device on = device.device();
        float lr = schedule.lr;
        Files.createDirectories(out);
        log.println("== [1/7] tokenize " + corpus + ": " + heldOut + " addresses held out at random, the " + transfer
                + " most recent as a transfer set");
        TokenizeCommand.Outputs tok = TokenizeCommand.runWithTransfer(corpus, tokenizerJson, out.resolve("tokens"),
                selection.maxDocuments, compact, quiet, log, heldOut, transfer, splitSeed);

        log.println("== [2/7] count f-grams on the training split (Algorithm 3)");
        Path fgrams = out.resolve("fgrams.bin");
        CountingResult counted = CountCommand.run(tok.train(), maxN, minCount, topS, 2, 1L << 30, fgrams, log);

        LanguageModelConfig arch = new LanguageModelConfig(1, size.context, size.embedding, size.layers, size.heads,
                size.ffn, false, 0f, null, size.inputNorm, size.fgramCombine);
        long perStep = (long) size.batch * size.context;
        int steps = (int) Math.max(1, (tokens + perStep - 1) / perStep);
        TrainerConfig trainer = TrainerConfig.builder().setSeed(seed).optBatchSize(size.batch)
                .optContextLength(size.context)
                .optLearningRate(lr, lr / 10).optSteps(Math.min(schedule.warmup, steps), steps).optWeightDecay(0.1f)
                .optClipNorm(1f).optEvaluation(Math.min(schedule.evalEvery, steps), schedule.evalWindows).build();
        TrainCommand.Result[] trained = new TrainCommand.Result[2];
        String[] names = {"baseline", "scone"};
        for (int k = 0; k < 2; k++) {
            log.printf(Locale.ROOT, "== [%d/7] train the %s model: %,d steps of %d x %d tokens%n", 3 + k, names[k],
                    steps, size.batch, size.context);
            TrainCommand.Options o = new TrainCommand.Options(names[k], tok.train(), tok.heldOut(), fgrams, arch,
                    size.fgramLayers, size.heads, size.ffn, size.fgramOutput, trainer, steps, on);
            trained[k] = TrainCommand.run(o, out.resolve("models").resolve(names[k]), quiet, log);
        }
        Path sconeDir = trained[1].outputs().dir();
        Path baselineDir = trained[0].outputs().dir();

        log.println("== [5/7] precompute the SCONE model's f-gram vectors into the store; export both models for"
                + " serving (no A_fgram, no V_fgram)");
        Path store = out.resolve("store");
        PrecomputeCommand.Result pre = PrecomputeCommand.run(sconeDir, store, dtype, tok.compaction(), on, quiet, log);
        ExportCommand.run(baselineDir, tok.compaction(), null, log);
        ExportCommand.run(sconeDir, tok.compaction(), null, log);

        log.println("== [6/7] evaluate on the random held-out addresses and on the most recent ones (SCONE served from"
                + " its export and the store)");
        EvalCommand.Result evalBase = EvalCommand.run(baselineDir, tok.heldOut(), null, false, null, size.batch, 0, on,
                log);
        EvalCommand.Result evalScone = EvalCommand.run(sconeDir, tok.heldOut(), null, false, store, size.batch, 0, on,
                log);
        EvalCommand.Result transferBase = EvalCommand.run(baselineDir, tok.transfer(), null, false, null, size.batch, 0,
                on, log);
        EvalCommand.Result transferScone = EvalCommand.run(sconeDir, tok.transfer(), null, false, store, size.batch, 0,
                on, log);

        log.println("== [7/7] generate (top-k 40; SCONE through the store) and plot");
        Sampling sampling = Sampling.topK(40, 0.9f);
        GenerateCommand.Result genBase = GenerateCommand.run(baselineDir, null, tokenizerJson, tok.compaction(),
                List.of(prompt), List.of(), generateTokens, sampling, seed, true, 32, on);
        GenerateCommand.Result genScone = GenerateCommand.run(sconeDir, store, tokenizerJson, tok.compaction(),
                List.of(prompt), List.of(), generateTokens, sampling, seed, true, 32, on);
        Path plot = out.resolve("perplexity.png");
        Plots.lineChart(plot, "Held-out perplexity during training", "training tokens", "validation perplexity",
                List.of(series("baseline", trained[0].history()), series("SCONE", trained[1].history())));

        long[] params = parameterCounts(baselineDir, sconeDir);
        ModelReport base = new ModelReport("baseline", evalBase.result().perplexity(),
                evalBase.result().matchedPerplexity(), evalBase.result().unmatchedPerplexity(), transferBase.result(),
                params[0], params[0],
                trained[0].tokensPerSecond(), genBase.tokensPerSecond(), trained[0].history(), genBase.text());
        ModelReport scone = new ModelReport("scone", evalScone.result().perplexity(),
                evalScone.result().matchedPerplexity(), evalScone.result().unmatchedPerplexity(), transferScone.result(),
                params[1], params[2],
                trained[1].tokensPerSecond(), genScone.tokensPerSecond(), trained[1].history(), genScone.text());
        Spread spread = spread(steps * perStep, log);
        double gap = scone.perplexity() - base.perplexity();
        Report report = new Report(out, base, scone, pre.manifest().size(), pre.bytesOnDisk(), plot,
                (System.nanoTime() - t0) / 6e10, spread, verdict(gap, spread.primary()));
        print(report, counted, evalScone.result().matchedFraction(), transferScone.result().matchedFraction(), log);
        return report;
    }

    /** The experiment's arms of this setting (seeds 1..N), read from the results file when it has them. */
    private Spread spread(long trainingTokens, PrintStream log) {
        java.util.Map<String, ExperimentResult> results;
        try {
            results = ExperimentCommand.readResults(spreadFrom, new PrintStream(java.io.OutputStream.nullOutputStream()));
        } catch (java.io.IOException e) {
            log.println("demo: cannot read " + spreadFrom + " (" + e.getMessage() + "): no seed spread");
            return new Spread(0, new double[0], new double[0]);
        }
        ExperimentArm base = new ExperimentArm("sotu", "rc", "baseline", size.embedding, size.layers, size.heads,
                size.ffn, size.context, size.batch, selection.compact, counting.maxN, counting.minCount, counting.topS, 1, 0, 0, trainingTokens, 0,
                size.inputNorm, size.fgramOutput.id(), size.fgramCombine.id());
        ExperimentArm sc = new ExperimentArm("sotu", "rc", "scone", size.embedding, size.layers, size.heads, size.ffn,
                size.context, size.batch, selection.compact, counting.maxN, counting.minCount, counting.topS, 1, size.fgramLayers, size.ffn, trainingTokens, 0,
                size.inputNorm, size.fgramOutput.id(), size.fgramCombine.id());
        List<Double> primary = new java.util.ArrayList<>();
        List<Double> moved = new java.util.ArrayList<>();
        for (long s = 1; s <= 100; s++) {
            ExperimentResult b = results.get(base.withSeed(s).key());
            ExperimentResult c = results.get(sc.withSeed(s).key());
            if (b != null && c != null && b.transfer() != null && c.transfer() != null) {
                primary.add(c.perplexity() - b.perplexity());
                moved.add(c.transfer().perplexity() - b.transfer().perplexity());
            }
        }
        return new Spread(primary.size(), primary.stream().mapToDouble(Double::doubleValue).toArray(),
                moved.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** Ahead or behind only when every seed of the experiment agrees with this run; level otherwise. */
    static String verdict(double gap, double[] seedGaps) {
        if (seedGaps.length < 2) {
            return (gap < 0 ? "SCONE is ahead in this run" : gap > 0 ? "SCONE is behind in this run" : "level")
                    + " (one seed: no spread measured for this setting, so no verdict)";
        }
        double min = java.util.Arrays.stream(seedGaps).min().orElseThrow();
        double max = java.util.Arrays.stream(seedGaps).max().orElseThrow();
        if (max < 0 && gap < 0) {
            return "SCONE is ahead: better in every seed";
        }
        if (min > 0 && gap > 0) {
            return "SCONE is behind: worse in every seed";
        }
        return "SCONE is level with the baseline: the gap changes sign across seeds";
    }

    private static String spreadCell(double[] gaps) {
        return gaps.length < 2 ? "" : " " + ExperimentReport.statOf(gaps, "%+.2f") + " |";
    }

    private static Plots.Series series(String name, List<HistoryPoint> history) {
        double[] x = new double[history.size()];
        double[] y = new double[history.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = history.get(i).tokensSeen();
            y[i] = history.get(i).validationPerplexity();
        }
        return new Plots.Series(name, x, y);
    }

    /** @return {baseline parameters, SCONE parameters without A_fgram, SCONE parameters in all} */
    private static long[] parameterCounts(Path baselineDir, Path sconeDir) throws Exception {
        long[] base = TrainedModels.parameterCounts(baselineDir);
        long[] scone = TrainedModels.parameterCounts(sconeDir);
        return new long[] {base[0], scone[0], scone[1]};
    }

    private void print(Report r, CountingResult counted, double matchedFraction, double transferMatched,
            PrintStream log) {
        ModelReport b = r.baseline();
        ModelReport s = r.scone();
        Spread sp = r.spread();
        log.println();
        log.printf(Locale.ROOT, "SCONE demo: %d-layer d=%d main model, same for both; %,d training tokens each; K = %d,"
                + " S = %,d f-grams (lowest count %d); A_fgram %d layer(s); seed %d%n", size.layers, size.embedding,
                b.history().isEmpty() ? tokens : b.history().get(b.history().size() - 1).tokensSeen(), counting.maxN,
                counted.vocabulary().size(),
                counted.vocabulary().size() == 0 ? 0 : counted.vocabulary().count(counted.vocabulary().size() - 1),
                size.fgramLayers, seed.get());
        log.printf(Locale.ROOT, "held out: %d addresses at random (seed %d), %.1f%% of their positions with an f-gram"
                + " match; transfer set: the %d most recent addresses, %.1f%% matched%n", heldOut, splitSeed,
                100 * matchedFraction, transfer, 100 * transferMatched);
        String spreadCol = sp.seeds() < 2 ? "" : " SCONE - baseline over the experiment's " + sp.seeds() + " seeds |";
        log.println("| | baseline | SCONE | SCONE - baseline |" + spreadCol);
        log.println("|---|---|---|---|" + (spreadCol.isEmpty() ? "" : "---|"));
        log.printf(Locale.ROOT, "| held-out perplexity, random addresses | %.2f | %.2f (through the store) | %+.2f |%s%n",
                b.perplexity(), s.perplexity(), s.perplexity() - b.perplexity(), spreadCell(sp.primary()));
        log.printf(Locale.ROOT, "| ... on matched positions | %.2f | %.2f | %+.2f |%s%n", b.matchedPerplexity(),
                s.matchedPerplexity(), s.matchedPerplexity() - b.matchedPerplexity(), spreadCol.isEmpty() ? "" : " |");
        log.printf(Locale.ROOT, "| ... on unmatched positions | %.2f | %.2f | %+.2f |%s%n", b.unmatchedPerplexity(),
                s.unmatchedPerplexity(), s.unmatchedPerplexity() - b.unmatchedPerplexity(),
                spreadCol.isEmpty() ? "" : " |");
        log.printf(Locale.ROOT, "| transfer: perplexity on the most recent addresses | %.2f | %.2f | %+.2f |%s%n",
                b.transfer().perplexity(), s.transfer().perplexity(),
                s.transfer().perplexity() - b.transfer().perplexity(), spreadCell(sp.transfer()));
        log.printf(Locale.ROOT, "| ... on matched positions | %.2f | %.2f | %+.2f |%s%n",
                b.transfer().matchedPerplexity(), s.transfer().matchedPerplexity(),
                s.transfer().matchedPerplexity() - b.transfer().matchedPerplexity(), spreadCol.isEmpty() ? "" : " |");
        log.printf(Locale.ROOT, "| ... on unmatched positions | %.2f | %.2f | %+.2f |%s%n",
                b.transfer().unmatchedPerplexity(), s.transfer().unmatchedPerplexity(),
                s.transfer().unmatchedPerplexity() - b.transfer().unmatchedPerplexity(),
                spreadCol.isEmpty() ? "" : " |");
        log.printf(Locale.ROOT, "| parameters at inference (accelerator memory) | %,d | %,d |%n",
                b.acceleratorParameters(), s.acceleratorParameters());
        log.printf(Locale.ROOT, "| parameters trained | %,d | %,d (with A_fgram) |%n", b.trainingParameters(),
                s.trainingParameters());
        log.printf(Locale.ROOT, "| f-gram vectors in the store (off-accelerator) | - | %,d x %d = %,d floats |%n",
                r.fgrams(), size.embedding, r.fgrams() * size.embedding);
        log.printf(Locale.ROOT, "| store size on disk | - | %,d bytes (%s) |%n", r.storeBytes(), dtype);
        log.printf(Locale.ROOT, "| training tokens/s | %.0f | %.0f (%.2fx) |%n", b.trainTokensPerSecond(),
                s.trainTokensPerSecond(), s.trainTokensPerSecond() / b.trainTokensPerSecond());
        log.printf(Locale.ROOT, "| generation tokens/s | %.1f | %.1f (%.2fx, through the store) |%n",
                b.generateTokensPerSecond(), s.generateTokensPerSecond(),
                s.generateTokensPerSecond() / b.generateTokensPerSecond());
        log.println();
        log.println("Verdict on the random held-out addresses: " + r.verdict() + (sp.seeds() < 2 ? ""
                : String.format(Locale.ROOT, " (this run %+.2f; over the experiment's seeds %s, from %s)",
                        s.perplexity() - b.perplexity(), spreadCell(sp.primary()).replace(" |", "").strip(), spreadFrom)));
        log.println();
        log.println("baseline: " + prompt + b.sample());
        log.println("SCONE:    " + prompt + s.sample());
        log.println();
        log.printf(Locale.ROOT, "plot: %s; outputs in %s; %.1f minutes%n", r.plot(), r.out(), r.minutes());
    }
}

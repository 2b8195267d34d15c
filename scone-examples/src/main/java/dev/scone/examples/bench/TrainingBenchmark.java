package dev.scone.examples.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.scone.core.FgramCombine;
import dev.scone.core.LanguageModel;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.SconeEmbeddingBlock;
import dev.scone.core.data.WindowBatch;
import dev.scone.core.data.WindowDataset;
import dev.scone.core.train.LanguageModelTrainer;
import dev.scone.core.train.TrainerConfig;
import dev.scone.examples.CountCommand;
import dev.scone.examples.ModelSizeOptions;
import dev.scone.examples.SharedOptions;
import dev.scone.examples.Steps;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.count.CountingConfig;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.nn.FgramPrefixTree;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Training throughput of a baseline and a SCONE model with the same main model on the real corpus:
 * tokenize (GPT-2, compacted), count f-grams on the training split, then for each model a warm-up
 * and a fixed number of timed steps; prints tokens/s and SCONE's ratio to the baseline.
 */
@Command(name = "training-benchmark", mixinStandardHelpOptions = true,
        description = "Training tokens/s of a baseline and a SCONE model at the demo size.")
public final class TrainingBenchmark implements Callable<Integer> {

    @Mixin
    ModelSizeOptions size = new ModelSizeOptions();

    @Mixin
    SharedOptions.DataFolder data = new SharedOptions.DataFolder();

    @Option(names = "--work", description = "Folder for the token and vocabulary files; reused when present (default: ${DEFAULT-VALUE}).")
    Path work = Path.of("out", "bench-training");

    @Option(names = "--max-documents", description = "Use only the last N addresses (default: all).")
    int maxDocuments = Integer.MAX_VALUE;

    @Option(names = "--held-out", description = "Addresses held out (default: ${DEFAULT-VALUE}).")
    int heldOut = 20;

    @Option(names = "--compact", description = "Token ids kept besides the unknown id (default: ${DEFAULT-VALUE}).")
    int compact = 8191;

    @Option(names = "--max-n", description = "K (default: ${DEFAULT-VALUE}).")
    int maxN = 5;

    @Option(names = "--min-count", description = "F-gram threshold (default: ${DEFAULT-VALUE}).")
    int minCount = 5;

    @Option(names = "--top-s", description = "S (default: ${DEFAULT-VALUE}).")
    int topS = 50_000;

    @Option(names = "--warmup-steps", description = "Untimed steps before timing (default: ${DEFAULT-VALUE}).")
    int warmupSteps = 5;

    @Option(names = "--steps", description = "Timed steps per model and round (default: ${DEFAULT-VALUE}).")
    int steps = 30;

    @Option(names = "--rounds", description = "Alternating rounds of baseline then SCONE (default: ${DEFAULT-VALUE}).")
    int rounds = 2;

    @Option(names = "--seed", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--profile-steps", description = "After timing, profile this many more steps of each model with"
            + " PyTorch's profiler and print where their time goes (default: ${DEFAULT-VALUE}: no profile).")
    int profileSteps = 0;

    /**
     * Runs the benchmark and exits with its status.
     *
     * @param args command-line arguments (see {@code --help})
     */
    public static void main(String[] args) {
        System.exit(runExample(args));
    }

    /**
     * Runs the benchmark without exiting.
     *
     * @param args command-line arguments (see {@code --help})
     * @return the exit status
     */
    public static int runExample(String[] args) {
        Steps.configureOffline();
        return new CommandLine(new TrainingBenchmark()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        run(System.out);
        return 0;
    }

    /** One model's measurement. */
    record Measurement(String model, long parameters, double tokensPerSecond, double tokensPerCpuSecond,
            double matchedFraction, double distinctFgramsPerStep, double fgramTokensPerStep, double treeNodesPerStep,
            double flopPerToken) {}

    Measurement[] run(PrintStream log) throws Exception {
        if (steps < 1 || warmupSteps < 0 || rounds < 1) {
            throw new IllegalArgumentException("--steps and --rounds must be >= 1 and --warmup-steps >= 0, got "
                    + steps + ", " + rounds + ", " + warmupSteps);
        }
        Path dataDir = data.resolve();
        Path tokens = work.resolve("tokens");
        Path train = tokens.resolve("train.tok");
        if (!Files.exists(train)) {
            Steps.tokenize(dataDir.resolve("sotu"), dataDir.resolve("gpt2").resolve("tokenizer.json"), tokens, heldOut,
                    maxDocuments, compact, log);
        } else {
            log.println("reusing " + tokens);
        }
        Path fgramsFile = work.resolve(String.format(Locale.ROOT, "fgrams-k%d-min%d-top%d.bin", maxN, minCount, topS));
        if (!Files.exists(fgramsFile)) {
            CountCommand.run(train, maxN, minCount, topS, CountingConfig.DEFAULT_THREADS,
                    CountingConfig.DEFAULT_MEMORY_BUDGET_BYTES, fgramsFile, log);
        } else {
            log.println("reusing " + fgramsFile);
        }
        FgramVocabulary vocabulary = FgramVocabularyFile.read(fgramsFile);
        double loadBefore = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        Measurement[] result = new Measurement[2];
        double[] sums = new double[2];
        double[] cpuSums = new double[2];
        double[] ratios = new double[rounds]; // SCONE / baseline tokens/s, round by round
        WindowBatch hostWorkBatch;
        LanguageModelConfig scone;
        try (TokenIdFile corpus = TokenIdFile.open(train)) {
            LanguageModelConfig base = new LanguageModelConfig(corpus.vocabularySize(), size.context, size.embedding,
                    size.layers, size.heads, size.ffn, false, 0f, null, size.inputNorm, FgramCombine.REPLACE);
            scone = base.withFgramModel(new FgramModelConfig(size.embedding, size.fgramLayers,
                    size.heads, size.ffn, vocabulary.maxN(), 0f, size.fgramOutput)).withFgramCombine(size.fgramCombine);
            WindowDataset windows = LanguageModel.windows(corpus, size.context, vocabulary);
            long[] first = new long[size.batch];
            for (int i = 0; i < first.length; i++) {
                first[i] = i;
            }
            hostWorkBatch = windows.batch(first); // the ids, copied out of the file
            log.printf(Locale.ROOT, "training split: %,d tokens, V = %,d, %,d windows of %d; %,d f-grams (K = %d);"
                    + " B = %d, E = %d, %d layers, %d heads, FFN %d, A_fgram %d layer(s); %d warm-up + %d timed steps,"
                    + " %d round(s)%n", corpus.tokenCount(), corpus.vocabularySize(), windows.windowCount(), size.context,
                    vocabulary.size(), vocabulary.maxN(), size.batch, size.embedding, size.layers, size.heads, size.ffn, size.fgramLayers,
                    warmupSteps, steps, rounds);
            for (int round = 0; round < rounds; round++) {
                for (int k = 0; k < 2; k++) {
                    Measurement m = measure(k == 0 ? "baseline" : "scone", k == 0 ? base : scone, vocabulary, windows,
                            log);
                    log.printf(Locale.ROOT, "round %d %-8s %8.0f tokens/s %8.0f tokens/CPU-s%n", round + 1, m.model(),
                            m.tokensPerSecond(), m.tokensPerCpuSecond());
                    sums[k] += m.tokensPerSecond();
                    cpuSums[k] += m.tokensPerCpuSecond();
                    result[k] = m;
                    if (k == 1) {
                        ratios[round] = m.tokensPerSecond() / result[0].tokensPerSecond();
                    }
                }
            }
        }
        double loadAfter = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        for (int k = 0; k < 2; k++) {
            Measurement m = result[k];
            result[k] = new Measurement(m.model(), m.parameters(), sums[k] / rounds, cpuSums[k] / rounds,
                    m.matchedFraction(), m.distinctFgramsPerStep(), m.fgramTokensPerStep(), m.treeNodesPerStep(),
                    m.flopPerToken());
        }
        double[] sorted = ratios.clone();
        java.util.Arrays.sort(sorted);
        log.println();
        log.printf(Locale.ROOT, "| model | parameters | tokens/s (mean of %d) | vs baseline | tokens/CPU-s |"
                + " vs baseline | matched positions | per step: distinct f-grams / their tokens / A_fgram tree nodes |%n",
                rounds);
        log.println("|---|---|---|---|---|---|---|---|");
        for (Measurement m : result) {
            log.printf(Locale.ROOT, "| %s | %,d | %,.0f | %.2fx | %,.0f | %.2fx | %.1f%% | %s |%n", m.model(),
                    m.parameters(), m.tokensPerSecond(), m.tokensPerSecond() / result[0].tokensPerSecond(),
                    m.tokensPerCpuSecond(), m.tokensPerCpuSecond() / result[0].tokensPerCpuSecond(),
                    100 * m.matchedFraction(),
                    m.model().equals("scone") ? String.format(Locale.ROOT, "%,.0f / %,.0f / %,.0f",
                            m.distinctFgramsPerStep(), m.fgramTokensPerStep(), m.treeNodesPerStep()) : "-");
        }
        log.printf(Locale.ROOT, "SCONE / baseline tokens/s by round: median %.2fx [%.2fx..%.2fx]%n",
                sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1]);
        log.printf(Locale.ROOT, "load average (1 min) %.2f before, %.2f after; %d available processors%n", loadBefore,
                loadAfter, Runtime.getRuntime().availableProcessors());
        double peak = matmulPeak(log);
        log.println("| model | training FLOP per token | achieved GFLOP/s | of the matmul peak |");
        log.println("|---|---|---|---|");
        for (Measurement m : result) {
            double gflops = m.flopPerToken() * m.tokensPerSecond() / 1e9;
            log.printf(Locale.ROOT, "| %s | %.2fM | %.1f | %.0f%% |%n", m.model(), m.flopPerToken() / 1e6, gflops,
                    100 * gflops / peak);
        }
        log.println("(FLOP per token: 6 x the main model's matmul parameters + 12 x layers x T x E for attention;"
                + " SCONE adds A_fgram's work, 6 x its matmul parameters + 12 x layers x K x E per node of each step's"
                + " prefix tree of distinct f-grams, spread over the step's tokens)");
        hostWork(hostWorkBatch, scone, vocabulary, log);
        return result;
    }

    /**
     * What the SCONE input embedding's host-side work costs per forward pass, one batch of the
     * training windows, on this machine: the ids read back from the engine, the check of the
     * pre-scanned f-gram ids, matching when no ids are given, against the trainer's path (the
     * batch's host ids handed over) and against T alone.
     */
    private void hostWork(WindowBatch batch, LanguageModelConfig scone, FgramVocabulary vocabulary, PrintStream log) {
        int reps = 40;
        SconeEmbeddingBlock block = new SconeEmbeddingBlock(scone.vocabularySize(), scone.fgramModel(), vocabulary,
                scone.fgramCombine());
        try (NDManager m = NDManager.newBaseManager()) {
            Shape shape = new Shape(size.batch, size.context);
            block.initialize(m, DataType.FLOAT32, shape, shape);
            ParameterStore ps = new ParameterStore(m, false);
            NDList arrays = batch.inputs(m);
            PairList<String, Object> host = batch.hostIds().asParams();
            String[] names = {"host ids handed over (the trainer's path)", "ids read back and the f-gram ids checked",
                    "token ids alone, matched by the block", "T alone (no f-gram work)"};
            double[] ms = new double[names.length];
            for (int variant = 0; variant < names.length; variant++) {
                for (int rep = -5; rep < reps; rep++) {
                    long t0 = System.nanoTime();
                    try (NDManager scope = m.newSubManager()) {
                        NDArray tokens = arrays.get(0);
                        NDArray out = switch (variant) {
                            case 0 -> block.forward(ps, arrays, false, host).singletonOrThrow();
                            case 1 -> block.forward(ps, arrays, false).singletonOrThrow();
                            case 2 -> block.forward(ps, new NDList(tokens), false).singletonOrThrow();
                            default -> block.tokenEmbedding().forward(ps, new NDList(tokens), false).singletonOrThrow();
                        };
                        out.toFloatArray(); // finish the work
                        out.attach(scope);
                    }
                    if (rep >= 0) {
                        ms[variant] += (System.nanoTime() - t0) / 1e6 / reps;
                    }
                }
            }
            long t0 = System.nanoTime();
            for (int rep = 0; rep < reps; rep++) {
                arrays.get(0).toIntArray();
                arrays.get(1).toIntArray();
            }
            double copyMs = (System.nanoTime() - t0) / 1e6 / reps;
            log.printf(Locale.ROOT, "%nhost work of the SCONE input embedding per forward, one (%d, %d) batch, inference"
                    + " mode, mean of %d:%n", size.batch, size.context, reps);
            log.println("| forward | ms | vs the trainer's path |");
            log.println("|---|---|---|");
            for (int i = 0; i < names.length; i++) {
                log.printf(Locale.ROOT, "| %s | %.2f | %+.2f ms |%n", names[i], ms[i], ms[i] - ms[0]);
            }
            log.printf(Locale.ROOT, "| of which reading both id arrays back | %.3f | |%n", copyMs);
        }
    }

    /**
     * Profiles {@code --profile-steps} training steps with PyTorch's profiler (through DJL's JNI
     * utilities, looked up by reflection: the engine is a run-time dependency) and prints the
     * operators' self time, the matmuls' share, and the time outside any operator.
     */
    private void profile(String name, LanguageModelTrainer trainer, PrintStream log) {
        Path trace = work.resolve("profile-" + name + ".json");
        try {
            Class<?> jni = Class.forName("ai.djl.pytorch.jni.JniUtils");
            jni.getMethod("startProfile", boolean.class, boolean.class, boolean.class).invoke(null, false, false, false);
            long t0 = System.nanoTime();
            try {
                trainer.train(profileSteps);
            } finally {
                jni.getMethod("stopProfile", String.class).invoke(null, trace.toString());
            }
            double wallMs = (System.nanoTime() - t0) / 1e6;
            OperatorProfile.read(trace).print(name, profileSteps, wallMs, log);
        } catch (ReflectiveOperationException | java.io.IOException e) {
            throw new IllegalStateException("profiling failed: " + e, e);
        }
    }

    /** Training FLOP per token of the main model: 3 x (2 x matmul parameters + attention's 4 x T x E per layer). */
    static double mainFlopPerToken(LanguageModelConfig c) {
        double e = c.embeddingSize();
        double matmul = c.layers() * (4 * e * e + 2 * e * c.ffnSize()) + e * c.vocabularySize();
        return 6 * matmul + 12.0 * c.layers() * c.contextLength() * e;
    }

    /**
     * Training FLOP of A_fgram over one node of the prefix tree it runs on (0 for a baseline): its
     * matmuls, and attention over the tree's path width W (every node computes W slots, the ones
     * past its depth masked).
     */
    static double fgramNodeFlop(LanguageModelConfig c, int width) {
        FgramModelConfig f = c.fgramModel();
        if (f == null) {
            return 0;
        }
        double e = f.embeddingSize();
        double matmul = f.layers() * (4 * e * e + 2 * e * f.ffnSize());
        return 6 * matmul + 12.0 * f.layers() * width * e;
    }

    /**
     * The machine's matmul rate on the main model's own shapes (B*T rows against each weight),
     * best of 10 after 3 untimed; the peak the model's FLOP rate is compared with is the highest.
     */
    private double matmulPeak(PrintStream log) {
        int rows = size.batch * size.context;
        int e = size.embedding;
        int[][] shapes = {{rows, e, 3 * e}, {rows, e, e}, {rows, e, size.ffn}, {rows, size.ffn, e},
                {rows, e, compact + 1}};
        String[] names = {"QKV projection", "attention output", "feed-forward in", "feed-forward out", "output head"};
        double peak = 0;
        log.println();
        log.println("| matmul (the model's shapes) | M x K x N | GFLOP/s |");
        log.println("|---|---|---|");
        try (NDManager m = NDManager.newBaseManager()) {
            for (int i = 0; i < shapes.length; i++) {
                int[] sh = shapes[i];
                NDArray a = m.randomUniform(-1, 1, new Shape(sh[0], sh[1]));
                NDArray b = m.randomUniform(-1, 1, new Shape(sh[1], sh[2]));
                double best = Double.MAX_VALUE;
                for (int rep = -3; rep < 10; rep++) {
                    long t0 = System.nanoTime();
                    a.matMul(b).close(); // eager on the CPU: done when the call returns
                    if (rep >= 0) {
                        best = Math.min(best, (System.nanoTime() - t0) / 1e9);
                    }
                }
                double gflops = 2.0 * sh[0] * sh[1] * sh[2] / best / 1e9;
                peak = Math.max(peak, gflops);
                log.printf(Locale.ROOT, "| %s | %d x %d x %d | %.1f |%n", names[i], sh[0], sh[1], sh[2], gflops);
            }
        }
        log.printf(Locale.ROOT, "matmul peak on these shapes: %.1f GFLOP/s%n%n", peak);
        return peak;
    }

    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    private Measurement measure(String name, LanguageModelConfig config, FgramVocabulary vocabulary,
            WindowDataset windows, PrintStream log) {
        TrainerConfig tc = TrainerConfig.builder().setSeed(seed).optBatchSize(size.batch)
                .optContextLength(size.context)
                .optSteps(Math.min(200, warmupSteps + steps), warmupSteps + steps + profileSteps).optEvaluation(0, 0).build();
        LanguageModel model = LanguageModel.of(config, vocabulary);
        try (LanguageModelTrainer trainer = LanguageModelTrainer.builder().setModel(model).setConfig(tc)
                .setTrainingData(windows).build()) {
            trainer.train(warmupSteps);
            // Process CPU time counts the engine's native threads too: on a shared machine it says
            // more about the code's cost than the elapsed time.
            long cpu0 = processCpuNanos();
            long t0 = System.nanoTime();
            trainer.train(steps);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double cpuSeconds = (processCpuNanos() - cpu0) / 1e9;
            double timedTokens = (double) steps * size.batch * size.context;
            if (profileSteps > 0) {
                profile(name, trainer, log);
            }
            long parameters = 0;
            for (var p : model.block().getParameters()) {
                parameters += p.getValue().getArray().size();
            }
            // The pre-scan statistics of the timed steps' windows (same seeded order for both models).
            long matched = 0;
            long distinct = 0;
            long fgramTokens = 0;
            long nodes = 0; // A_fgram runs once per node of each step's prefix tree of distinct f-grams
            dev.scone.core.data.ShuffledWindowOrder order =
                    new dev.scone.core.data.ShuffledWindowOrder(windows.windowCount(), seed);
            for (int s = warmupSteps; s < warmupSteps + steps; s++) {
                int[] f = windows.batch(order.windows((long) s * size.batch, size.batch)).fgramIds();
                java.util.BitSet seen = new java.util.BitSet();
                int[] ids = new int[f.length];
                int u = 0;
                for (int id : f) {
                    if (id >= 0) {
                        matched++;
                        if (!seen.get(id)) {
                            seen.set(id);
                            ids[u++] = id;
                            fgramTokens += vocabulary.length(id);
                        }
                    }
                }
                distinct += u;
                nodes += FgramPrefixTree.of(vocabulary, ids, u).nodeCount();
            }
            double fgramFlop = nodes * fgramNodeFlop(config, vocabulary.maxN());
            double flopPerToken = mainFlopPerToken(config) + (config.isScone() ? fgramFlop / timedTokens : 0);
            return new Measurement(name, parameters, timedTokens / seconds,
                    cpuSeconds > 0 ? timedTokens / cpuSeconds : Double.NaN, matched / timedTokens,
                    (double) distinct / steps, (double) fgramTokens / steps, (double) nodes / steps, flopPerToken);
        }
    }
}

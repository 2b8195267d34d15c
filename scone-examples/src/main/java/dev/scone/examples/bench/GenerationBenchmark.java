package dev.scone.examples.bench;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import dev.scone.core.CausalLanguageModelBlock;
import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.InferenceModel;
import dev.scone.core.generate.Sampling;
import dev.scone.core.generate.TextGenerator;
import dev.scone.examples.Steps;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStorePrecompute;
import dev.scone.store.StoreMismatchException;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Serving cost of a SCONE model against its baseline (the same main model), from their inference
 * exports ({@code scone export}) and the SCONE model's store.
 *
 * <p>Speed, in one JVM: both models are warmed up, then timed in rounds of greedy generation (odd
 * rounds baseline first, even rounds SCONE first, so that neither always runs right after the
 * other) with no stop token, so that every row generates all
 * {@code --tokens} new tokens, at each batch size of {@code --batch}; row r of a batch starts from
 * its own window of {@code --prompt-tokens} tokens of {@code --prompt-from} (a held-out token-id
 * file). Decoding runs over the key/value cache, and, for fewer rounds since it is slower,
 * recomputing every window ({@code optKvCache(false)}). With the demo's C = 128, a 32-token prompt
 * and 256 new tokens, the windows reach C and shift (each shift a prefill of the kept half), which
 * is part of what is measured. It prints each round, then per decoding mode and batch size each
 * model's median tokens/s, SCONE/baseline as the median of the rounds' ratios with their min..max
 * and per CPU-second, and the time per generated token split into matching + store lookup, the
 * model, and sampling and the rest ({@link TextGenerator}'s statistics; without the cache, the
 * lookup is timed around the store's calls inside the forward pass, see {@link TimedTable}).
 *
 * <p>Memory: then child JVMs ({@link ServingMemoryProbe}, {@code --memory-runs} of each kind, in
 * rotating order, with this JVM's options and class path) serve the baseline, the baseline while
 * holding SCONE's store open and unread (the control: what an open store costs by itself), and
 * SCONE from its store; each loads only the export (and the store), generates {@code --tokens}
 * tokens at the largest batch size, and reports its resident set after a GC and after returning
 * the C allocator's free pages, its Java heap and its native share. The medians of each kind, and
 * their differences, are printed next to the store's file sizes and resident pages.
 * {@code --no-memory} skips it.
 *
 * <p>Exit status 0, or 2 with a one-line message when inputs are missing or do not fit together (a
 * baseline given as {@code --scone}, a store precomputed from another model, prompts outside the
 * models' vocabulary, ...).
 */
@Command(name = "generation-benchmark", mixinStandardHelpOptions = true,
        description = "Serving cost: generation tokens/s (KV cache and none, batch sizes) and process memory,"
                + " baseline vs SCONE through its store.")
public final class GenerationBenchmark implements Callable<Integer> {

    /** The export's file name inside a model folder (as {@code scone export} writes it). */
    static final String EXPORT_FILE = "inference.model";

    @Option(names = "--baseline", description = "The baseline's inference export, or a model folder holding "
            + EXPORT_FILE + " (default: ${DEFAULT-VALUE}).")
    Path baseline = Path.of("out", "demo", "models", "baseline");

    @Option(names = "--scone", description = "The SCONE model's inference export, or a model folder holding "
            + EXPORT_FILE + " (default: ${DEFAULT-VALUE}).")
    Path scone = Path.of("out", "demo", "models", "scone");

    @Option(names = "--store", description = "The SCONE model's store folder (default: ${DEFAULT-VALUE}).")
    Path store = Path.of("out", "demo", "store");

    @Option(names = "--prompt-from", description = "Held-out token-id file the prompts are cut from, one window per"
            + " row, spread over the file (default: ${DEFAULT-VALUE}).")
    Path promptFrom = Path.of("out", "demo", "tokens", "heldout.tok");

    @Option(names = "--prompt-tokens", description = "Prompt length of every row (default: ${DEFAULT-VALUE}).")
    int promptTokens = 32;

    @Option(names = "--tokens", description = "New tokens per row in each timed run; greedy, no stop token, so every"
            + " row generates them all (default: ${DEFAULT-VALUE}).")
    int tokens = 256;

    @Option(names = "--batch", split = ",", description = "Batch sizes, comma-separated (default: 1,8).")
    int[] batches = {1, 8};

    @Option(names = "--warmup", description = "Untimed tokens per row generated first by each model, decoding mode"
            + " and batch size (default: ${DEFAULT-VALUE}).")
    int warmup = 128;

    @Option(names = "--rounds", description = "Timed rounds with the KV cache; an even count runs each model first"
            + " equally often (default: ${DEFAULT-VALUE}).")
    int rounds = 20;

    @Option(names = "--no-cache-rounds", description = "Of these, rounds that also time decoding without the cache"
            + " (every window recomputed; slower); 0 = none (default: ${DEFAULT-VALUE}).")
    int noCacheRounds = 2;

    @Option(names = "--no-memory", description = "Skip the serving processes' memory (the child JVMs).")
    boolean noMemory;

    @Option(names = "--no-nmt", description = "Start the child JVMs without -XX:NativeMemoryTracking=summary (exactly"
            + " this JVM's options; the JVM's own native share is then not reported).")
    boolean noNmt;

    @Option(names = "--memory-timeout", description = "Seconds to wait for each child JVM (default: ${DEFAULT-VALUE}).")
    long memoryTimeout = 600;

    @Option(names = "--memory-runs", description = "Serving processes per model, alternating; the tables show their"
            + " medians (default: ${DEFAULT-VALUE}).")
    int memoryRuns = 3;

    /** How a run decodes. */
    enum Mode {
        /** Over the key/value cache (the default). */
        CACHE("KV cache"),
        /** Recomputing every window at each step. */
        NO_CACHE("no cache");

        final String label;

        Mode(String label) {
            this.label = label;
        }
    }

    /**
     * One timed run.
     *
     * @param tokens tokens generated (all rows)
     * @param totalNanos wall time of the run
     * @param lookupNanos matching + store lookup
     * @param modelNanos the model (lookups excluded)
     * @param shifts windows that reached C and were prefilled again (cached decoding)
     * @param cpuNanos process CPU time (every thread)
     */
    record Run(long tokens, long totalNanos, long lookupNanos, long modelNanos, int shifts, long cpuNanos) {
        double tokensPerSecond() {
            return tokens / (totalNanos / 1e9);
        }
    }

    /** A model under test: its block, and one generator per decoding mode. */
    private record Contender(String name, CausalLanguageModelBlock block, TextGenerator cached,
            TextGenerator uncached, TimedTable uncachedTable) {}

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
     * @return the exit status: 0, 1 when a serving process failed, 2 for missing or mismatched inputs
     */
    public static int runExample(String[] args) {
        Steps.configureOffline();
        return new CommandLine(new GenerationBenchmark()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        return run(System.out, System.err);
    }

    /** A one-line refusal: the caller prints it and exits with status 2. */
    static final class InputException extends Exception {
        private static final long serialVersionUID = 1L;

        InputException(String message) {
            super(message);
        }
    }

    /**
     * Runs the benchmark with this object's options.
     *
     * @param out where the report goes
     * @param err where a refusal or a failed serving process is told, in one line
     * @return the exit status: 0, 1 when a serving process failed, 2 for missing or mismatched inputs
     * @throws Exception when generation itself fails
     */
    int run(PrintStream out, PrintStream err) throws Exception {
        Inputs in;
        FgramEmbeddingTable table;
        try {
            checkOptions();
            in = inputs();
            table = openStore(in.sconeHeader);
        } catch (InputException e) {
            err.println("generation-benchmark: " + e.getMessage());
            return 2;
        }
        int maxBatch = Arrays.stream(batches).max().orElseThrow();
        try (table) {
            out.println(environment("generation benchmark"));
            timeGeneration(in, table, out);
        }
        if (noMemory) {
            out.println();
            out.println("serving memory: skipped (--no-memory)");
        } else {
            try {
                measureMemory(in, Arrays.copyOf(in.prompts, maxBatch), out);
            } catch (IOException e) {
                err.println("generation-benchmark: " + e.getMessage());
                return 1;
            }
        }
        out.println();
        out.println(environment("at the end"));
        return 0;
    }

    private void checkOptions() throws InputException {
        if (rounds < 1 || tokens < 1 || promptTokens < 1 || warmup < 0 || noCacheRounds < 0 || memoryTimeout < 1
                || memoryRuns < 1) {
            throw new InputException("--rounds, --tokens, --prompt-tokens, --memory-timeout and --memory-runs must be"
                    + " >= 1,"
                    + " --warmup and --no-cache-rounds >= 0");
        }
        if (noCacheRounds > rounds) {
            throw new InputException("--no-cache-rounds (" + noCacheRounds + ") cannot exceed --rounds (" + rounds
                    + ")");
        }
        if (batches.length == 0 || Arrays.stream(batches).anyMatch(b -> b < 1)
                || Arrays.stream(batches).distinct().count() != batches.length) {
            throw new InputException("--batch takes distinct sizes >= 1, got " + Arrays.toString(batches));
        }
    }

    /** The checked inputs: both exports' headers and the prompts of the largest batch. */
    private record Inputs(Path baselineFile, InferenceModel.Header baselineHeader, Path sconeFile,
            InferenceModel.Header sconeHeader, int[][] prompts) {}

    private Inputs inputs() throws IOException, InputException {
        Path bFile = exportOf(baseline, "--baseline");
        Path sFile = exportOf(scone, "--scone");
        InferenceModel.Header b = header(bFile, "--baseline");
        InferenceModel.Header s = header(sFile, "--scone");
        if (b.binding().isScone()) {
            throw new InputException("--baseline " + bFile + " holds a SCONE model, not a baseline");
        }
        if (!s.binding().isScone()) {
            throw new InputException("--scone " + sFile + " holds a baseline, not a SCONE model");
        }
        if (b.config().vocabularySize() != s.config().vocabularySize()
                || b.config().contextLength() != s.config().contextLength()) {
            throw new InputException("the models do not share a vocabulary and context length: --baseline has V = "
                    + b.config().vocabularySize() + ", C = " + b.config().contextLength() + ", --scone V = "
                    + s.config().vocabularySize() + ", C = " + s.config().contextLength());
        }
        if (!Files.isDirectory(store)) {
            throw new InputException("--store " + store + " is not a folder (the store 'scone precompute' wrote from"
                    + " --scone)");
        }
        if (!Files.isRegularFile(promptFrom)) {
            throw new InputException("--prompt-from " + promptFrom + " is not a file (a token-id file such as"
                    + " out/demo/tokens/heldout.tok)");
        }
        int maxBatch = Arrays.stream(batches).max().orElseThrow();
        int[][] prompts;
        try (TokenIdFile f = TokenIdFile.open(promptFrom)) {
            if (f.vocabularySize() > b.config().vocabularySize()) {
                throw new InputException("--prompt-from " + promptFrom + " holds ids of a vocabulary of "
                        + f.vocabularySize() + ", more than the models' " + b.config().vocabularySize());
            }
            prompts = prompts(f, maxBatch, promptTokens);
        } catch (SconeFormatException e) {
            throw new InputException("--prompt-from: " + e.getMessage());
        }
        return new Inputs(bFile, b, sFile, s, prompts);
    }

    /**
     * @param path an export file or a model folder holding {@value #EXPORT_FILE}
     * @param option the option it came from, for messages
     * @return the export file
     */
    static Path exportOf(Path path, String option) throws InputException {
        if (Files.isDirectory(path)) {
            Path f = path.resolve(EXPORT_FILE);
            if (!Files.isRegularFile(f)) {
                throw new InputException(option + " " + path + " holds no " + EXPORT_FILE + ": run 'scone export --model "
                        + path + "' first");
            }
            return f;
        }
        if (!Files.isRegularFile(path)) {
            throw new InputException(option + " " + path + " is neither an inference export nor a model folder");
        }
        return path;
    }

    private static InferenceModel.Header header(Path file, String option) throws IOException, InputException {
        try {
            return InferenceModel.readHeader(file);
        } catch (SconeFormatException e) {
            throw new InputException(option + ": " + e.getMessage());
        }
    }

    private FgramEmbeddingTable openStore(InferenceModel.Header header) throws IOException, InputException {
        try {
            return FgramStorePrecompute.openFor(store, header, FgramStore.OpenOptions.defaults());
        } catch (NoSuchFileException e) {
            throw new InputException("--store " + store + " is not a store: it lacks " + e.getFile());
        } catch (StoreMismatchException e) {
            // It names the manifest field that differs and both values.
            throw new InputException("--store " + store + " was not precomputed from --scone " + scone + ": "
                    + e.getMessage());
        } catch (IllegalStateException | IllegalArgumentException | SconeFormatException e) {
            throw new InputException("--store: " + e.getMessage());
        }
    }

    /**
     * Cuts {@code rows} distinct prompts from a token-id file: the file's documents are divided into
     * consecutive non-overlapping windows of {@code length} tokens, and row r takes window
     * {@code r * windows / rows}, so that the rows are spread over the whole file.
     *
     * @param file the token-id file
     * @param rows how many prompts
     * @param length tokens per prompt
     * @return the prompts
     * @throws InputException when the file holds fewer windows than rows
     */
    static int[][] prompts(TokenIdFile file, int rows, int length) throws InputException {
        long windows = 0;
        for (int d = 0; d < file.documentCount(); d++) {
            windows += file.documentLength(d) / length;
        }
        if (windows < rows) {
            throw new InputException("--prompt-from " + file.path() + " holds " + windows + " windows of " + length
                    + " tokens inside its documents, fewer than the " + rows + " rows of the largest batch");
        }
        int[][] out = new int[rows][];
        int doc = 0;
        long before = 0; // windows in the documents before `doc`
        for (int r = 0; r < rows; r++) {
            long k = r * windows / rows;
            while (before + file.documentLength(doc) / length <= k) {
                before += file.documentLength(doc) / length;
                doc++;
            }
            int start = (int) (k - before) * length;
            int[] tokensOfDoc = file.document(doc);
            out[r] = Arrays.copyOfRange(tokensOfDoc, start, start + length);
        }
        return out;
    }

    /** Warms both models up, times them in alternating rounds and prints the rounds and the tables. */
    private void timeGeneration(Inputs in, FgramEmbeddingTable table, PrintStream out) throws IOException {
        Sampling greedy = Sampling.greedy();
        try (NDManager manager = NDManager.newBaseManager()) {
            TimedTable timed = new TimedTable(table);
            Contender base = contender("baseline", in.baselineFile, null, null, manager);
            Contender sc = contender("SCONE", in.sconeFile, table, noCacheRounds > 0 ? timed : null, manager);
            Contender[] both = {base, sc};
            int c = base.block.config().contextLength();
            out.println(describe(in, table, base, sc, c));

            List<Mode> modes = noCacheRounds > 0 ? List.of(Mode.CACHE, Mode.NO_CACHE) : List.of(Mode.CACHE);
            if (warmup > 0) {
                long t0 = System.nanoTime();
                for (Mode m : modes) {
                    for (int b : batches) {
                        for (Contender x : both) {
                            generator(x, m).generate(Arrays.copyOf(in.prompts, b), warmup, greedy);
                        }
                    }
                }
                out.printf(Locale.ROOT, "warm-up: %d token%s per row by each model, decoding mode and batch size"
                        + " (%.1f s)%n", warmup, warmup == 1 ? "" : "s", (System.nanoTime() - t0) / 1e9);
            }
            Map<String, List<Run>> runs = new LinkedHashMap<>();
            Map<String, int[][]> firstTokens = new LinkedHashMap<>();
            for (int r = 1; r <= rounds; r++) {
                for (Mode m : modes) {
                    if (m == Mode.NO_CACHE && r > noCacheRounds) {
                        continue;
                    }
                    for (int b : batches) {
                        int[][] prompts = Arrays.copyOf(in.prompts, b);
                        Run[] pair = new Run[2];
                        for (int j = 0; j < 2; j++) {
                            int k = r % 2 == 1 ? j : 1 - j; // odd rounds baseline first, even rounds SCONE first
                            Contender x = both[k];
                            int[][] generated = new int[b][];
                            pair[k] = timed(x, m, prompts, generated);
                            runs.computeIfAbsent(key(m, b, x.name), z -> new ArrayList<>()).add(pair[k]);
                            if (r == 1) {
                                firstTokens.put(key(m, b, x.name), generated);
                            }
                        }
                        out.printf(Locale.ROOT, "round %d, %s, B = %d: baseline %.1f tokens/s, SCONE %.1f tokens/s:"
                                + " %.3fx%n", r, m.label, b, pair[0].tokensPerSecond(), pair[1].tokensPerSecond(),
                                pair[1].tokensPerSecond() / pair[0].tokensPerSecond());
                    }
                }
            }
            printSpeed(runs, modes, out);
            printSplit(runs, modes, out);
            if (modes.contains(Mode.NO_CACHE)) {
                printAgreement(firstTokens, out);
            }
        }
    }

    private String describe(Inputs in, FgramEmbeddingTable table, Contender base, Contender sc, int c)
            throws IOException {
        String dtype = table instanceof FgramStore fs ? ", " + fs.dtype() : "";
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "baseline %s: %,d parameters; SCONE %s: %,d parameters + store %s"
                + " (%,d f-grams x %d%s, K = %d, %,d bytes on disk)%n", in.baselineFile, count(base.block),
                in.sconeFile, count(sc.block), store, table.size(), table.embeddingSize(), dtype, table.maxN(),
                storeFiles(store).values().stream().mapToLong(Long::longValue).sum()));
        sb.append(String.format(Locale.ROOT, "prompts: %d windows of %d tokens from %s (row r of a batch takes the r-th);"
                + " %d new tokens per row, greedy, no stop token; V = %,d, C = %d: a window that reaches C keeps its"
                + " last %d tokens and is prefilled again%n", in.prompts.length, promptTokens, promptFrom, tokens,
                base.block.config().vocabularySize(), c, Math.max(1, c / 2)));
        sb.append(String.format(Locale.ROOT, "rounds: %d with the KV cache (odd rounds baseline first, even rounds SCONE first, at each batch size %s)",
                rounds, Arrays.toString(batches)));
        if (noCacheRounds == 0) {
            sb.append("; without the cache: skipped (--no-cache-rounds 0)");
        } else {
            sb.append(String.format(Locale.ROOT, "; %d of them also without the cache%s", noCacheRounds,
                    noCacheRounds < rounds ? " (fewer rounds: every step recomputes every window)" : ""));
        }
        return sb.toString();
    }

    private Contender contender(String name, Path file, FgramEmbeddingTable table, TimedTable uncachedTable,
            NDManager manager) throws IOException {
        CausalLanguageModelBlock block = InferenceModel.load(file, table, manager).block();
        TextGenerator cached = TextGenerator.builder().setModel(block).setManager(manager).setSeed(1).build();
        TextGenerator uncached = null;
        if (noCacheRounds > 0) {
            // The SCONE model without the cache reads the store through a timing wrapper (a second copy of
            // the same weights), so that the cached runs read it exactly as serving does.
            CausalLanguageModelBlock b = uncachedTable == null ? block
                    : InferenceModel.load(file, uncachedTable, manager).block();
            uncached = TextGenerator.builder().setModel(b).setManager(manager).setSeed(1).optKvCache(false).build();
        }
        return new Contender(name, block, cached, uncached, uncachedTable);
    }

    private static TextGenerator generator(Contender x, Mode m) {
        return m == Mode.CACHE ? x.cached : x.uncached;
    }

    private Run timed(Contender x, Mode m, int[][] prompts, int[][] generated) {
        TextGenerator g = generator(x, m);
        g.resetStatistics();
        TimedTable t = m == Mode.NO_CACHE ? x.uncachedTable : null;
        if (t != null) {
            t.reset();
        }
        long c0 = processCpuNanos();
        List<TextGenerator.Generation> gen = g.generate(prompts, tokens, Sampling.greedy());
        long cpu = processCpuNanos() - c0;
        for (int i = 0; i < gen.size(); i++) {
            generated[i] = gen.get(i).tokens();
            if (generated[i].length != tokens) {
                throw new IllegalStateException(x.name + " generated " + generated[i].length + " tokens in row " + i
                        + ", not " + tokens);
            }
        }
        long lookup = t != null ? t.nanos() : g.lookupNanos();
        long model = t != null ? g.modelNanos() - t.nanos() : g.modelNanos();
        return new Run(g.generatedTokens(), g.totalNanos(), lookup, model, g.shifts(), cpu);
    }

    private static String key(Mode m, int batch, String model) {
        return m.name() + "/" + batch + "/" + model;
    }

    private void printSpeed(Map<String, List<Run>> runs, List<Mode> modes, PrintStream out) {
        out.println();
        out.println("generation tokens/s (all rows; median over the rounds) and SCONE/baseline (median of the rounds'"
                + " ratios [min..max]; per CPU-second of the process, all rounds together):");
        out.println("| decoding | B | rounds | baseline tokens/s | SCONE tokens/s | SCONE/baseline | per CPU-second |");
        out.println("|---|---|---|---|---|---|---|");
        for (Mode m : modes) {
            for (int b : batches) {
                List<Run> rb = runs.get(key(m, b, "baseline"));
                List<Run> rs = runs.get(key(m, b, "SCONE"));
                double[] ratios = new double[rb.size()];
                for (int i = 0; i < ratios.length; i++) {
                    ratios[i] = rs.get(i).tokensPerSecond() / rb.get(i).tokensPerSecond();
                }
                // Process CPU time advances in clock ticks: a run too short to be charged one has no ratio.
                double perCpu = tokensPerCpuSecond(rs) / tokensPerCpuSecond(rb);
                String perCpuText = Double.isFinite(perCpu) && perCpu > 0 ? String.format(Locale.ROOT, "%.3fx", perCpu)
                        : "-";
                out.printf(Locale.ROOT, "| %s | %d | %d | %.1f | %.1f | %.3fx [%.3fx..%.3fx] | %s |%n", m.label, b,
                        rb.size(), median(rb.stream().mapToDouble(Run::tokensPerSecond).toArray()),
                        median(rs.stream().mapToDouble(Run::tokensPerSecond).toArray()), median(ratios),
                        Arrays.stream(ratios).min().orElseThrow(), Arrays.stream(ratios).max().orElseThrow(),
                        perCpuText);
            }
        }
    }

    private void printSplit(Map<String, List<Run>> runs, List<Mode> modes, PrintStream out) {
        out.println();
        out.println("milliseconds per generated token, all timed rounds together: matching + store lookup, the model"
                + " (prefills and steps), sampling and the rest; shifts per run: windows that reached C and were"
                + " prefilled again");
        out.println("| decoding | B | model | ms/token | matching + store lookup | model | sampling, other | shifts per run |");
        out.println("|---|---|---|---|---|---|---|---|");
        for (Mode m : modes) {
            for (int b : batches) {
                for (String name : new String[] {"baseline", "SCONE"}) {
                    List<Run> rs = runs.get(key(m, b, name));
                    long n = rs.stream().mapToLong(Run::tokens).sum();
                    long total = rs.stream().mapToLong(Run::totalNanos).sum();
                    long lookup = rs.stream().mapToLong(Run::lookupNanos).sum();
                    long model = rs.stream().mapToLong(Run::modelNanos).sum();
                    String shifts = m == Mode.CACHE
                            ? String.format(Locale.ROOT, "%.1f", rs.stream().mapToInt(Run::shifts).average().orElse(0))
                            : "-";
                    out.printf(Locale.ROOT, "| %s | %d | %s | %.4f | %.4f | %.4f | %.4f | %s |%n", m.label, b, name,
                            total / 1e6 / n, lookup / 1e6 / n, model / 1e6 / n, (total - lookup - model) / 1e6 / n,
                            shifts);
                }
            }
        }
        if (modes.contains(Mode.NO_CACHE)) {
            out.println("(without the cache a shift costs nothing extra, every step recomputes its window; the store"
                    + " lookup is timed around the store's calls inside the forward pass)");
        }
    }

    /** Whether the first round's greedy tokens are the same with and without the cache (float32: to rounding). */
    private void printAgreement(Map<String, int[][]> first, PrintStream out) {
        StringBuilder sb = new StringBuilder("greedy tokens of round 1, with vs without the cache:");
        for (int b : batches) {
            for (String name : new String[] {"baseline", "SCONE"}) {
                int[][] a = first.get(key(Mode.CACHE, b, name));
                int[][] z = first.get(key(Mode.NO_CACHE, b, name));
                String verdict = "identical";
                outer:
                for (int r = 0; r < a.length; r++) {
                    for (int i = 0; i < a[r].length; i++) {
                        if (a[r][i] != z[r][i]) {
                            verdict = "differ from row " + r + ", token " + i;
                            break outer;
                        }
                    }
                }
                sb.append(String.format(Locale.ROOT, " %s B = %d %s;", name, b, verdict));
            }
        }
        sb.setLength(sb.length() - 1);
        out.println(sb);
    }

    private void measureMemory(Inputs in, int[][] prompts, PrintStream out) throws IOException, InterruptedException {
        out.println();
        out.printf(Locale.ROOT, "serving memory: three kinds of child JVM (this JVM's options%s and class path), %d of"
                + " each, in rotating order: the baseline, the baseline holding SCONE's store open but never reading"
                + " it (the control: what the store costs by being open), and SCONE reading it; each loads only the"
                + " export (+ the store), generates %d tokens per row at B = %d with the cache, runs a GC, returns"
                + " the C allocator's free pages (malloc_trim) and reads /proc/self/status and /proc/self/smaps;"
                + " medians of the runs (MiB):%n", noNmt ? "" : " + -XX:NativeMemoryTracking=summary", memoryRuns,
                tokens, prompts.length);
        List<List<ServingMemoryProbe.Sample>> runs = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        double[] seconds = new double[3];
        for (int r = 0; r < memoryRuns; r++) {
            for (int j = 0; j < 3; j++) {
                int kind = (r + j) % 3; // each kind first, second and third in turn
                long t0 = System.nanoTime();
                runs.get(kind).add(switch (kind) {
                    case 0 -> ServingMemoryProbe.launch(in.baselineFile, null, null, prompts, tokens, !noNmt,
                            memoryTimeout);
                    case 1 -> ServingMemoryProbe.launch(in.baselineFile, null, store, prompts, tokens, !noNmt,
                            memoryTimeout);
                    default -> ServingMemoryProbe.launch(in.sconeFile, store, null, prompts, tokens, !noNmt,
                            memoryTimeout);
                });
                seconds[kind] += (System.nanoTime() - t0) / 1e9;
            }
        }
        ServingMemoryProbe.Sample b = ServingMemoryProbe.Sample.median(runs.get(0));
        ServingMemoryProbe.Sample h = ServingMemoryProbe.Sample.median(runs.get(1));
        ServingMemoryProbe.Sample s = ServingMemoryProbe.Sample.median(runs.get(2));
        out.println("| process | VmRSS | VmRSS before trim | VmHWM | RssAnon | RssFile | heap used after GC | heap"
                + " committed | native (VmRSS - heap committed) | JVM native (NMT, heap excluded) | store resident /"
                + " mapped |");
        out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        out.println(memoryRow("baseline", b, false));
        out.println(memoryRow("baseline + store held", h, true));
        out.println(memoryRow("SCONE", s, true));
        out.println(differenceRow("SCONE - baseline", s, b));
        out.println(differenceRow("store held - baseline", h, b));
        out.println(differenceRow("SCONE - store held", s, h));
        String[] names = {"baseline", "store held", "SCONE"};
        StringBuilder each = new StringBuilder("VmRSS of each run (MiB):");
        for (int k = 0; k < 3; k++) {
            each.append(k == 0 ? " " : ", ").append(names[k]).append(' ')
                    .append(each(runs.get(k), ServingMemoryProbe.Sample::vmRss));
        }
        each.append("; before the trim:");
        for (int k = 0; k < 3; k++) {
            each.append(k == 0 ? " " : ", ").append(names[k]).append(' ')
                    .append(each(runs.get(k), ServingMemoryProbe.Sample::vmRssUntrimmed));
        }
        each.append(String.format(Locale.ROOT, " (child JVMs' wall time, start to exit, mean: %.1f s, %.1f s, %.1f s)",
                seconds[0] / memoryRuns, seconds[1] / memoryRuns, seconds[2] / memoryRuns));
        out.println(each);
        Map<String, Long> files = storeFiles(store);
        long storeBytes = files.values().stream().mapToLong(Long::longValue).sum();
        StringBuilder sb = new StringBuilder();
        files.forEach((name, size) -> sb.append(String.format(Locale.ROOT, ", %s %,d", name, size)));
        out.printf(Locale.ROOT, "store files: %,d bytes (%s MiB)%s%n", storeBytes, mib(storeBytes), sb);
        if (!s.nmtCategories().isEmpty() && !b.nmtCategories().isEmpty() && !h.nmtCategories().isEmpty()) {
            out.println("JVM native memory (NMT committed) by category (MiB, those over 0.5): store held - baseline"
                    + nmtDifference(h.nmtCategories(), b.nmtCategories()) + "; SCONE - store held"
                    + nmtDifference(s.nmtCategories(), h.nmtCategories()));
        }
        if (s.jvmNative() >= 0 && b.jvmNative() >= 0 && s.vmRss() >= 0 && b.vmRss() >= 0) {
            long dRss = s.vmRss() - b.vmRss();
            long dHeap = s.heapCommitted() - b.heapCommitted();
            long dJvm = s.jvmNative() - b.jvmNative();
            out.printf(Locale.ROOT, "the SCONE - baseline VmRSS difference, roughly (committed is not all resident):"
                    + " store pages %s, Java heap committed %s, JVM native (NMT) %s, the rest %s MiB%n",
                    mib(s.storeResident()), diff(s.heapCommitted(), b.heapCommitted()),
                    diff(s.jvmNative(), b.jvmNative()),
                    String.format(Locale.ROOT, "%+.1f", (dRss - s.storeResident() - dHeap - dJvm) / 1048576.0));
        }
        long d = s.vmRss() - b.vmRss();
        out.printf(Locale.ROOT, "SCONE - baseline VmRSS: %s MiB against the store's %s MiB on disk, of which %s MiB"
                + " resident in the SCONE process; within the store's resident pages: %s; within its size on disk:"
                + " %s%n", diff(s.vmRss(), b.vmRss()), mib(storeBytes), mib(s.storeResident()),
                within(d, s.storeResident()), within(d, storeBytes));
        long dh = s.vmRss() - h.vmRss();
        long pages = s.storeResident() - h.storeResident();
        out.printf(Locale.ROOT, "SCONE - store held VmRSS: %s MiB against the %s MiB of store pages that SCONE's"
                + " reads made resident beyond the control's; within them: %s (the store open and unused costs %s"
                + " MiB)%n", diff(s.vmRss(), h.vmRss()), mib(pages), within(dh, pages), diff(h.vmRss(), b.vmRss()));
    }

    private static String differenceRow(String name, ServingMemoryProbe.Sample x, ServingMemoryProbe.Sample y) {
        return String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", name,
                diff(x.vmRss(), y.vmRss()), diff(x.vmRssUntrimmed(), y.vmRssUntrimmed()), diff(x.vmHwm(), y.vmHwm()),
                diff(x.rssAnon(), y.rssAnon()), diff(x.rssFile(), y.rssFile()), diff(x.heapUsed(), y.heapUsed()),
                diff(x.heapCommitted(), y.heapCommitted()), diff(x.nativeShare(), y.nativeShare()),
                diff(x.jvmNative(), y.jvmNative()), y.storeMapped() > 0 || x.storeMapped() > 0
                        ? diff(x.storeResident(), y.storeResident()) : "");
    }

    private static String within(long difference, long limit) {
        return difference <= limit ? "yes" : "no (" + mib(difference - limit) + " MiB more)";
    }

    private static String each(List<ServingMemoryProbe.Sample> samples,
            java.util.function.ToLongFunction<ServingMemoryProbe.Sample> field) {
        StringBuilder sb = new StringBuilder("[");
        for (ServingMemoryProbe.Sample x : samples) {
            sb.append(sb.length() == 1 ? "" : ", ").append(mib(field.applyAsLong(x)));
        }
        return sb.append(']').toString();
    }

    /** The categories whose committed memory differs by more than half a MiB, largest difference first. */
    static String nmtDifference(Map<String, Long> scone, Map<String, Long> base) {
        java.util.SortedSet<String> names = new java.util.TreeSet<>(scone.keySet());
        names.addAll(base.keySet());
        List<Map.Entry<String, Long>> diffs = new ArrayList<>();
        for (String n : names) {
            long dd = scone.getOrDefault(n, 0L) - base.getOrDefault(n, 0L);
            if (Math.abs(dd) > 512 * 1024) {
                diffs.add(Map.entry(n.replace('_', ' '), dd));
            }
        }
        diffs.sort((x, y) -> Long.compare(Math.abs(y.getValue()), Math.abs(x.getValue())));
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Long> e : diffs) {
            sb.append(sb.length() == 0 ? " " : ", ").append(e.getKey()).append(' ')
                    .append(String.format(Locale.ROOT, "%+.1f", e.getValue() / 1048576.0));
        }
        return sb.length() == 0 ? " none" : sb.toString();
    }

    private static String memoryRow(String name, ServingMemoryProbe.Sample m, boolean scone) {
        return String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", name,
                mib(m.vmRss()), mib(m.vmRssUntrimmed()), mib(m.vmHwm()), mib(m.rssAnon()), mib(m.rssFile()),
                mib(m.heapUsed()), mib(m.heapCommitted()), mib(m.nativeShare()), mib(m.jvmNative()),
                scone ? mib(m.storeResident()) + " / " + mib(m.storeMapped()) : "-");
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", bytes / 1048576.0);
    }

    private static String diff(long a, long b) {
        return a < 0 || b < 0 ? "n/a" : String.format(Locale.ROOT, "%+.1f", (a - b) / 1048576.0);
    }

    /** @return the store folder's regular files (relative names) and their sizes, in name order */
    static Map<String, Long> storeFiles(Path dir) throws IOException {
        Map<String, Long> out = new LinkedHashMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                out.put(dir.relativize(p).toString(), Files.size(p));
            }
        }
        return out;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static double tokensPerCpuSecond(List<Run> runs) {
        long n = runs.stream().mapToLong(Run::tokens).sum();
        long cpu = runs.stream().mapToLong(Run::cpuNanos).sum();
        return n / (cpu / 1e9);
    }

    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return System.nanoTime();
    }

    private static long count(Block block) {
        return block.getParameters().stream().mapToLong(p -> p.getValue().getArray().size()).sum();
    }

    /**
     * The environment in one line: load averages, processors, PyTorch's threads, live JVM threads.
     *
     * @param what the line's label
     * @return the line
     */
    static String environment(String what) {
        String load;
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            load = f[0] + " " + f[1] + " " + f[2] + " (1/5/15 min)";
        } catch (IOException e) {
            load = String.format(Locale.ROOT, "%.2f (1 min)",
                    ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        }
        String omp = System.getenv("OMP_NUM_THREADS");
        return String.format(Locale.ROOT, "%s: load average %s; threads: %d available processors, PyTorch %s intra-op"
                + " / %s inter-op%s, %d live JVM threads; Java %s, max heap %,d MiB", what, load,
                Runtime.getRuntime().availableProcessors(), pytorchThreads("getNumThreads"),
                pytorchThreads("getNumInteropThreads"), omp != null ? ", OMP_NUM_THREADS=" + omp : "",
                ManagementFactory.getThreadMXBean().getThreadCount(), System.getProperty("java.version"),
                Runtime.getRuntime().maxMemory() >> 20);
    }

    /** PyTorch's thread counts through DJL's JNI (a runtime dependency only, hence reflection). */
    private static String pytorchThreads(String method) {
        // A manager first, so that the engine (and its native library) is loaded.
        NDManager manager = NDManager.newBaseManager();
        try {
            Object n = Class.forName("ai.djl.pytorch.jni.JniUtils").getMethod(method).invoke(null);
            return String.valueOf(n);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return "n/a";
        } finally {
            manager.close();
        }
    }
}

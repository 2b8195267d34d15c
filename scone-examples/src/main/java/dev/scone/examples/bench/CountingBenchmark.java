package dev.scone.examples.bench;

import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.count.CountingConfig;
import dev.scone.fgram.count.CountingResult;
import dev.scone.fgram.count.FgramCounter;
import dev.scone.fgram.count.ScanStats;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Measures frequent n-gram counting (Algorithm 3): tokens/s of each scan and of the whole run,
 * peak heap and bytes spilled, once with an in-memory budget and once with a budget small enough
 * to force spilling, plus the classic baseline (2-grams as text lines through
 * {@code LC_ALL=C sort | uniq -c}). By default it runs on a synthetic Zipf-distributed corpus;
 * {@link #measure} runs the same measurements on any {@link TokenCorpus}.
 */
@Command(name = "counting-benchmark", mixinStandardHelpOptions = true,
        description = "Benchmark frequent n-gram counting (Algorithm 3) on a synthetic Zipf corpus.")
public final class CountingBenchmark implements Callable<Integer> {

    @Option(names = "--tokens", description = "Synthetic corpus size in tokens (default: ${DEFAULT-VALUE}).")
    long tokens = 50_000_000L;

    @Option(names = "--vocabulary", description = "Synthetic token vocabulary size (default: ${DEFAULT-VALUE}).")
    int vocabulary = 50_000;

    @Option(names = "--exponent", description = "Zipf exponent (default: ${DEFAULT-VALUE}).")
    double exponent = 1.1;

    @Option(names = "--min-doc", description = "Shortest document in tokens (default: ${DEFAULT-VALUE}).")
    int minDoc = 2_000;

    @Option(names = "--max-doc", description = "Longest document in tokens (default: ${DEFAULT-VALUE}).")
    int maxDoc = 6_000;

    @Option(names = "--seed", description = "Seed of the synthetic corpus (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--max-n", description = "K, the longest f-gram (default: ${DEFAULT-VALUE}).")
    int maxN = CountingConfig.DEFAULT_MAX_N;

    @Option(names = "--min-count", description = "Threshold from the second scan on (default: ${DEFAULT-VALUE}).")
    int minCount = CountingConfig.DEFAULT_MIN_COUNT;

    @Option(names = "--first-min-count",
            description = "Threshold of the 2-gram scan; 1 keeps every 2-gram as the paper does (default: ${DEFAULT-VALUE}).")
    int firstMinCount = CountingConfig.DEFAULT_FIRST_SCAN_MIN_COUNT;

    @Option(names = "--top-s", description = "S, f-grams kept (default: ${DEFAULT-VALUE}).")
    int topS = 1_000_000;

    @Option(names = "--threads", description = "Worker threads (default: ${DEFAULT-VALUE}).")
    int threads = CountingConfig.DEFAULT_THREADS;

    @Option(names = "--budget-mb", description = "In-memory budget for the count tables, MiB (default: ${DEFAULT-VALUE}).")
    long budgetMb = 3_072;

    @Option(names = "--spill-budget-mb", description = "Budget that forces spilling, MiB (default: ${DEFAULT-VALUE}).")
    long spillBudgetMb = 64;

    @Option(names = "--spill-dir", description = "Folder for spilled runs (default: the system temporary folder).")
    Path spillDir = Path.of(System.getProperty("java.io.tmpdir"));

    @Option(names = "--baseline-tokens",
            description = "Tokens fed to the sort | uniq -c baseline; 0 skips it (default: ${DEFAULT-VALUE}).")
    long baselineTokens = 10_000_000L;

    @Option(names = "--corpus",
            description = "Also measure on this token-id file first (e.g. out/tokens/train.tok from `scone tokenize`).")
    java.nio.file.Path corpusFile;

    @Option(names = "--corpus-top-s", description = "S for the token-id file's run (default: ${DEFAULT-VALUE}).")
    int corpusTopS = 50_000;

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
        return new CommandLine(new CountingBenchmark()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        try {
            return run(System.out);
        } catch (IllegalArgumentException e) {
            System.err.println("counting-benchmark: " + e.getMessage());
            return 2;
        }
    }

    private int run(PrintStream out) throws IOException, InterruptedException {
        if (budgetMb << 20 > Runtime.getRuntime().maxMemory() * 3 / 4) {
            out.printf("warning: the %,d MiB budget is close to or above the %,d MiB heap (-Xmx); the in-memory"
                    + " run may run out of memory%n", budgetMb, Runtime.getRuntime().maxMemory() >> 20);
        }
        CountingConfig config = CountingConfig.builder().optMaxN(maxN).optMinCount(minCount)
                .optFirstScanMinCount(firstMinCount).setTopS(topS).optThreads(threads).optMemoryBudgetBytes(budgetMb << 20)
                .optSpillDirectory(spillDir).build();
        if (corpusFile != null) {
            try (dev.scone.fgram.corpus.TokenIdFile real = dev.scone.fgram.corpus.TokenIdFile.open(corpusFile)) {
                out.printf("token-id file %s: %,d tokens in %,d documents, vocabulary %,d%n", corpusFile,
                        real.tokenCount(), real.documentCount(), real.vocabularySize());
                CountingConfig realConfig = CountingConfig.builder().optMaxN(maxN).optMinCount(minCount)
                        .optFirstScanMinCount(firstMinCount).setTopS(corpusTopS).optThreads(threads)
                        .optMemoryBudgetBytes(budgetMb << 20).optSpillDirectory(spillDir).build();
                // The spilling run gets a budget small enough to spill on a corpus of this size.
                measure(real, realConfig, Math.min(spillBudgetMb << 20, 1L << 20),
                        Math.min(baselineTokens, real.tokenCount()), out);
            }
            out.println();
        }
        long t0 = System.nanoTime();
        TokenCorpus corpus = zipfCorpus(tokens, vocabulary, exponent, minDoc, maxDoc, seed);
        out.printf("synthetic corpus: %,d tokens in %,d documents, vocabulary %,d, Zipf exponent %.2f, seed %d"
                + " (generated in %.1f s)%n", corpus.tokenCount(), corpus.documentCount(), vocabulary, exponent, seed,
                (System.nanoTime() - t0) / 1e9);
        measure(corpus, config, spillBudgetMb << 20, baselineTokens, out);
        return 0;
    }

    /**
     * Runs the measurements on any corpus: Algorithm 3 with {@code config} (in memory), again with
     * the budget cut to {@code spillBudgetBytes} (the vocabularies must be identical), and the
     * {@code sort | uniq -c} baseline over the 2-grams of the first {@code baselineTokens} tokens.
     *
     * @param corpus the corpus
     * @param config the counting configuration of the in-memory run
     * @param spillBudgetBytes the budget of the spilling run; 0 skips that run
     * @param baselineTokens tokens for the baseline; 0 skips it
     * @param out where the figures go
     * @throws IOException when counting or the baseline fails
     * @throws InterruptedException when interrupted while waiting for the baseline
     */
    public static void measure(TokenCorpus corpus, CountingConfig config, long spillBudgetBytes, long baselineTokens,
            PrintStream out) throws IOException, InterruptedException {
        Objects.requireNonNull(corpus, "corpus");
        out.printf("config: K=%d, minCount=%d, firstScanMinCount=%d, S=%,d, threads=%d, cores=%d, max heap %,d MiB%n",
                config.maxN(), config.minCount(), config.firstScanMinCount(), config.topS(), config.threads(),
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
        CountingResult inMemory = timedRun("in memory", corpus, config, out);
        if (spillBudgetBytes > 0) {
            CountingResult spilled = timedRun("spilling", corpus, config.withMemoryBudgetBytes(spillBudgetBytes), out);
            boolean same = spilled.vocabulary().equals(inMemory.vocabulary());
            out.printf("spilling vs in memory: %.2fx the time, vocabulary identical: %s (fingerprint %s)%n",
                    spilled.totalNanos() / (double) inMemory.totalNanos(), same, spilled.vocabulary().fingerprint());
            if (!same) {
                throw new IllegalStateException("the spilling run produced a different vocabulary");
            }
        }
        if (baselineTokens > 0) {
            sortUniqBaseline(corpus, baselineTokens, config, out);
        }
    }

    private static CountingResult timedRun(String label, TokenCorpus corpus, CountingConfig config, PrintStream out)
            throws IOException {
        System.gc();
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            pool.resetPeakUsage();
        }
        CountingResult r = new FgramCounter(config).count(corpus);
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        out.printf("== %s (budget %,d MiB) ==%n", label, config.memoryBudgetBytes() >> 20);
        for (ScanStats s : r.scans()) {
            out.printf("  n=%d min=%d: %,13d occurrences %,12d distinct %,11d survivors  %6.2f s (merge %5.2f s)"
                    + "  %6.1fM tokens/s (%5.1fM per CPU-second)  spilled %,d bytes in %d runs%n", s.n(), s.threshold(),
                    s.occurrencesCounted(), s.distinctCandidates(), s.survivors(), s.totalNanos() / 1e9,
                    s.mergeNanos() / 1e9, s.tokensPerSecond() / 1e6, s.tokensPerCpuSecond() / 1e6, s.bytesSpilled(),
                    s.runs());
        }
        out.printf("  Algorithm 3 total: %.2f s, %.2fM corpus tokens/s for all %d scans (%.1fM per scan), %,d survivors,"
                + " kept %,d, last count %,d; peak heap %,d MiB; spilled %,d bytes in %d runs%n", r.totalNanos() / 1e9,
                corpus.tokenCount() / (r.totalNanos() / 1e9) / 1e6, r.scans().size(),
                corpus.tokenCount() * r.scans().size() / (r.totalNanos() / 1e9) / 1e6,
                r.totalSurvivors(), r.vocabulary().size(),
                r.vocabulary().size() == 0 ? 0 : r.vocabulary().count(r.vocabulary().size() - 1), peak >> 20,
                r.bytesSpilled(), r.runs());
        return r;
    }

    /**
     * The classic way: every 2-gram of the first {@code limit} tokens as a text line through
     * {@code LC_ALL=C sort | uniq -c}; compared with our 2-gram scan over the same tokens.
     */
    private static void sortUniqBaseline(TokenCorpus corpus, long limit, CountingConfig config, PrintStream out)
            throws IOException, InterruptedException {
        TokenCorpus prefix = new PrefixCorpus(corpus, limit);
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "LC_ALL=C sort | uniq -c | wc -l");
        pb.redirectError(ProcessBuilder.Redirect.INHERIT);
        long t0 = System.nanoTime();
        Process p = pb.start();
        long lines = 0;
        try (OutputStream o = new BufferedOutputStream(p.getOutputStream(), 1 << 20)) {
            byte[] line = new byte[32];
            for (int d = 0; d < prefix.documentCount(); d++) {
                IntBuffer b = prefix.tokens(d);
                for (int i = 0; i + 1 < b.limit(); i++) {
                    int len = appendInt(line, 0, b.get(i));
                    line[len++] = ' ';
                    len = appendInt(line, len, b.get(i + 1));
                    line[len++] = '\n';
                    o.write(line, 0, len);
                    lines++;
                }
            }
        }
        String distinct = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        int rc = p.waitFor();
        double secs = (System.nanoTime() - t0) / 1e9;
        if (rc != 0) {
            throw new IOException("sort | uniq -c exited with " + rc);
        }
        CountingConfig twoGrams = CountingConfig.builder().optMaxN(2).optFirstScanMinCount(1).setTopS(1)
                .optThreads(config.threads()).optMemoryBudgetBytes(config.memoryBudgetBytes())
                .optSpillDirectory(config.spillDirectory()).build();
        CountingResult ours = new FgramCounter(twoGrams).count(prefix);
        ScanStats s = ours.scans().get(0);
        out.printf("== baseline: LC_ALL=C sort | uniq -c over %,d 2-gram lines of the first %,d tokens ==%n", lines,
                prefix.tokenCount());
        out.printf("  sort | uniq -c: %.2f s, %.2fM tokens/s, %s distinct 2-grams%n", secs,
                prefix.tokenCount() / secs / 1e6, distinct);
        out.printf("  our 2-gram scan on the same tokens: %.2f s, %.1fM tokens/s, %,d distinct 2-grams (%s)%n",
                s.totalNanos() / 1e9, s.tokensPerSecond() / 1e6, s.distinctCandidates(),
                Long.toString(s.distinctCandidates()).equals(distinct) ? "same" : "DIFFERENT");
    }

    private static int appendInt(byte[] buf, int pos, int v) {
        if (v == 0) {
            buf[pos] = '0';
            return pos + 1;
        }
        int digits = 0;
        for (int x = v; x > 0; x /= 10) {
            digits++;
        }
        for (int k = pos + digits - 1; k >= pos; k--) {
            buf[k] = (byte) ('0' + v % 10);
            v /= 10;
        }
        return pos + digits;
    }

    /**
     * A synthetic corpus: token ranks drawn i.i.d. from a Zipf distribution, mapped to ids by a
     * fixed random permutation, in documents of uniformly random length.
     *
     * @param tokens total tokens
     * @param vocabulary vocabulary size
     * @param exponent Zipf exponent
     * @param minDoc shortest document
     * @param maxDoc longest document
     * @param seed the seed
     * @return the corpus
     */
    public static TokenCorpus zipfCorpus(long tokens, int vocabulary, double exponent, int minDoc, int maxDoc,
            long seed) {
        if (tokens < 1 || tokens > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tokens must be in [1, " + (Integer.MAX_VALUE - 8) + "], got " + tokens);
        }
        if (minDoc < 1 || maxDoc < minDoc) {
            throw new IllegalArgumentException("document lengths must satisfy 1 <= min <= max, got " + minDoc + ".."
                    + maxDoc);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] cdf = new double[vocabulary];
        double sum = 0;
        for (int i = 0; i < vocabulary; i++) {
            sum += Math.pow(i + 1, -exponent);
            cdf[i] = sum;
        }
        for (int i = 0; i < vocabulary; i++) {
            cdf[i] /= sum;
        }
        int[] idOfRank = new int[vocabulary];
        for (int i = 0; i < vocabulary; i++) {
            idOfRank[i] = i;
        }
        for (int i = vocabulary - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = idOfRank[i];
            idOfRank[i] = idOfRank[j];
            idOfRank[j] = t;
        }
        // guide table: start the binary search near the answer
        int guideSize = 1 << 16;
        int[] guide = new int[guideSize + 1];
        for (int g = 0, r = 0; g <= guideSize; g++) {
            double u = (double) g / guideSize;
            while (r < vocabulary - 1 && cdf[r] < u) {
                r++;
            }
            guide[g] = r;
        }
        int[] data = new int[(int) tokens];
        for (int i = 0; i < data.length; i++) {
            double u = rnd.nextDouble();
            int g = (int) (u * guideSize);
            int lo = g == 0 ? 0 : guide[g] > 0 ? guide[g] - 1 : 0;
            int hi = guide[Math.min(guideSize, g + 1)];
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cdf[mid] < u) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            data[i] = idOfRank[lo];
        }
        int docs = 0;
        int[] starts = new int[16];
        long pos = 0;
        while (pos < tokens) {
            if (docs + 1 >= starts.length) {
                starts = java.util.Arrays.copyOf(starts, starts.length * 2);
            }
            starts[docs++] = (int) pos;
            pos = Math.min(tokens, pos + minDoc + rnd.nextInt(maxDoc - minDoc + 1));
        }
        starts[docs] = (int) tokens;
        return new ArrayCorpus(data, java.util.Arrays.copyOf(starts, docs + 1), vocabulary);
    }

    /** Documents as slices of one array. */
    private static final class ArrayCorpus implements TokenCorpus {
        private final int[] data;
        private final int[] starts;
        private final int vocabularySize;

        ArrayCorpus(int[] data, int[] starts, int vocabularySize) {
            this.data = data;
            this.starts = starts;
            this.vocabularySize = vocabularySize;
        }

        @Override
        public int documentCount() {
            return starts.length - 1;
        }

        @Override
        public long tokenCount() {
            return data.length;
        }

        @Override
        public int vocabularySize() {
            return vocabularySize;
        }

        @Override
        public int documentLength(int doc) {
            Objects.checkIndex(doc, documentCount());
            return starts[doc + 1] - starts[doc];
        }

        @Override
        public IntBuffer tokens(int doc) {
            return IntBuffer.wrap(data, starts[doc], documentLength(doc)).slice().asReadOnlyBuffer();
        }
    }

    /** The first documents of a corpus, the last one cut, holding at most {@code limit} tokens. */
    private static final class PrefixCorpus implements TokenCorpus {
        private final TokenCorpus corpus;
        private final int documents;
        private final int lastLength;
        private final long tokens;

        PrefixCorpus(TokenCorpus corpus, long limit) {
            this.corpus = corpus;
            long total = 0;
            int d = 0;
            int last = 0;
            while (d < corpus.documentCount() && total < limit) {
                last = (int) Math.min(corpus.documentLength(d), limit - total);
                total += last;
                d++;
            }
            this.documents = d;
            this.lastLength = last;
            this.tokens = total;
        }

        @Override
        public int documentCount() {
            return documents;
        }

        @Override
        public long tokenCount() {
            return tokens;
        }

        @Override
        public int vocabularySize() {
            return corpus.vocabularySize();
        }

        @Override
        public int documentLength(int doc) {
            Objects.checkIndex(doc, documents);
            return doc == documents - 1 ? lastLength : corpus.documentLength(doc);
        }

        @Override
        public IntBuffer tokens(int doc) {
            return corpus.tokens(doc).limit(documentLength(doc)).slice();
        }
    }
}

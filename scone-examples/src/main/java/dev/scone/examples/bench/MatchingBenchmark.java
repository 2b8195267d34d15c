package dev.scone.examples.bench;

import dev.scone.fgram.match.FgramMatcher;
import dev.scone.fgram.match.LevelwiseMatcher;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import it.unimi.dsi.fastutil.ints.IntArrays;
import it.unimi.dsi.fastutil.longs.Long2LongOpenHashMap;
import it.unimi.dsi.fastutil.longs.LongOpenHashSet;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Measures longest-suffix f-gram matching on synthetic Zipfian text: builds an f-gram vocabulary
 * the way Algorithm 3 does (frequent n-grams of a sample, Apriori-pruned, ranked together), then
 * matches fresh text with {@link LevelwiseMatcher} on 1 and more threads, and with a baseline, the
 * plain longest-first probe of {@link FgramVocabulary#find}, whose ids it must equal.
 *
 * <p>With {@code --corpus} and {@code --vocabulary} it matches a token-id file (a real corpus)
 * with a vocabulary counted by {@code scone count}. Otherwise the text is synthetic, a mix of
 * single tokens and "phrases": each step emits, with probability
 * {@code --phrase-prob}, a phrase drawn by Zipf's law from a fixed table of phrases (2 to 6
 * tokens, themselves Zipfian), else one Zipfian token. Token ranks are shuffled into ids.
 */
@Command(name = "matching-benchmark", mixinStandardHelpOptions = true,
        description = "Throughput of longest-suffix f-gram matching on synthetic Zipfian text.")
public final class MatchingBenchmark implements Callable<Integer> {

    @Option(names = "--vocab", description = "Token vocabulary size (default: ${DEFAULT-VALUE}).")
    int vocab = 50_257;

    @Option(names = "--fgrams", description = "F-grams S to keep (default: ${DEFAULT-VALUE}).")
    int fgrams = 1_000_000;

    @Option(names = "--max-n", description = "Longest f-gram length K (default: ${DEFAULT-VALUE}).")
    int maxN = 5;

    @Option(names = "--sample-tokens", description = "Tokens of the sample the f-grams are counted on (default: ${DEFAULT-VALUE}).")
    int sampleTokens = 30_000_000;

    @Option(names = "--min-count", description = "Apriori count threshold for lengths >= 3 (default: ${DEFAULT-VALUE}).")
    int minCount = 3;

    @Option(names = "--tokens", description = "Tokens of fresh text to match (default: ${DEFAULT-VALUE}).")
    int tokens = 20_000_000;

    @Option(names = "--doc-length", description = "Tokens per document of the matched text (default: ${DEFAULT-VALUE}).")
    int docLength = 4096;

    @Option(names = "--zipf", description = "Zipf exponent of tokens and phrases (default: ${DEFAULT-VALUE}).")
    double zipf = 1.0;

    @Option(names = "--phrases", description = "Size of the phrase table (default: ${DEFAULT-VALUE}).")
    int phrases = 200_000;

    @Option(names = "--phrase-prob", description = "Probability that a step emits a phrase (default: ${DEFAULT-VALUE}).")
    double phraseProb = 0.5;

    @Option(names = "--threads", split = ",", description = "Thread counts to time (default: 1,2).")
    int[] threads = {1, 2};

    @Option(names = "--repeats", description = "Timed runs per measurement; the best is reported (default: ${DEFAULT-VALUE}).")
    int repeats = 3;

    @Option(names = "--baseline-tokens", description = "Tokens the baseline is timed on (default: ${DEFAULT-VALUE}).")
    int baselineTokens = 4_000_000;

    @Option(names = "--seed", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--corpus", description = "Match this token-id file (its documents kept apart) instead of"
            + " synthetic text; needs --vocabulary.")
    Path corpus;

    @Option(names = "--vocabulary", description = "The f-gram vocabulary file to match with --corpus.")
    Path vocabularyFile;

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
        return new CommandLine(new MatchingBenchmark()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        if (vocab < 2 || fgrams < 1 || maxN < 2 || sampleTokens < maxN || tokens < 1 || docLength < 1 || phrases < 1
                || minCount < 1 || repeats < 1 || baselineTokens < 1 || !(zipf > 0) || !(phraseProb >= 0 && phraseProb <= 1)) {
            throw new CommandLine.ParameterException(new CommandLine(this), "an option is out of range");
        }
        if ((corpus == null) != (vocabularyFile == null)) {
            throw new CommandLine.ParameterException(new CommandLine(this),
                    "--corpus and --vocabulary go together");
        }
        System.out.printf("JVM: %s %s, %d processors%n", System.getProperty("java.vm.name"),
                System.getProperty("java.version"), Runtime.getRuntime().availableProcessors());
        FgramVocabulary vocabulary;
        int[] text;
        int[] docStarts;
        long t0 = System.nanoTime();
        if (corpus != null) {
            vocabulary = FgramVocabularyFile.read(vocabularyFile);
            try (TokenIdFile file = TokenIdFile.open(corpus)) {
                if (file.vocabularySize() != vocabulary.tokenVocabularySize()) {
                    throw new IllegalArgumentException("the corpus " + corpus + " has token vocabulary size "
                            + file.vocabularySize() + " but the f-grams of " + vocabularyFile + " are drawn from "
                            + vocabulary.tokenVocabularySize() + " tokens");
                }
                if (file.tokenCount() > Integer.MAX_VALUE - 8) {
                    throw new IllegalArgumentException("the corpus " + corpus + " has over 2^31 tokens");
                }
                text = new int[(int) file.tokenCount()];
                docStarts = new int[file.documentCount() + 1];
                for (int d = 0; d < file.documentCount(); d++) {
                    int[] doc = file.document(d);
                    System.arraycopy(doc, 0, text, docStarts[d], doc.length);
                    docStarts[d + 1] = docStarts[d] + doc.length;
                }
            }
            System.out.printf("matching benchmark: %s (%,d documents, %,d tokens) with %s (%s), %.1f s to load%n",
                    corpus, docStarts.length - 1, text.length, vocabularyFile, vocabulary, secs(t0));
        } else {
            System.out.printf("matching benchmark: V=%,d K=%d S=%,d zipf=%.2f phrases=%,d phrase-prob=%.2f seed=%d%n",
                    vocab, maxN, fgrams, zipf, phrases, phraseProb, seed);
            ZipfText gen = new ZipfText(vocab, zipf, phrases, phraseProb, seed);
            int[] sample = gen.generate(sampleTokens, new SplittableRandom(seed + 1));
            text = gen.generate(tokens, new SplittableRandom(seed + 2));
            System.out.printf("generated %,d sample + %,d fresh tokens in %.1f s%n", sample.length, text.length,
                    secs(t0));
            t0 = System.nanoTime();
            vocabulary = countVocabulary(sample);
            System.out.printf("counted the vocabulary on the sample in %.1f s: %s, lowest kept count %,d%n", secs(t0),
                    vocabulary, vocabulary.count(vocabulary.size() - 1));
            docStarts = new int[(text.length + docLength - 1) / docLength + 1];
            for (int d = 0; d < docStarts.length; d++) {
                docStarts[d] = (int) Math.min((long) d * docLength, text.length);
            }
        }
        int maxN = vocabulary.maxN();
        int[] perLength = new int[maxN + 1];
        for (int id = 0; id < vocabulary.size(); id++) {
            perLength[vocabulary.length(id)]++;
        }
        System.out.println("f-grams per length: " + Arrays.toString(Arrays.copyOfRange(perLength, 2, maxN + 1))
                + " (lengths 2.." + maxN + ")");

        t0 = System.nanoTime();
        LevelwiseMatcher levelwise = LevelwiseMatcher.of(vocabulary);
        System.out.printf("built %s in %.2f s: %.1f MiB (%.1f bytes per f-gram), construction peak %.1f MiB; closed: %s%n",
                levelwise, secs(t0), levelwise.memoryBytes() / 1048576.0,
                (double) levelwise.memoryBytes() / levelwise.size(), levelwise.constructionPeakBytes() / 1048576.0,
                levelwise.nodeCount() == levelwise.size());

        LevelwiseMatcher.MatchStats levelStats = new LevelwiseMatcher.MatchStats(0, 0, 0, 0);
        for (int d = 0; d + 1 < docStarts.length; d++) {
            levelStats = levelStats.plus(levelwise.stats(text, docStarts[d], docStarts[d + 1] - docStarts[d]));
        }
        System.out.printf("text to match (%,d documents, %,d tokens): match rate %.1f%%, %.2f lookups per position"
                + " (independent of each other), %.2f slots read per position%n", docStarts.length - 1, text.length,
                100 * levelStats.matchRate(), levelStats.lookupsPerPosition(),
                (double) levelStats.slotsRead() / levelStats.positions());

        int[] out = new int[text.length];
        for (int nThreads : threads) {
            if (nThreads < 1) {
                continue;
            }
            Rate level = new Rate(0, 0);
            for (int rep = 0; rep < repeats; rep++) {
                level = level.max(timeMatcher(levelwise, text, docStarts, out, nThreads, rep == 0));
            }
            String th = nThreads + " thread" + (nThreads == 1 ? "" : "s");
            System.out.printf("LevelwiseMatcher, %s: %.1f M tokens/s wall clock, %.1f M tokens per CPU-second,"
                    + " %.1f M tokens/s per thread (best of %d, %s)%n", th, level.wall() / 1e6,
                    level.perCpuSecond() / 1e6, level.wall() / nThreads / 1e6, repeats, load());
        }

        // The baseline: the plain longest-first probe over the vocabulary's own open-addressing table.
        int naiveLen = Math.min(baselineTokens, text.length);
        int naiveDocs = 0; // the documents that start before naiveLen, the last one cut there
        while (naiveDocs + 1 < docStarts.length && docStarts[naiveDocs] < naiveLen) {
            naiveDocs++;
        }
        int[] naiveStarts = Arrays.copyOf(docStarts, naiveDocs + 1);
        naiveStarts[naiveDocs] = naiveLen;
        FgramMatcher naive = new ProbingBaseline(vocabulary);
        int[] naiveOut = new int[naiveLen];
        Rate naiveRate = new Rate(0, 0);
        for (int rep = 0; rep < repeats; rep++) {
            naiveRate = naiveRate.max(timeMatcher(naive, text, naiveStarts, naiveOut, 1, rep == 0));
        }
        long probes = 0;
        for (int d = 0; d < naiveDocs; d++) {
            for (int i = naiveStarts[d]; i < naiveStarts[d + 1]; i++) {
                int room = Math.min(maxN, i - naiveStarts[d] + 1);
                if (room >= 2) { // lengths room..2 are tried until one is found
                    probes += naiveOut[i] == FgramMatcher.NO_MATCH ? room - 1 : room - vocabulary.length(naiveOut[i]) + 1;
                }
            }
        }
        System.out.printf("baseline (longest-first probe of the vocabulary), 1 thread: %.1f M tokens/s wall clock, %.1f M tokens per CPU-second"
                + " (%.2f lookups per position, on %,d tokens)%n", naiveRate.wall() / 1e6, naiveRate.perCpuSecond() / 1e6,
                (double) probes / naiveLen, naiveLen);
        boolean same = Arrays.equals(naiveOut, 0, naiveLen, out, 0, naiveLen);
        System.out.println("LevelwiseMatcher equals the baseline on those tokens: " + same);
        return same ? 0 : 1;
    }

    /** Best throughput over the timed runs: by wall clock (all threads together) and per CPU-second. */
    private record Rate(double wall, double perCpuSecond) {

        Rate max(Rate o) {
            return new Rate(Math.max(wall, o.wall), Math.max(perCpuSecond, o.perCpuSecond));
        }
    }

    private static String load() {
        return String.format("load average %.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    /** One timed run over all documents (after one untimed run that warms the JIT up, if asked). */
    private static Rate timeMatcher(FgramMatcher m, int[] text, int[] docStarts, int[] out, int nThreads, boolean warmUp)
            throws Exception {
        int docs = docStarts.length - 1;
        long total = docStarts[docs];
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        ExecutorService pool = Executors.newFixedThreadPool(nThreads);
        try {
            double bestWall = 0;
            double bestCpu = 0;
            for (int rep = warmUp ? -1 : 0; rep < 1; rep++) { // run -1 warms the JIT up
                List<Future<Long>> parts = new ArrayList<>();
                long t0 = System.nanoTime();
                for (int t = 0; t < nThreads; t++) {
                    // Each thread takes whole documents, about total / nThreads tokens of them.
                    int lo = firstDocumentFrom(docStarts, total * t / nThreads);
                    int hi = firstDocumentFrom(docStarts, total * (t + 1) / nThreads);
                    parts.add(pool.submit(() -> {
                        long c0 = mx.getCurrentThreadCpuTime();
                        for (int d = lo; d < hi; d++) {
                            m.match(text, docStarts[d], docStarts[d + 1] - docStarts[d], out, docStarts[d]);
                        }
                        return mx.getCurrentThreadCpuTime() - c0;
                    }));
                }
                long cpuNanos = 0;
                for (Future<Long> f : parts) {
                    cpuNanos += f.get();
                }
                double wall = total / secs(t0);
                if (rep >= 0) {
                    bestWall = Math.max(bestWall, wall);
                    bestCpu = Math.max(bestCpu, total / (cpuNanos / 1e9));
                }
            }
            return new Rate(bestWall, bestCpu);
        } finally {
            pool.shutdownNow();
        }
    }

    // The first document that starts at or after token position at (the document count if none).
    private static int firstDocumentFrom(int[] docStarts, long at) {
        int docs = docStarts.length - 1;
        int d = Arrays.binarySearch(docStarts, 0, docs, (int) Math.min(at, Integer.MAX_VALUE));
        if (d < 0) {
            d = -d - 1;
        }
        while (d > 0 && docStarts[d - 1] == docStarts[d] && docStarts[d] >= at) {
            d--; // empty documents: the first of equal starts
        }
        return at >= docStarts[docs] ? docs : d;
    }

    /**
     * Algorithm 3 on the sample, with 64-bit fingerprints of n-grams as counting keys: counts all
     * 2-grams, then each longer n-gram whose prefix and suffix reached {@code --min-count}, and
     * keeps the top S of all lengths together (count descending, then shorter first, then
     * lexicographic), which makes the vocabulary suffix-closed.
     */
    private FgramVocabulary countVocabulary(int[] s) {
        int cap = 1 << 20;
        int[] candLen = new int[cap];
        int[] candPos = new int[cap];
        long[] candCount = new long[cap];
        int cands = 0;
        LongOpenHashSet previous = null;
        for (int n = 2; n <= maxN; n++) {
            Long2LongOpenHashMap counts = new Long2LongOpenHashMap(n == 2 ? 1 << 22 : previous.size() * 2);
            for (int i = 0; i + n <= s.length; i++) {
                if (n > 2 && (!previous.contains(FgramVocabulary.hash(s, i, n - 1))
                        || !previous.contains(FgramVocabulary.hash(s, i + 1, n - 1)))) {
                    continue;
                }
                long h = FgramVocabulary.hash(s, i, n);
                if (counts.addTo(h, 1L << 32) == 0) {
                    counts.put(h, (1L << 32) | i);
                }
            }
            LongOpenHashSet frequent = new LongOpenHashSet();
            for (Long2LongOpenHashMap.Entry e : counts.long2LongEntrySet()) {
                long count = e.getLongValue() >>> 32;
                if (count < minCount) {
                    continue;
                }
                frequent.add(e.getLongKey());
                if (cands == candLen.length) {
                    candLen = Arrays.copyOf(candLen, cands * 2);
                    candPos = Arrays.copyOf(candPos, cands * 2);
                    candCount = Arrays.copyOf(candCount, cands * 2);
                }
                candLen[cands] = n;
                candPos[cands] = (int) e.getLongValue();
                candCount[cands] = count;
                cands++;
            }
            System.out.printf("  length %d: %,d distinct counted, %,d with count >= %d%n", n, counts.size(),
                    frequent.size(), minCount);
            previous = frequent;
        }
        if (cands < fgrams) {
            throw new IllegalStateException("only " + cands + " n-grams reach count " + minCount
                    + ": raise --sample-tokens or lower --min-count");
        }
        int[] order = new int[cands];
        for (int k = 0; k < cands; k++) {
            order[k] = k;
        }
        final int[] len = candLen;
        final int[] pos = candPos;
        final long[] cnt = candCount;
        IntArrays.parallelQuickSort(order, (a, b) -> {
            int c = Long.compare(cnt[b], cnt[a]);
            if (c != 0) {
                return c;
            }
            c = Integer.compare(len[a], len[b]);
            for (int k = 0; c == 0 && k < len[a]; k++) {
                c = Integer.compare(s[pos[a] + k], s[pos[b] + k]);
            }
            return c;
        });
        int[] offsets = new int[fgrams + 1];
        long[] counts = new long[fgrams];
        for (int r = 0; r < fgrams; r++) {
            offsets[r + 1] = offsets[r] + len[order[r]];
            counts[r] = cnt[order[r]];
        }
        int[] flat = new int[offsets[fgrams]];
        for (int r = 0; r < fgrams; r++) {
            System.arraycopy(s, pos[order[r]], flat, offsets[r], len[order[r]]);
        }
        return FgramVocabulary.of(vocab, maxN, offsets, flat, counts);
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * The baseline the benchmark measures {@link LevelwiseMatcher} against: the plain longest-first
     * probe, lengths K..2 through {@link FgramVocabulary#find}, one dependent lookup after another.
     */
    private static final class ProbingBaseline implements FgramMatcher {

        private final FgramVocabulary vocabulary;

        ProbingBaseline(FgramVocabulary vocabulary) {
            this.vocabulary = vocabulary;
        }

        @Override
        public int maxN() {
            return vocabulary.maxN();
        }

        @Override
        public void match(int[] tokens, int from, int len, int[] out, int outOffset) {
            int k = vocabulary.maxN();
            for (int p = 0; p < len; p++) {
                int i = from + p;
                int id = NO_MATCH;
                for (int n = Math.min(k, p + 1); n >= 2 && id == NO_MATCH; n--) {
                    id = vocabulary.find(tokens, i - n + 1, n);
                }
                out[outOffset + p] = id;
            }
        }
    }

    /** Synthetic Zipfian text made of single tokens and phrases from a fixed phrase table. */
    private static final class ZipfText {

        private final double[] tokenCdf;
        private final int[] rankToToken;
        private final double[] phraseCdf;
        private final int[][] phraseTable;
        private final double phraseProb;

        ZipfText(int vocab, double exponent, int phrases, double phraseProb, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            this.tokenCdf = zipfCdf(vocab, exponent);
            this.rankToToken = new int[vocab];
            for (int k = 0; k < vocab; k++) {
                rankToToken[k] = k;
            }
            for (int k = vocab - 1; k > 0; k--) {
                int j = r.nextInt(k + 1);
                int tmp = rankToToken[k];
                rankToToken[k] = rankToToken[j];
                rankToToken[j] = tmp;
            }
            this.phraseCdf = zipfCdf(phrases, exponent);
            this.phraseTable = new int[phrases][];
            for (int p = 0; p < phrases; p++) {
                int[] ph = new int[2 + r.nextInt(5)];
                for (int k = 0; k < ph.length; k++) {
                    ph[k] = token(r);
                }
                phraseTable[p] = ph;
            }
            this.phraseProb = phraseProb;
        }

        int[] generate(int n, SplittableRandom r) {
            int[] out = new int[n];
            int i = 0;
            while (i < n) {
                if (r.nextDouble() < phraseProb) {
                    int[] ph = phraseTable[sample(phraseCdf, r)];
                    int m = Math.min(ph.length, n - i);
                    System.arraycopy(ph, 0, out, i, m);
                    i += m;
                } else {
                    out[i++] = token(r);
                }
            }
            return out;
        }

        private int token(SplittableRandom r) {
            return rankToToken[sample(tokenCdf, r)];
        }

        private static int sample(double[] cdf, SplittableRandom r) {
            int k = Arrays.binarySearch(cdf, r.nextDouble());
            return Math.min(cdf.length - 1, k >= 0 ? k : -k - 1);
        }

        private static double[] zipfCdf(int n, double exponent) {
            double[] cdf = new double[n];
            double sum = 0;
            for (int k = 0; k < n; k++) {
                sum += Math.pow(k + 1, -exponent);
                cdf[k] = sum;
            }
            for (int k = 0; k < n; k++) {
                cdf[k] /= sum;
            }
            return cdf;
        }
    }
}

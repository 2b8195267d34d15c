package dev.scone.spark.bench;

import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.count.CountingConfig;
import dev.scone.fgram.count.CountingResult;
import dev.scone.fgram.count.FgramCounter;
import dev.scone.fgram.count.ScanStats;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.spark.cli.Args;
import dev.scone.spark.cli.Spark;
import dev.scone.spark.count.SparkCountingConfig;
import dev.scone.spark.count.SparkCountingResult;
import dev.scone.spark.count.SparkFgramCounter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Counts the same corpus with the single-machine {@link FgramCounter} and with
 * {@link SparkFgramCounter} (local mode), checks the vocabularies are equal and prints the
 * throughput of each: tokens per second, and per core (tokens per second divided by the threads
 * or local cores used), the figure the cost model in the module README starts from.
 *
 * <pre>
 * CountingBenchmark [--input TOKEN_ID_FILE | --synthetic-tokens 2000000 --synthetic-vocabulary 50000]
 *                   [--top-s 50000] [--threads 2] [--master local[2]] [--partitions 8]
 *                   [--split-tokens 500000] [--pruning auto|broadcast|join] [--repeats 1] [--seed 1]
 * </pre>
 *
 * Without {@code --input} the corpus is synthetic: token ranks drawn i.i.d. from a Zipf
 * distribution (exponent 1.1) in documents of 200..2000 tokens. The figures are indicative: the
 * first Spark job of a JVM also pays for class loading and compilation, so a small warm-up count
 * runs first, and on a machine shared with other work both counters slow down.
 */
public final class CountingBenchmark {

    private static final Set<String> KNOWN = Set.of("input", "synthetic-tokens", "synthetic-vocabulary", "top-s",
            "threads", "master", "partitions", "split-tokens", "pruning", "repeats", "seed", "help");

    private CountingBenchmark() {}

    /**
     * @param argv the command line
     * @throws Exception when counting fails
     */
    public static void main(String[] argv) throws Exception {
        Args a = Args.parse(argv, Set.of("help"), KNOWN);
        PrintStream out = System.out;
        if (a.has("help")) {
            out.println("usage: CountingBenchmark [--input TOKEN_ID_FILE | --synthetic-tokens N"
                    + " --synthetic-vocabulary V] [--top-s 50000] [--threads 2] [--master local[2]] [--partitions 8]"
                    + " [--split-tokens 500000] [--pruning auto|broadcast|join] [--repeats 1] [--seed 1]");
            return;
        }
        int threads = a.integer("threads", 2);
        String master = a.get("master", "local[2]");
        int cores = localCores(master);
        Path tmp = Files.createTempDirectory("scone-count-bench");
        try {
            Path input;
            if (a.has("input")) {
                input = Path.of(a.required("input"));
            } else {
                input = tmp.resolve("zipf.tok");
                long tokens = a.number("synthetic-tokens", 2_000_000);
                int vocab = a.integer("synthetic-vocabulary", 50_000);
                writeZipf(input, tokens, vocab, 1.1, a.number("seed", 1));
                out.printf(Locale.ROOT, "synthetic Zipf corpus: %,d tokens, vocabulary %,d, exponent 1.1%n", tokens,
                        vocab);
            }
            CountingConfig counting = CountingConfig.builder().setTopS(a.integer("top-s", 50_000)).optThreads(threads)
                    .optSpillDirectory(tmp).build();
            long tokens;
            try (TokenIdFile f = TokenIdFile.open(input)) {
                tokens = f.tokenCount();
                out.printf(Locale.ROOT, "corpus %s: %,d tokens, %,d documents, V=%,d; K=%d, min count %d, S=%,d%n",
                        input, tokens, f.documentCount(), f.vocabularySize(), counting.maxN(), counting.minCount(),
                        counting.topS());
            }
            CountingResult single = null;
            FgramVocabularyFile.CountedOn countedOn = null;
            for (int round = 0; round < 2; round++) { // the first round warms the JIT
                try (TokenIdFile f = TokenIdFile.open(input)) {
                    single = new FgramCounter(counting).count(f);
                    countedOn = FgramVocabularyFile.CountedOn.of(f);
                }
            }
            report(out, "single machine (FgramCounter, " + threads + " threads)", false, single.totalNanos(),
                    single.scans(), tokens, threads);
            Path singleFile = tmp.resolve("single.fgv");
            FgramVocabularyFile.write(single.vocabulary(), singleFile, countedOn);

            JavaSparkContext spark = Spark.start("scone-count-benchmark", master);
            try {
                SparkCountingConfig config = SparkCountingConfig.of(counting, a.integer("partitions", 8))
                        .withSplitTokens(a.number("split-tokens", 500_000)).withPruning(SparkCountingConfig.Pruning
                                .valueOf(a.get("pruning", "auto").toUpperCase(Locale.ROOT)));
                Path warm = tmp.resolve("warm.tok");
                writeZipf(warm, 50_000, 1000, 1.1, 7);
                new SparkFgramCounter(spark, config.withSplitTokens(10_000)).countToFile(warm.toString(),
                        tmp.resolve("warm.fgv").toString());
                ShuffleBytes shuffle = new ShuffleBytes();
                spark.sc().addSparkListener(shuffle);
                SparkCountingResult distributed = null;
                Path sparkFile = tmp.resolve("spark.fgv");
                for (int round = 0, repeats = a.integer("repeats", 1); round < repeats; round++) {
                    shuffle.reset();
                    distributed = new SparkFgramCounter(spark, config).countToFile(input.toString(), sparkFile.toString());
                    report(out, "Spark " + spark.version() + " (" + master + ", " + config.partitions() + " partitions, "
                            + config.pruning().name().toLowerCase(Locale.ROOT) + " pruning"
                            + (repeats > 1 ? ", run " + (round + 1) : "") + ")", true, distributed.totalNanos(),
                            distributed.scans(), tokens, cores);
                    long bytes = shuffle.total();
                    out.printf(Locale.ROOT, "    shuffle written: %,d bytes (%.2f per corpus token)%n", bytes,
                            (double) bytes / tokens);
                }
                out.printf(Locale.ROOT, "Spark / single machine, time per core: %.2fx%n",
                        (double) distributed.totalNanos() * cores / (single.totalNanos() * threads));
                boolean same = Files.mismatch(singleFile, sparkFile) == -1;
                out.printf(Locale.ROOT, "vocabulary files byte-identical: %s (fingerprint %s)%n", same,
                        single.vocabulary().fingerprint());
                if (!same) {
                    throw new IllegalStateException("the Spark and single-machine vocabulary files differ");
                }
            } finally {
                spark.stop();
            }
        } finally {
            try (var s = Files.walk(tmp)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Adds up the shuffle bytes written by completed stages (the listener bus reports them shortly after). */
    private static final class ShuffleBytes extends org.apache.spark.scheduler.SparkListener {
        private final java.util.concurrent.atomic.AtomicLong bytes = new java.util.concurrent.atomic.AtomicLong();
        private final java.util.concurrent.atomic.AtomicLong stages = new java.util.concurrent.atomic.AtomicLong();

        @Override
        public void onStageCompleted(org.apache.spark.scheduler.SparkListenerStageCompleted e) {
            bytes.addAndGet(e.stageInfo().taskMetrics().shuffleWriteMetrics().bytesWritten());
            stages.incrementAndGet();
        }

        void reset() {
            bytes.set(0);
        }

        /** @return the bytes so far, once the listener bus has been quiet for a moment */
        long total() throws InterruptedException {
            long seen = -1;
            while (seen != stages.get()) {
                seen = stages.get();
                Thread.sleep(500);
            }
            return bytes.get();
        }
    }

    /** @param writesFile whether the run's time includes writing the vocabulary file */
    private static void report(PrintStream out, String what, boolean writesFile, long nanos,
            java.util.List<ScanStats> scans, long tokens, int cores) {
        double s = nanos / 1e9;
        out.printf(Locale.ROOT, "%s: %.2f s, %.2fM tokens/s, %.2fM tokens/s per core%n", what, s, tokens / s / 1e6,
                tokens / s / 1e6 / cores);
        long passes = 0;
        for (ScanStats x : scans) {
            out.printf(Locale.ROOT, "    n=%d: %.2f s, %,d survivors, %.2f task CPU-s%n", x.n(), x.totalNanos() / 1e9,
                    x.survivors(), x.cpuNanos() / 1e9);
            passes += x.totalNanos();
        }
        out.printf(Locale.ROOT, "    the rest (planning, ranking the top S%s): %.2f s%n",
                writesFile ? ", writing the vocabulary file" : "", (nanos - passes) / 1e9);
    }

    private static int localCores(String master) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("local\\[(\\d+|\\*)(,\\d+)?\\]").matcher(master);
        if (m.matches()) {
            return m.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(m.group(1));
        }
        return master.equals("local") ? 1 : Runtime.getRuntime().availableProcessors();
    }

    /** Writes a corpus of i.i.d. Zipf-distributed token ranks, documents of 200..2000 tokens. */
    static void writeZipf(Path file, long tokens, int vocabulary, double exponent, long seed) throws IOException {
        double[] cdf = new double[vocabulary];
        double sum = 0;
        for (int i = 0; i < vocabulary; i++) {
            sum += 1.0 / Math.pow(i + 1, exponent);
            cdf[i] = sum;
        }
        SplittableRandom r = new SplittableRandom(seed);
        try (TokenIdFile.Writer w = TokenIdFile.newWriter(file, vocabulary)) {
            long left = tokens;
            while (left > 0) {
                int len = (int) Math.min(left, 200 + r.nextInt(1801));
                int[] doc = new int[len];
                for (int i = 0; i < len; i++) {
                    double u = r.nextDouble() * sum;
                    int lo = 0;
                    int hi = vocabulary - 1;
                    while (lo < hi) {
                        int mid = (lo + hi) >>> 1;
                        if (cdf[mid] < u) {
                            lo = mid + 1;
                        } else {
                            hi = mid;
                        }
                    }
                    doc[i] = lo;
                }
                w.append(doc);
                left -= len;
            }
            w.complete();
        }
    }
}

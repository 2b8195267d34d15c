package dev.scone.spark.count;

import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.count.CountingConfig;
import dev.scone.fgram.count.CountingResult;
import dev.scone.fgram.count.FgramCounter;
import dev.scone.fgram.count.ScanStats;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.spark.cli.Args;
import dev.scone.spark.cli.Spark;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Counts f-grams with {@link SparkFgramCounter} and writes the vocabulary file.
 *
 * <pre>
 * CountMain --input TOKEN_ID_FILE --output VOCABULARY_FILE --top-s S
 *           [--max-n 5] [--min-count 5] [--first-scan-min-count 1]
 *           [--partitions 64] [--split-tokens 8388608] [--pruning auto|broadcast|join]
 *           [--broadcast-limit 20000000] [--master local[2]] [--check-single-machine]
 * </pre>
 *
 * {@code --check-single-machine} also counts the same (local) file with {@code FgramCounter} and
 * fails unless both vocabulary files (each recording the corpus it was counted on) are
 * byte-identical.
 */
public final class CountMain {

    private static final Set<String> FLAGS = Set.of("check-single-machine", "help");
    private static final Set<String> KNOWN = Set.of("input", "output", "top-s", "max-n", "min-count",
            "first-scan-min-count", "partitions", "split-tokens", "pruning", "broadcast-limit", "master",
            "check-single-machine", "help");

    private CountMain() {}

    /**
     * @param argv the command line
     * @throws Exception when counting fails
     */
    public static void main(String[] argv) throws Exception {
        Args a = Args.parse(argv, FLAGS, KNOWN);
        PrintStream out = System.out;
        if (a.has("help") || argv.length == 0) {
            out.println("usage: CountMain --input TOKEN_ID_FILE --output VOCABULARY_FILE --top-s S [--max-n 5]"
                    + " [--min-count 5] [--first-scan-min-count 1] [--partitions 64] [--split-tokens 8388608]"
                    + " [--pruning auto|broadcast|join] [--broadcast-limit 20000000] [--master local[2]]"
                    + " [--check-single-machine]");
            return;
        }
        CountingConfig counting = CountingConfig.builder().setTopS(a.integer("top-s", -1))
                .optMaxN(a.integer("max-n", CountingConfig.DEFAULT_MAX_N))
                .optMinCount(a.integer("min-count", CountingConfig.DEFAULT_MIN_COUNT))
                .optFirstScanMinCount(a.integer("first-scan-min-count", CountingConfig.DEFAULT_FIRST_SCAN_MIN_COUNT))
                .build();
        SparkCountingConfig config = new SparkCountingConfig(counting, a.integer("partitions", 64),
                a.number("split-tokens", SparkCountingConfig.DEFAULT_SPLIT_TOKENS),
                SparkCountingConfig.Pruning.valueOf(a.get("pruning", "auto").toUpperCase(Locale.ROOT)),
                a.number("broadcast-limit", SparkCountingConfig.DEFAULT_BROADCAST_LIMIT));
        String input = a.required("input");
        String output = a.required("output");
        JavaSparkContext spark = Spark.start("scone-count", a.get("master", null));
        try {
            out.printf(Locale.ROOT, "Spark %s, master %s, %d partitions, split %,d tokens, pruning %s%n",
                    spark.version(), spark.master(), config.partitions(), config.splitTokens(), config.pruning());
            SparkCountingResult r = new SparkFgramCounter(spark, config).countToFile(input, output);
            print(out, r);
            out.printf(Locale.ROOT, "wrote %s: %,d f-grams, fingerprint %s%n", output, r.size(), r.fingerprint());
            if (a.has("check-single-machine")) {
                CountingResult single;
                FgramVocabularyFile.CountedOn countedOn;
                try (TokenIdFile f = TokenIdFile.open(Path.of(input))) {
                    single = new FgramCounter(counting).count(f);
                    countedOn = FgramVocabularyFile.CountedOn.of(f);
                }
                Path tmp = Files.createTempFile("scone-single", ".fgv");
                try {
                    FgramVocabularyFile.write(single.vocabulary(), tmp, countedOn);
                    boolean same = Arrays.equals(Files.readAllBytes(tmp), Files.readAllBytes(Path.of(output)));
                    out.printf(Locale.ROOT, "single-machine FgramCounter: %.2f s; vocabulary files %s%n",
                            single.totalNanos() / 1e9, same ? "byte-identical" : "DIFFER");
                    if (!same) {
                        throw new IllegalStateException("the Spark and single-machine vocabularies differ");
                    }
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
        } finally {
            spark.stop();
        }
    }

    static void print(PrintStream out, SparkCountingResult r) {
        for (ScanStats s : r.scans()) {
            out.printf(Locale.ROOT, "  n=%d (min %d): %,d occurrences counted, %,d distinct, %,d survivors, %.2f s%n",
                    s.n(), s.threshold(), s.occurrencesCounted(), s.distinctCandidates(), s.survivors(),
                    s.totalNanos() / 1e9);
            out.printf(Locale.ROOT, "        counting and summing tasks: %.2f CPU-s%n", s.cpuNanos() / 1e9);
        }
        out.printf(Locale.ROOT, "counted %,d tokens in %.2f s (%.2fM tokens/s): %,d survivors, kept %,d%n",
                r.scans().get(0).tokens(), r.totalNanos() / 1e9, r.scans().get(0).tokens() / (r.totalNanos() / 1e9)
                        / 1e6, r.totalSurvivors(), r.size());
    }
}

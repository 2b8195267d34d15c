package dev.scone.examples;

import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.count.CountingConfig;
import dev.scone.fgram.count.CountingResult;
import dev.scone.fgram.count.FgramCounter;
import dev.scone.fgram.count.ScanStats;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Builds the f-gram vocabulary V_fgram (paper Algorithm 3) from the training split's token-id file
 * and writes it as a vocabulary file.
 */
@Command(name = "count", mixinStandardHelpOptions = true,
        description = "Count f-grams on the training split (Algorithm 3) and write the top S as a vocabulary file.")
public final class CountCommand implements Callable<Integer> {

    @Option(names = "--train", description = "The training split's token-id file (default: ${DEFAULT-VALUE}).")
    Path train = Path.of("out", "tokens", "train.tok");

    @Mixin
    SharedOptions.Counting counting = new SharedOptions.Counting();

    @Option(names = "--threads", description = "Counting threads (default: ${DEFAULT-VALUE}).")
    int threads = CountingConfig.DEFAULT_THREADS;

    @Option(names = "--memory-mb", description = "Heap for one scan's count tables before spilling to disk, MiB (default: ${DEFAULT-VALUE}).")
    long memoryMb = CountingConfig.DEFAULT_MEMORY_BUDGET_BYTES >> 20;

    @Option(names = "--out", description = "The vocabulary file to write (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("out", "fgrams.bin");

    @Override
    public Integer call() throws Exception {
        CliSupport.requireFile(train, "--train");
        counting.check();
        CliSupport.requireAtLeast(threads, 1, "--threads");
        CliSupport.requireAtLeast(memoryMb, 1, "--memory-mb");
        run(train, counting.maxN, counting.minCount, counting.topS, threads, memoryMb << 20, out, System.out);
        return 0;
    }

    /**
     * Counts f-grams on a training split and writes the vocabulary.
     *
     * @param train the training split's token-id file (never an evaluation split)
     * @param maxN K
     * @param minCount threshold from the second scan on
     * @param topS S
     * @param threads counting threads
     * @param memoryBudgetBytes heap for one scan's count tables
     * @param out the vocabulary file (its folder is created; spills go beside it)
     * @param log where to print what was done
     * @return the counting result
     * @throws Exception when reading, counting or writing fails
     */
    public static CountingResult run(Path train, int maxN, int minCount, int topS, int threads,
            long memoryBudgetBytes, Path out, PrintStream log) throws Exception {
        Path target = out.toAbsolutePath();
        Files.createDirectories(target.getParent());
        CountingConfig config = CountingConfig.builder().optMaxN(maxN).optMinCount(minCount).setTopS(topS).optThreads(threads)
                .optMemoryBudgetBytes(memoryBudgetBytes).optSpillDirectory(target.getParent()).build();
        CountingResult r;
        FgramVocabularyFile.CountedOn countedOn;
        try (TokenIdFile corpus = TokenIdFile.open(train)) {
            countedOn = FgramVocabularyFile.CountedOn.of(corpus);
            log.printf(Locale.ROOT, "counting f-grams (K = %d, min count %d, top %,d) on %s: %d documents, %,d tokens%n",
                    maxN, minCount, topS, train, corpus.documentCount(), corpus.tokenCount());
            r = new FgramCounter(config).count(corpus);
        }
        for (ScanStats s : r.scans()) {
            log.println("  " + s);
        }
        FgramVocabulary v = r.vocabulary();
        FgramVocabularyFile.write(v, target, countedOn);
        int[] byLength = new int[maxN + 1];
        for (int i = 0; i < v.size(); i++) {
            byLength[v.length(i)]++;
        }
        StringBuilder lengths = new StringBuilder();
        for (int n = FgramVocabulary.MIN_N; n <= maxN; n++) {
            lengths.append(String.format(Locale.ROOT, "%s%,d of length %d", n > FgramVocabulary.MIN_N ? ", " : "",
                    byLength[n], n));
        }
        log.printf(Locale.ROOT, "kept %,d of %,d surviving n-grams (%s); lowest kept count %s; %.1f s%n", v.size(),
                r.totalSurvivors(), lengths, v.size() == 0 ? "-" : Long.toString(v.count(v.size() - 1)),
                r.totalNanos() / 1e9);
        log.printf(Locale.ROOT, "wrote %s (fingerprint %s)%n", target, v.fingerprint());
        return r;
    }
}

package dev.scone.spark.count;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.corpus.CorpusTokenizer;
import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.corpus.Tokenizer;
import dev.scone.fgram.corpus.Tokenizers;
import dev.scone.fgram.count.CountingConfig;
import dev.scone.fgram.count.CountingResult;
import dev.scone.fgram.count.FgramCounter;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.progress.ProgressListener;
import dev.scone.fgram.testing.TestData;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.spark.LocalSpark;
import dev.scone.spark.count.SparkCountingConfig.Pruning;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

public class SparkFgramCounterTest {

    @TempDir
    Path tmp;

    /**
     * Documents over a Zipf-like distribution of {@code vocab} tokens with a few repeated phrases
     * (so that long n-grams survive), lengths 0..maxDocLength (empty and short documents included).
     * With {@code spreadTo > 0} token t becomes {@code spreadTo - 1 - 7 t}: ids too wide for the
     * single-machine counter to pack every n-gram into one long.
     */
    public static InMemoryTokenCorpus corpus(long seed, int docs, int maxDocLength, int vocab, int spreadTo) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] cdf = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += 1.0 / Math.pow(i + 1, 1.1);
            cdf[i] = sum;
        }
        int[][] phrases = new int[5][];
        for (int p = 0; p < phrases.length; p++) {
            phrases[p] = new int[2 + rnd.nextInt(6)];
            for (int k = 0; k < phrases[p].length; k++) {
                phrases[p][k] = sample(rnd, cdf, sum);
            }
        }
        int[][] out = new int[docs][];
        for (int d = 0; d < docs; d++) {
            int len = rnd.nextInt(maxDocLength + 1);
            int[] doc = new int[len];
            for (int i = 0; i < len; ) {
                if (rnd.nextInt(6) == 0) {
                    int[] ph = phrases[rnd.nextInt(phrases.length)];
                    for (int k = 0; k < ph.length && i < len; k++) {
                        doc[i++] = ph[k];
                    }
                } else {
                    doc[i++] = sample(rnd, cdf, sum);
                }
            }
            if (spreadTo > 0) {
                for (int i = 0; i < len; i++) {
                    doc[i] = spreadTo - 1 - 7 * doc[i];
                }
            }
            out[d] = doc;
        }
        return new InMemoryTokenCorpus(out, spreadTo > 0 ? spreadTo : vocab);
    }

    private static int sample(SplittableRandom rnd, double[] cdf, double sum) {
        double u = rnd.nextDouble() * sum;
        int lo = 0;
        int hi = cdf.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cdf[mid] < u) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** One random corpus and the settings to count it with. */
    record Case(String name, long seed, int docs, int maxDocLength, int vocab, int spreadTo, int maxN, int minCount,
            int firstScanMinCount, int topS, int partitions, long splitTokens, Pruning pruning, boolean tieAtCut,
            int limitLevel) {
        Case(String name, long seed, int docs, int maxDocLength, int vocab, int spreadTo, int maxN, int minCount,
                int firstScanMinCount, int topS, int partitions, long splitTokens, Pruning pruning, boolean tieAtCut) {
            this(name, seed, docs, maxDocLength, vocab, spreadTo, maxN, minCount, firstScanMinCount, topS, partitions,
                    splitTokens, pruning, tieAtCut, 0);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("ties at the cut, 1 partition, small splits, broadcast", 1, 60, 400, 40, 0, 5, 2, 1, 150, 1, 1111,
                        Pruning.BROADCAST, true),
                new Case("ties at the cut, 3 partitions, join", 1, 60, 400, 40, 0, 5, 2, 1, 150, 3, 1000,
                        Pruning.JOIN, true),
                new Case("ties at the cut, 7 partitions, auto", 1, 60, 400, 40, 0, 5, 2, 1, 150, 7,
                        SparkCountingConfig.DEFAULT_SPLIT_TOKENS, Pruning.AUTO, true),
                new Case("wide ids (unpacked keys), K=6, join", 2, 50, 300, 30, 70_000, 6, 3, 1, 100, 3, 2111,
                        Pruning.JOIN, false),
                new Case("first threshold above the later one: pruning decides, broadcast", 3, 80, 300, 25, 0, 5, 2, 4,
                        100_000, 7, 1500, Pruning.BROADCAST, false),
                new Case("first threshold above the later one: pruning decides, join", 3, 80, 300, 25, 0, 5, 2, 4,
                        100_000, 3, 3001, Pruning.JOIN, false),
                new Case("min count 1 keeps everything, auto falls back to join", 4, 30, 120, 20, 0, 4, 1, 1, 300, 3,
                        200, Pruning.AUTO, true),
                new Case("S = 1", 5, 40, 200, 15, 0, 3, 5, 1, 1, 3, 640, Pruning.AUTO, false),
                new Case("wide ids (keys of the prefix's survivor index), K=6, broadcast", 2, 50, 300, 30, 70_000, 6, 3,
                        1, 100, 3, 2111, Pruning.BROADCAST, false),
                // broadcast limit = the 3-gram survivors: 3-grams joined, 4-grams broadcast (the joined 3-grams
                // packed again), 5-grams joined (the broadcast 4-grams' keys decoded), 6-grams joined
                new Case("wide ids, auto switching between join and broadcast", 2, 50, 300, 120, 70_000, 6, 3, 2,
                        100_000, 4, 1700, Pruning.AUTO, false, 3),
                // S = 40,000: three blocks of 2^14 ids ranked in 2 partitions: blocks held whole by one partition
                // (encoded there) and a block shared by both (encoded by the task that joins the file)
                new Case("three blocks of ids over 2 partitions, ties at the cut", 6, 100, 800, 3000, 0, 5, 1, 1,
                        40_000, 2, 5000, Pruning.BROADCAST, true));
    }

    private Path write(InMemoryTokenCorpus c, String name) throws IOException {
        Path f = tmp.resolve(name);
        TokenIdFile.write(f, c);
        return f;
    }

    private static CountingConfig counting(Case k) {
        return CountingConfig.builder().optMaxN(k.maxN()).optMinCount(k.minCount()).optFirstScanMinCount(k.firstScanMinCount())
                .setTopS(k.topS()).optThreads(2).build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void sameVocabularyFileAsOneMachine(Case k) throws IOException {
        Path corpus = write(corpus(k.seed(), k.docs(), k.maxDocLength(), k.vocab(), k.spreadTo()), "c.tok");
        Path single = tmp.resolve("single.fgv");
        Path spark = tmp.resolve("spark.fgv");
        FgramVocabulary expected;
        try (TokenIdFile f = TokenIdFile.open(corpus)) {
            expected = new FgramCounter(counting(k)).count(f).vocabulary();
            FgramVocabularyFile.write(expected, single, FgramVocabularyFile.CountedOn.of(f));
            if (k.tieAtCut()) {
                // the case really cuts through a group of equal counts
                CountingConfig all = counting(k);
                FgramVocabulary full = new FgramCounter(CountingConfig.builder().optMaxN(all.maxN())
                        .optMinCount(all.minCount()).optFirstScanMinCount(all.firstScanMinCount()).setTopS(Integer.MAX_VALUE)
                        .build()).count(f).vocabulary();
                assertTrue(full.size() > k.topS(), "more survivors than S");
                assertEquals(full.count(k.topS() - 1), full.count(k.topS()), "a tie at the cut");
            }
        }
        assertTrue(expected.size() > 0);
        long limit = k.pruning() == Pruning.AUTO && k.minCount() == 1 ? 0 : SparkCountingConfig.DEFAULT_BROADCAST_LIMIT;
        if (k.limitLevel() > 0) {
            try (TokenIdFile f = TokenIdFile.open(corpus)) {
                CountingResult one = new FgramCounter(counting(k)).count(f);
                limit = one.scans().get(k.limitLevel() - 2).survivors();
                assertTrue(one.scans().get(0).survivors() > limit, "the 2-gram survivors are above the limit: " + one.scans());
                assertTrue(one.scans().size() == 5 && one.scans().get(2).survivors() > 0, "every pass has survivors");
            }
        }
        SparkCountingConfig config = new SparkCountingConfig(counting(k), k.partitions(), k.splitTokens(), k.pruning(),
                limit);
        SparkCountingResult r = new SparkFgramCounter(LocalSpark.get(), config).countToFile(corpus.toUri().toString(),
                spark.toString());
        assertEquals(expected.size(), r.size());
        assertEquals(expected.fingerprint(), r.fingerprint());
        assertArrayEquals(Files.readAllBytes(single), Files.readAllBytes(spark));
    }

    @Test
    void aCorpusWithoutSurvivorsGivesAnEmptyVocabularyFile() throws IOException {
        Path corpus = write(corpus(8, 10, 50, 30, 0), "c.tok");
        CountingConfig counting = CountingConfig.builder().optMinCount(1_000).optFirstScanMinCount(1_000).setTopS(10)
                .build();
        Path single = tmp.resolve("single.fgv");
        try (TokenIdFile f = TokenIdFile.open(corpus)) {
            FgramVocabulary none = new FgramCounter(counting).count(f).vocabulary();
            assertEquals(0, none.size());
            FgramVocabularyFile.write(none, single, FgramVocabularyFile.CountedOn.of(f));
        }
        Path spark = tmp.resolve("spark.fgv");
        SparkCountingResult r = new SparkFgramCounter(LocalSpark.get(), SparkCountingConfig.of(counting, 3))
                .countToFile(corpus.toString(), spark.toString());
        assertEquals(0, r.size());
        assertArrayEquals(Files.readAllBytes(single), Files.readAllBytes(spark));
    }

    @Test
    void sameVocabularyFileOnASliceOfTheRealCorpus() throws IOException {
        List<Path> docs = CorpusTokenizer.listDocuments(TestData.sotuDir());
        Path slice = Files.createDirectories(tmp.resolve("slice"));
        for (Path d : docs.subList(docs.size() - 12, docs.size())) {
            Files.copy(d, slice.resolve(d.getFileName()));
        }
        Path corpus = tmp.resolve("sotu.tok");
        try (Tokenizer t = Tokenizers.gpt2()) {
            CorpusTokenizer.builder().setTokenizer(t).optThreads(2).optProgress(ProgressListener.NONE)
                    .build().tokenize(slice, corpus);
        }
        CountingConfig counting = CountingConfig.builder().setTopS(3000).build(); // the paper's K = 5, threshold 5
        Path single = tmp.resolve("single.fgv");
        try (TokenIdFile f = TokenIdFile.open(corpus)) {
            assertTrue(f.tokenCount() > 50_000, "a real slice: " + f.tokenCount() + " tokens");
            FgramVocabularyFile.write(new FgramCounter(counting).count(f).vocabulary(), single,
                    FgramVocabularyFile.CountedOn.of(f));
        }
        for (int partitions : new int[] {3, 7}) {
            Path spark = tmp.resolve("spark-" + partitions + ".fgv");
            SparkCountingConfig config = SparkCountingConfig.of(counting, partitions).withSplitTokens(60_000)
                    .withPruning(partitions == 3 ? Pruning.BROADCAST : Pruning.JOIN);
            SparkCountingResult r = new SparkFgramCounter(LocalSpark.get(), config).countToFile(corpus.toString(),
                    spark.toString());
            assertEquals(4, r.scans().size());
            assertArrayEquals(Files.readAllBytes(single), Files.readAllBytes(spark), partitions + " partitions");
        }
    }

    @Test
    void damagedTokenSectionIsRefused() throws IOException {
        Path corpus = write(corpus(9, 20, 200, 30, 0), "c.tok");
        try (FileChannel ch = FileChannel.open(corpus, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, TokenIdFile.Header.BYTES + 40);
            b.put(0, (byte) (b.get(0) ^ 1)).position(0);
            ch.write(b, TokenIdFile.Header.BYTES + 40);
        }
        SparkFgramCounter counter = new SparkFgramCounter(LocalSpark.get(),
                SparkCountingConfig.of(CountingConfig.defaults(10), 2).withSplitTokens(100));
        Path out = tmp.resolve("out.fgv");
        SconeFormatException e = assertThrows(SconeFormatException.class,
                () -> counter.countToFile(corpus.toString(), out.toString()));
        assertTrue(e.getMessage().contains("token section checksum mismatch"), e.getMessage());
        assertTrue(Files.notExists(out));
    }

    @Test
    void foreignFileIsRefused() throws IOException {
        Path f = Files.write(tmp.resolve("x.tok"), new byte[200]);
        SparkFgramCounter counter = new SparkFgramCounter(LocalSpark.get(),
                SparkCountingConfig.of(CountingConfig.defaults(10), 2));
        SconeFormatException e = assertThrows(SconeFormatException.class,
                () -> counter.countToFile(f.toString(), tmp.resolve("out.fgv").toString()));
        assertTrue(e.getMessage().contains("not a token-id file"), e.getMessage());
    }

    @Test
    void emptyCorpusIsRefused() throws IOException {
        Path corpus = write(new InMemoryTokenCorpus(new int[][] {{}}, 10), "empty.tok");
        SparkFgramCounter counter = new SparkFgramCounter(LocalSpark.get(),
                SparkCountingConfig.of(CountingConfig.defaults(10), 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> counter.countToFile(corpus.toString(), tmp.resolve("out.fgv").toString()));
        assertTrue(e.getMessage().contains("corpus is empty"), e.getMessage());
    }

    @Test
    void badSettingsAreRefused() {
        CountingConfig c = CountingConfig.defaults(10);
        assertThrows(IllegalArgumentException.class, () -> SparkCountingConfig.of(c, 0));
        assertThrows(IllegalArgumentException.class, () -> SparkCountingConfig.of(c, 1).withSplitTokens(0));
        assertThrows(IllegalArgumentException.class, () -> SparkCountingConfig.of(c, 1).withBroadcastLimit(-1));
    }
}

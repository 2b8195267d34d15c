package dev.scone.fgram.count;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FgramCounterTest {

    @TempDir
    Path tmp;

    /**
     * Documents drawn from a Zipf-ish distribution over {@code vocab} tokens, with a few phrases
     * repeated so that long n-grams survive.
     */
    static InMemoryTokenCorpus zipfCorpus(long seed, int docs, int maxDocLength, int vocab) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] cdf = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += 1.0 / Math.pow(i + 1, 1.1);
            cdf[i] = sum;
        }
        int[][] phrases = new int[4][];
        for (int p = 0; p < phrases.length; p++) {
            phrases[p] = new int[2 + rnd.nextInt(5)];
            for (int k = 0; k < phrases[p].length; k++) {
                phrases[p][k] = sample(rnd, cdf, sum);
            }
        }
        int[][] out = new int[docs][];
        for (int d = 0; d < docs; d++) {
            int len = rnd.nextInt(maxDocLength + 1);
            int[] doc = new int[len];
            for (int i = 0; i < len; ) {
                if (rnd.nextInt(8) == 0) {
                    int[] ph = phrases[rnd.nextInt(phrases.length)];
                    for (int k = 0; k < ph.length && i < len; k++) {
                        doc[i++] = ph[k];
                    }
                } else {
                    doc[i++] = sample(rnd, cdf, sum);
                }
            }
            out[d] = doc;
        }
        return new InMemoryTokenCorpus(out, vocab);
    }

    /**
     * The same documents with token t renamed to a large id, so that the counter's keys cannot
     * pack every n-gram into one long.
     */
    static InMemoryTokenCorpus spread(InMemoryTokenCorpus corpus, int vocabularySize) {
        int stride = (vocabularySize - 1) / corpus.vocabularySize();
        int[][] docs = new int[corpus.documentCount()][];
        for (int d = 0; d < docs.length; d++) {
            docs[d] = corpus.document(d);
            for (int i = 0; i < docs[d].length; i++) {
                docs[d][i] = vocabularySize - 1 - docs[d][i] * stride;
            }
        }
        return new InMemoryTokenCorpus(docs, vocabularySize);
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

    static void assertSameAsReference(TokenCorpus corpus, CountingConfig config, FgramVocabulary v) {
        List<BruteForceCounter.Entry> expected = BruteForceCounter.vocabulary(corpus, config);
        assertEquals(expected.size(), v.size(), "vocabulary size for " + config);
        for (int id = 0; id < v.size(); id++) {
            List<Integer> tokens = new ArrayList<>();
            for (int t : v.tokens(id)) {
                tokens.add(t);
            }
            assertEquals(expected.get(id).tokens(), tokens, "tokens of f-gram " + id + " for " + config);
            assertEquals(expected.get(id).count(), v.count(id), "count of f-gram " + id + " for " + config);
        }
        assertEquals(config.maxN(), v.maxN());
        assertEquals(corpus.vocabularySize(), v.tokenVocabularySize());
    }

    @Test
    void equalsBruteForceOnRandomCorpora() throws IOException {
        SplittableRandom rnd = new SplittableRandom(20260101);
        int longest = 0;
        for (int trial = 0; trial < 60; trial++) {
            InMemoryTokenCorpus corpus = zipfCorpus(1000 + trial, 1 + rnd.nextInt(25), rnd.nextInt(400),
                    2 + rnd.nextInt(60));
            if (trial % 3 == 1) {
                // token ids of 21..31 bits: keys of 3-grams and longer are (prefix index, last token)
                corpus = spread(corpus, (1 << (20 + rnd.nextInt(11))) + rnd.nextInt(1000));
            }
            if (corpus.tokenCount() == 0) {
                continue;
            }
            int[] sizes = {1, 3, 10, 50, 200, 100_000};
            CountingConfig config = CountingConfig.builder().optMaxN(2 + rnd.nextInt(5)).optMinCount(1 + rnd.nextInt(5))
                    .optFirstScanMinCount(1 + rnd.nextInt(4)).setTopS(sizes[rnd.nextInt(sizes.length)])
                    .optThreads(1 + rnd.nextInt(3)).optSpillDirectory(tmp).build();
            CountingResult r = new FgramCounter(config).count(corpus);
            assertSameAsReference(corpus, config, r.vocabulary());
            assertEquals(0, r.bytesSpilled(), "a large budget never spills");
            for (int id = 0; id < r.vocabulary().size(); id++) {
                longest = Math.max(longest, r.vocabulary().length(id));
            }
        }
        assertTrue(longest >= 5, "the corpora should let 5-grams survive, longest was " + longest);
    }

    @Test
    void spillingGivesTheSameVocabulary() throws IOException {
        SplittableRandom rnd = new SplittableRandom(77);
        for (int trial = 0; trial < 4; trial++) {
            InMemoryTokenCorpus corpus = zipfCorpus(500 + trial, 40, 1500, 300 + rnd.nextInt(300));
            if (trial % 2 == 1) {
                corpus = spread(corpus, Integer.MAX_VALUE);
            }
            CountingConfig config = CountingConfig.builder().optMaxN(3 + rnd.nextInt(3)).optMinCount(2 + rnd.nextInt(3))
                    .optFirstScanMinCount(1).setTopS(trial % 2 == 0 ? 500 : 1_000_000).optThreads(1 + trial % 2)
                    .optMemoryBudgetBytes(CountingConfig.MIN_MEMORY_BUDGET_BYTES).optSpillDirectory(tmp).build();
            CountingResult spilled = new FgramCounter(config).count(corpus);
            assertTrue(spilled.bytesSpilled() > 0 && spilled.runs() > 1, "the tiny budget must spill: " + spilled.scans());
            assertSameAsReference(corpus, config, spilled.vocabulary());
            CountingResult inMemory = new FgramCounter(config.withMemoryBudgetBytes(1L << 28)).count(corpus);
            assertEquals(0, inMemory.bytesSpilled());
            assertEquals(inMemory.vocabulary(), spilled.vocabulary());
            assertEquals(inMemory.vocabulary().fingerprint(), spilled.vocabulary().fingerprint());
            try (Stream<Path> left = Files.list(tmp)) {
                assertEquals(List.of(), left.toList(), "scratch runs are deleted");
            }
        }
    }

    @Test
    void partitionedTablesSpillToo() throws IOException {
        // a budget large enough for several partitions per worker, too small for the corpus
        InMemoryTokenCorpus corpus = zipfCorpus(21, 60, 4000, 20_000);
        CountingConfig config = CountingConfig.builder().optMaxN(3).optMinCount(2).setTopS(5000).optThreads(1)
                .optMemoryBudgetBytes(4L << 20).optSpillDirectory(tmp).build();
        CountingResult r = new FgramCounter(config).count(corpus);
        assertTrue(r.bytesSpilled() > 0, "the 4 MiB budget must spill: " + r.scans());
        assertSameAsReference(corpus, config, r.vocabulary());
    }

    @Test
    void manyRunsAreMergedInPasses() throws IOException {
        InMemoryTokenCorpus corpus = zipfCorpus(9, 110, 4000, 5000);
        CountingConfig config = CountingConfig.builder().optMaxN(3).optMinCount(2).setTopS(2000).optThreads(1)
                .optMemoryBudgetBytes(CountingConfig.MIN_MEMORY_BUDGET_BYTES).optSpillDirectory(tmp).build();
        CountingResult r = new FgramCounter(config).count(corpus);
        assertTrue(r.scans().get(0).runs() > SortedRuns.MAX_FAN_IN, "runs: " + r.scans().get(0).runs());
        assertSameAsReference(corpus, config, r.vocabulary());
    }

    @Test
    void aprioriPruningKeepsTheSurvivorsOfCountingEverything() {
        for (int trial = 0; trial < 10; trial++) {
            InMemoryTokenCorpus corpus = zipfCorpus(300 + trial, 20, 500, 30);
            int min = 2 + trial % 4;
            int firstMin = 1 + trial % min; // <= min: pruning then cannot drop a frequent n-gram
            List<Map<List<Integer>, Long>> pruned = BruteForceCounter.survivors(corpus, 5, firstMin, min, true);
            List<Map<List<Integer>, Long>> everything = BruteForceCounter.survivors(corpus, 5, firstMin, min, false);
            assertEquals(everything, pruned);
        }
    }

    @Test
    void aprioriPruningMatchesTheCounterOnCountingEverything() throws IOException {
        InMemoryTokenCorpus corpus = zipfCorpus(42, 30, 600, 25);
        CountingConfig config = CountingConfig.builder().optMaxN(5).optMinCount(3).setTopS(Integer.MAX_VALUE)
                .optSpillDirectory(tmp).build();
        FgramVocabulary v = new FgramCounter(config).count(corpus).vocabulary();
        List<Map<List<Integer>, Long>> everything = BruteForceCounter.survivors(corpus, 5, 1, 3, false);
        long expected = everything.stream().mapToLong(Map::size).sum();
        assertEquals(expected, v.size());
        for (int id = 0; id < v.size(); id++) {
            List<Integer> g = new ArrayList<>();
            for (int t : v.tokens(id)) {
                g.add(t);
            }
            assertEquals(everything.get(g.size()).get(g), v.count(id), "count of " + g);
        }
    }

    @Test
    void ngramsNeverCrossDocumentBoundaries() throws IOException {
        // "1 2 3" repeated inside documents, but "3 4" and "2 3 4" only across boundaries
        int[][] docs = new int[10][];
        for (int d = 0; d < docs.length; d++) {
            docs[d] = d % 2 == 0 ? new int[] {1, 2, 3} : new int[] {4, 5};
        }
        InMemoryTokenCorpus corpus = new InMemoryTokenCorpus(docs, 6);
        CountingConfig config = CountingConfig.builder().optMaxN(4).optMinCount(1).setTopS(100).optSpillDirectory(tmp).build();
        FgramVocabulary v = new FgramCounter(config).count(corpus).vocabulary();
        assertEquals(4, v.size(), "only 1 2, 2 3, 4 5 and 1 2 3: " + v);
        assertEquals(0, v.find(1, 2));
        assertEquals(5, v.count(0));
        assertEquals(-1, v.find(3, 4));
        assertEquals(-1, v.find(5, 1));
        assertEquals(-1, v.find(2, 3, 4));
        assertEquals(5, v.count(v.find(1, 2, 3)));
        assertSameAsReference(corpus, config, v);
    }

    @Test
    void longDocumentsAreSplitAcrossChunksExactly() throws IOException {
        // one document longer than a work unit: n-grams straddling chunk borders must be counted once
        SplittableRandom rnd = new SplittableRandom(5);
        int[] doc = new int[FgramCounter.CHUNK * 2 + 37];
        for (int i = 0; i < doc.length; i++) {
            doc[i] = rnd.nextInt(4) == 0 ? rnd.nextInt(50) : i % 7;
        }
        InMemoryTokenCorpus corpus = new InMemoryTokenCorpus(new int[][] {doc, {1, 2}}, 50);
        CountingConfig config = CountingConfig.builder().optMaxN(5).optMinCount(3).setTopS(5000).optSpillDirectory(tmp).build();
        assertSameAsReference(corpus, config, new FgramCounter(config).count(corpus).vocabulary());
    }

    @Test
    void resultIsIndependentOfThreads() throws IOException {
        InMemoryTokenCorpus corpus = zipfCorpus(8, 200, 300, 100);
        CountingConfig config = CountingConfig.builder().setTopS(300).optThreads(1).optSpillDirectory(tmp).build();
        FgramVocabulary one = new FgramCounter(config).count(corpus).vocabulary();
        for (int t = 2; t <= 4; t++) {
            assertEquals(one, new FgramCounter(config.withThreads(t)).count(corpus).vocabulary());
        }
    }

    @Test
    void statisticsDescribeEachScan() throws IOException {
        InMemoryTokenCorpus corpus = zipfCorpus(3, 20, 500, 40);
        CountingConfig config = CountingConfig.builder().optMaxN(4).setTopS(50).optSpillDirectory(tmp).build();
        CountingResult r = new FgramCounter(config).count(corpus);
        assertEquals(3, r.scans().size());
        long twoGrams = 0;
        for (int d = 0; d < corpus.documentCount(); d++) {
            twoGrams += Math.max(0, corpus.documentLength(d) - 1);
        }
        ScanStats first = r.scans().get(0);
        assertEquals(2, first.n());
        assertEquals(1, first.threshold());
        assertEquals(twoGrams, first.occurrencesCounted());
        assertEquals(first.distinctCandidates(), first.survivors(), "the first scan keeps every 2-gram");
        ScanStats second = r.scans().get(1);
        assertEquals(5, second.threshold());
        assertTrue(second.survivors() <= second.distinctCandidates());
        assertEquals(corpus.tokenCount(), second.tokens());
        assertEquals(r.totalSurvivors(), r.scans().stream().mapToLong(ScanStats::survivors).sum());
    }

    @Test
    void stopsWhenAScanLeavesNoSurvivor() throws IOException {
        InMemoryTokenCorpus corpus = new InMemoryTokenCorpus(new int[][] {{1, 2, 3, 4, 5, 6}}, 7);
        CountingConfig config = CountingConfig.builder().optMaxN(5).optMinCount(2).setTopS(10).optSpillDirectory(tmp).build();
        CountingResult r = new FgramCounter(config).count(corpus);
        assertEquals(2, r.scans().size(), "no 3-gram occurs twice, so no 4-gram scan");
        assertEquals(5, r.vocabulary().size());
        assertSameAsReference(corpus, config, r.vocabulary());
    }

    @Test
    void badConfigurationIsRejectedPrecisely() {
        assertMessage("maxN (K) must be >= 2, got 1", () -> CountingConfig.builder().optMaxN(1).setTopS(1).build());
        assertMessage("topS (S) must be >= 1, got 0", () -> CountingConfig.builder().setTopS(0).build());
        assertMessage("topS (S) is required", () -> CountingConfig.builder().build());
        assertMessage("minCount must be >= 1, got -1", () -> CountingConfig.builder().optMinCount(-1).setTopS(1).build());
        assertMessage("firstScanMinCount must be >= 1, got -3",
                () -> CountingConfig.builder().optFirstScanMinCount(-3).setTopS(1).build());
        assertMessage("threads must be >= 1, got 0", () -> CountingConfig.builder().optThreads(0).setTopS(1).build());
        assertMessage("memoryBudgetBytes must be >= 65536, got 100",
                () -> CountingConfig.builder().optMemoryBudgetBytes(100).setTopS(1).build());
    }

    @Test
    void badCorporaAreRejectedPrecisely() throws IOException {
        FgramCounter counter = new FgramCounter(CountingConfig.builder().setTopS(5).optSpillDirectory(tmp).build());
        assertMessage("corpus is empty: 0 documents, 0 tokens",
                () -> counter.count(new InMemoryTokenCorpus(new int[0][], 5)));
        assertMessage("corpus is empty: 2 documents, 0 tokens",
                () -> counter.count(new InMemoryTokenCorpus(new int[][] {{}, {}}, 5)));
        TokenCorpus lying = new TokenCorpus() {
            @Override
            public int documentCount() {
                return 1;
            }

            @Override
            public long tokenCount() {
                return 3;
            }

            @Override
            public int vocabularySize() {
                return 4;
            }

            @Override
            public int documentLength(int doc) {
                return 3;
            }

            @Override
            public IntBuffer tokens(int doc) {
                return IntBuffer.wrap(new int[] {1, 9, 2});
            }
        };
        assertMessage("token id 9 at document 0, position 1 is outside the vocabulary [0, 4)",
                () -> counter.count(lying));
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        FgramCounter bad = new FgramCounter(CountingConfig.builder().setTopS(5).optSpillDirectory(file).build());
        assertMessage("spill directory " + file + " is not a directory",
                () -> bad.count(new InMemoryTokenCorpus(new int[][] {{1, 2}}, 5)));
    }

    @Test
    void aFailureMidScanLeavesNoScratchFile() throws IOException {
        InMemoryTokenCorpus good = zipfCorpus(11, 50, 2000, 2000);
        TokenCorpus failing = new TokenCorpus() {
            @Override
            public int documentCount() {
                return good.documentCount();
            }

            @Override
            public long tokenCount() {
                return good.tokenCount();
            }

            @Override
            public int vocabularySize() {
                return good.vocabularySize();
            }

            @Override
            public int documentLength(int doc) {
                return good.documentLength(doc);
            }

            @Override
            public IntBuffer tokens(int doc) {
                if (doc == documentCount() - 1) {
                    throw new IllegalStateException("disk gone");
                }
                return good.tokens(doc);
            }
        };
        Path spill = tmp.resolve("spill");
        CountingConfig config = CountingConfig.builder().setTopS(10).optThreads(1)
                .optMemoryBudgetBytes(CountingConfig.MIN_MEMORY_BUDGET_BYTES).optSpillDirectory(spill).build();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new FgramCounter(config).count(failing));
        assertEquals("disk gone", e.getMessage());
        assertTrue(Files.isDirectory(spill), "it had spilled before failing");
        try (Stream<Path> left = Files.list(spill)) {
            assertEquals(List.of(), left.toList());
        }
    }

    private static void assertMessage(String message, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertEquals(message, ex.getMessage());
    }
}

package dev.scone.fgram.match;

import dev.scone.fgram.testing.BruteForceMatcher;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static dev.scone.fgram.match.MatcherFixtures.countedFgrams;
import static dev.scone.fgram.match.MatcherFixtures.randomCorpus;
import static dev.scone.fgram.match.MatcherFixtures.sampled;
import static dev.scone.fgram.match.MatcherFixtures.vocabulary;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class LevelwiseMatcherTest {

    /**
     * Blocks of one position, of a few, and the default, in both layouts, with tables in arrays of
     * 2^30 slots and of two or four (the code paths of tables past one array), against the reference.
     */
    private static void assertSameAsReference(FgramVocabulary v, int[] text, String what) {
        int[] expected = new BruteForceMatcher(v).match(text);
        LevelwiseMatcher m = LevelwiseMatcher.of(v);
        assertTrue(m.isPacked(), what);
        assertSameAsReference(v, m, expected, text, what + " (" + m + ")");
        for (int block : new int[] {1, 2, 7}) {
            assertSameAsReference(v, LevelwiseMatcher.build(v, block, true), expected, text, what + " block " + block);
        }
        LevelwiseMatcher wide = LevelwiseMatcher.build(v, 5, false);
        assertFalse(wide.isPacked(), what);
        assertSameAsReference(v, wide, expected, text, what + " (wide)");
        assertSameAsReference(v, LevelwiseMatcher.build(v, 7, true, 1), expected, text, what + " (pages of 2)");
        assertSameAsReference(v, LevelwiseMatcher.build(v, 3, false, 2), expected, text, what + " (wide, pages of 4)");
    }

    private static void assertSameAsReference(FgramVocabulary v, LevelwiseMatcher m, int[] expected, int[] text,
            String what) {
        assertArrayEquals(expected, m.match(text), what);
        int[] ids = new int[text.length];
        int[] lengths = new int[text.length];
        m.match(text, 0, text.length, ids, 0, lengths, 0);
        assertArrayEquals(expected, ids, what);
        for (int i = 0; i < text.length; i++) {
            assertEquals(ids[i] == FgramMatcher.NO_MATCH ? 1 : v.length(ids[i]), lengths[i], what + " length at " + i);
        }
        LevelwiseMatcher.MatchStats stats = m.stats(text, 0, text.length);
        assertEquals(Arrays.stream(expected).filter(id -> id != FgramMatcher.NO_MATCH).count(), stats.matched(), what);
        assertTrue(stats.slotsRead() >= stats.lookups(), what);
        // At most one lookup per position and length.
        assertTrue(stats.lookups() <= (long) (v.maxN() - 1) * text.length, what);
    }

    @Test
    void equalsReferenceOnVocabulariesThatAreNotClosed() {
        Random r = new Random(20261129L);
        int grown = 0;
        for (int maxN = 2; maxN <= 6; maxN++) {
            for (int trial = 0; trial < 12; trial++) {
                int tokenRange = switch (trial % 4) {
                    case 0 -> 2;
                    case 1 -> 5;
                    case 2 -> 40;
                    default -> 5000;
                };
                boolean closed = trial % 3 == 0;
                int[] corpus = randomCorpus(r, 3000, tokenRange);
                FgramVocabulary v = vocabulary(tokenRange, maxN,
                        sampled(r, corpus, maxN, tokenRange, 1 + r.nextInt(400), closed));
                String what = "K=" + maxN + " trial " + trial + " range " + tokenRange + " closed " + closed;
                assertSameAsReference(v, randomCorpus(r, 1 + r.nextInt(3000), tokenRange), what);
                LevelwiseMatcher m = LevelwiseMatcher.of(v);
                assertEquals(v.size(), m.size(), what);
                assertTrue(m.nodeCount() >= v.size(), what);
                if (closed) {
                    assertEquals(v.size(), m.nodeCount(), what + ": a closed vocabulary needs no extra node");
                }
                assertConstructionBounded(m, closed, what);
                grown += m.constructionPeakBytes() > m.memoryBytes() - 64 ? 1 : 0;
            }
        }
        assertTrue(grown > 0, "some table grew while it was filled");
    }

    @Test
    void equalsReferenceOnCountedVocabularies() {
        Random r = new Random(79L);
        for (int maxN = 2; maxN <= 6; maxN++) {
            for (int tokenRange : new int[] {3, 30, 300}) {
                int[] corpus = randomCorpus(r, 5000, tokenRange);
                FgramVocabulary v = vocabulary(tokenRange, maxN, countedFgrams(corpus, maxN, 50 + r.nextInt(1500)));
                assertEquals(v.size(), LevelwiseMatcher.of(v).nodeCount(), "counted vocabularies are closed");
                assertConstructionBounded(LevelwiseMatcher.of(v), true, "K=" + maxN);
                assertSameAsReference(v, corpus, "K=" + maxN + " range " + tokenRange + " (training text)");
                assertSameAsReference(v, randomCorpus(r, 3000, tokenRange), "K=" + maxN + " range " + tokenRange);
            }
        }
    }

    /**
     * The construction holds the finished tables and, while a table grows, its old and new arrays:
     * at most the finished matcher and half its largest table more; a closed vocabulary's tables
     * start at their final size and never grow.
     */
    private static void assertConstructionBounded(LevelwiseMatcher m, boolean closed, String what) {
        long held = m.memoryBytes() - 64; // the arrays, without the object's own fields
        if (closed) {
            assertEquals(held, m.constructionPeakBytes(), what);
        } else {
            assertTrue(m.constructionPeakBytes() >= held, what);
            assertTrue(m.constructionPeakBytes() <= held * 3 / 2, what + ": peak " + m.constructionPeakBytes()
                    + " for " + held);
        }
    }

    @Test
    void aMappedVocabularyBuildsTheSameMatcherAndDuplicatesAreRefused(@org.junit.jupiter.api.io.TempDir
            java.nio.file.Path tmp) throws Exception {
        Random r = new Random(17L);
        int[] corpus = randomCorpus(r, 6000, 50);
        FgramVocabulary v = vocabulary(50, 5, countedFgrams(corpus, 5, 1200));
        java.nio.file.Path file = tmp.resolve("v.bin");
        dev.scone.fgram.vocab.FgramVocabularyFile.write(v, file);
        int[] text = randomCorpus(r, 3000, 50);
        try (dev.scone.fgram.vocab.MappedFgramVocabulary mapped = dev.scone.fgram.vocab.FgramVocabularyFile.open(file)) {
            LevelwiseMatcher m = LevelwiseMatcher.of(mapped.vocabulary());
            assertArrayEquals(LevelwiseMatcher.of(v).match(text), m.match(text));
            assertArrayEquals(new BruteForceMatcher(v).match(text), m.match(text));
        }
        // The streaming writer cannot tell an f-gram written twice; the matcher's construction does.
        java.nio.file.Path twice = tmp.resolve("twice.bin");
        try (dev.scone.fgram.vocab.FgramVocabularyFile.Writer w = dev.scone.fgram.vocab.FgramVocabularyFile.newWriter(
                twice, 10, 3, 3, null)) {
            w.append(new int[] {1, 2, 3}, 9);
            w.append(new int[] {2, 3}, 8);
            w.append(new int[] {1, 2, 3}, 7);
            w.complete();
        }
        try (dev.scone.fgram.vocab.MappedFgramVocabulary mapped = dev.scone.fgram.vocab.FgramVocabularyFile.open(twice)) {
            assertEquals("f-gram [1, 2, 3] appears twice (ids 0 and 2)", assertThrows(IllegalArgumentException.class,
                    () -> LevelwiseMatcher.of(mapped.vocabulary())).getMessage());
        }
    }

    @Test
    void nodesThatAreNoFgramOutputTheirLongestFgramSuffix() {
        // Every sequence of >= 2 tokens inside an f-gram is a node: the ten inside [1 2 3 4 5],
        // and [5 6], [4 5 6], [3 4 5 6], [2 3 4 5 6] more. [1 2 3 4] is no f-gram and outputs [3 4].
        FgramVocabulary v = vocabulary(10, 5, List.of(new int[] {1, 2, 3, 4, 5}, new int[] {3, 4},
                new int[] {2, 3, 4, 5, 6}, new int[] {4, 5, 6}));
        LevelwiseMatcher m = LevelwiseMatcher.of(v);
        assertEquals(14, m.nodeCount());
        int n = FgramMatcher.NO_MATCH;
        int[] text = {1, 2, 3, 4, 7, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 5, 6};
        int[] expected = {n, n, n, 1, n, n, n, n, 1, 0, 2, n, n, 1, n, 2, n, n};
        assertArrayEquals(expected, new BruteForceMatcher(v).match(text));
        assertArrayEquals(expected, m.match(text));
        assertArrayEquals(expected, LevelwiseMatcher.build(v, 3, false).match(text));
    }

    @Test
    void documentsThatStartMidwayAndTheKCap() {
        Random r = new Random(7L);
        for (int maxN = 2; maxN <= 6; maxN++) {
            int[] corpus = randomCorpus(r, 2000, 4);
            FgramVocabulary v = vocabulary(4, maxN, sampled(r, corpus, maxN, 4, 200, maxN % 2 == 0));
            BruteForceMatcher ref = new BruteForceMatcher(v);
            int[] text = randomCorpus(r, 400, 4);
            for (LevelwiseMatcher m : List.of(LevelwiseMatcher.of(v), LevelwiseMatcher.build(v, 3, true))) {
                for (int from = 0; from < 30; from++) {
                    int len = r.nextInt(text.length - from + 1);
                    int[] out = new int[len + 6];
                    Arrays.fill(out, 4242);
                    m.match(text, from, len, out, 3);
                    assertArrayEquals(ref.match(Arrays.copyOfRange(text, from, from + len)),
                            Arrays.copyOfRange(out, 3, 3 + len), "K=" + maxN + " from " + from);
                    for (int k : new int[] {0, 1, 2, 3 + len, 4 + len, 5 + len}) {
                        assertEquals(4242, out[k], "wrote outside its range at " + k);
                    }
                }
            }
        }
        // A run of one token longer than K: the match stays at K tokens, never reaches further.
        FgramVocabulary v = vocabulary(3, 3, List.of(new int[] {1, 1}, new int[] {1, 1, 1}));
        int n = FgramMatcher.NO_MATCH;
        assertArrayEquals(new int[] {n, 0, 1, 1, 1, 1, n, n, 0}, LevelwiseMatcher.of(v)
                .match(new int[] {1, 1, 1, 1, 1, 1, 2, 1, 1}));
    }

    @Test
    void rowsOfAWindowAreMatchedOnTheirOwn() {
        FgramVocabulary v = vocabulary(10, 3, List.of(new int[] {1, 2}, new int[] {1, 2, 3}));
        LevelwiseMatcher m = LevelwiseMatcher.of(v);
        int n = FgramMatcher.NO_MATCH;
        int[] window = {0, 0, 1, 2, 3, 1, 2, 3, 1};
        assertArrayEquals(new int[] {n, n, n, n, n, n, n, n, n}, m.matchRows(window, 3, 3));
        assertArrayEquals(new int[] {n, n, n, 0, 1, n, 0, 1, n}, m.match(window));
        int[] ids = new int[9];
        int[] lengths = new int[9];
        m.matchRows(new int[] {1, 2, 3, 0, 1, 2, 9, 9, 9}, 3, 3, ids, lengths);
        assertArrayEquals(new int[] {n, 0, 1, n, n, 0, n, n, n}, ids);
        assertArrayEquals(new int[] {1, 2, 3, 1, 1, 2, 1, 1, 1}, lengths);

        Random r = new Random(13L);
        int[] corpus = randomCorpus(r, 3000, 6);
        FgramVocabulary big = vocabulary(6, 5, sampled(r, corpus, 5, 6, 300, false));
        BruteForceMatcher ref = new BruteForceMatcher(big);
        for (LevelwiseMatcher bm : List.of(LevelwiseMatcher.of(big), LevelwiseMatcher.build(big, 4, true))) {
            for (int rows : new int[] {1, 5, 41}) {
                for (int cols : new int[] {1, 2, 7, 33, 300}) {
                    int[] w = randomCorpus(r, rows * cols, 6);
                    int[] got = bm.matchRows(w, rows, cols);
                    int[] lens = new int[w.length];
                    int[] ids2 = new int[w.length];
                    bm.matchRows(w, rows, cols, ids2, lens);
                    assertArrayEquals(got, ids2, "T=" + cols);
                    for (int b = 0; b < rows; b++) {
                        assertArrayEquals(ref.match(Arrays.copyOfRange(w, b * cols, (b + 1) * cols)),
                                Arrays.copyOfRange(got, b * cols, (b + 1) * cols), "B=" + rows + " T=" + cols
                                        + " row " + b);
                    }
                    for (int i = 0; i < w.length; i++) {
                        assertEquals(got[i] == FgramMatcher.NO_MATCH ? 1 : big.length(got[i]), lens[i],
                                "length at " + i);
                    }
                }
            }
        }
        LevelwiseMatcher bm = LevelwiseMatcher.of(big);
        assertArrayEquals(new int[0], bm.matchRows(new int[0], 0, 5));
        assertArrayEquals(new int[0], bm.matchRows(new int[0], 4, 0));
        assertEquals("window of 3 tokens is not (2, 2)",
                assertThrows(IllegalArgumentException.class, () -> bm.matchRows(new int[3], 2, 2)).getMessage());
        assertEquals("window shape (-1, 2) is negative",
                assertThrows(IllegalArgumentException.class, () -> bm.matchRows(new int[2], -1, 2)).getMessage());
    }

    @Test
    void outOfRangeTokensAreNeverMatched() {
        Random r = new Random(98L);
        int[] corpus = randomCorpus(r, 3000, 6);
        for (int maxN = 2; maxN <= 5; maxN++) {
            FgramVocabulary v = vocabulary(6, maxN, countedFgrams(corpus, maxN, 500));
            int[] text = randomCorpus(r, 3000, 6);
            int[] odd = {-1, 6, 7, Integer.MIN_VALUE, Integer.MAX_VALUE, -2, 1 << 20, -(1 << 20), 6 + 64};
            for (int k = 0; k < text.length; k += 1 + r.nextInt(9)) {
                text[k] = odd[r.nextInt(odd.length)];
            }
            assertSameAsReference(v, text, "K=" + maxN + " with out-of-range ids");
        }
    }

    @Test
    void largeTokenIdsTakeTheWideLayout() {
        // 31-bit token ids leave no room for the output id in a slot's long.
        int range = Integer.MAX_VALUE;
        int big = range - 1;
        FgramVocabulary v = vocabulary(range, 4, List.of(new int[] {big, 0}, new int[] {big, 0, big},
                new int[] {0, big}, new int[] {5, big - 7}));
        LevelwiseMatcher m = LevelwiseMatcher.of(v);
        assertFalse(m.isPacked());
        int n = FgramMatcher.NO_MATCH;
        int[] text = {big, 0, big, 0, 5, big - 7, big - 7, -1, big};
        assertArrayEquals(new BruteForceMatcher(v).match(text), m.match(text));
        assertArrayEquals(new int[] {n, 0, 1, 0, n, 3, n, n, n}, m.match(text));
    }

    @Test
    void emptyVocabularyAndEmptyInput() {
        LevelwiseMatcher none = LevelwiseMatcher.of(vocabulary(5, 3, List.of()));
        assertEquals(0, none.size());
        assertEquals(0, none.nodeCount());
        assertArrayEquals(new int[] {-1, -1, -1}, none.match(new int[] {1, 2, 3}));
        assertArrayEquals(new int[0], none.match(new int[0]));
        LevelwiseMatcher one = LevelwiseMatcher.of(vocabulary(5, 3, List.of(new int[] {1, 2})));
        assertArrayEquals(new int[0], one.match(new int[0]));
        assertArrayEquals(new int[] {-1}, one.match(new int[] {1}));
        assertThrows(IndexOutOfBoundsException.class, () -> one.match(new int[3], 2, 2, new int[2], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> one.match(new int[3], 0, 3, new int[2], 0));
        assertEquals("block must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> LevelwiseMatcher.build(vocabulary(5, 3, List.of()), 0, true)).getMessage());
    }

    @Test
    void concurrentUseGivesTheSameAnswers() throws Exception {
        Random r = new Random(3L);
        int[] corpus = randomCorpus(r, 4000, 20);
        FgramVocabulary v = vocabulary(20, 5, countedFgrams(corpus, 5, 2000));
        LevelwiseMatcher m = LevelwiseMatcher.of(v);
        int[] text = randomCorpus(r, 20_000, 20);
        int[] expected = new BruteForceMatcher(v).match(text);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<int[]>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> m.match(text)));
            }
            for (Future<int[]> f : results) {
                assertArrayEquals(expected, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void statsCountTheWork() {
        LevelwiseMatcher m = LevelwiseMatcher.of(vocabulary(10, 3, List.of(new int[] {1, 2}, new int[] {0, 1, 2})));
        int[] text = {0, 1, 2, 3, 2};
        // From 1: [1 2] matches at one of four positions; the first has no room for a pair.
        LevelwiseMatcher.MatchStats s = m.stats(text, 1, 4);
        assertEquals(4, s.positions());
        assertEquals(1, s.matched());
        assertTrue(s.lookups() >= 1 && s.lookups() <= 3, s.toString());
        assertTrue(s.slotsRead() >= s.lookups(), s.toString());
        // From 0: [0 1 2] at position 2 needs a lookup of length 3 besides the pairs.
        LevelwiseMatcher.MatchStats all = m.stats(text, 0, 5);
        assertEquals(1, all.matched());
        assertTrue(all.lookups() > s.lookups(), all + " vs " + s);
        assertEquals(0.2, all.matchRate(), 1e-12);
        assertEquals(all.lookups() / 5.0, all.lookupsPerPosition(), 1e-12);
        LevelwiseMatcher.MatchStats sum = s.plus(all);
        assertEquals(new LevelwiseMatcher.MatchStats(9, s.lookups() + all.lookups(), s.slotsRead() + all.slotsRead(), 2),
                sum);
        assertEquals(0, new LevelwiseMatcher.MatchStats(0, 0, 0, 0).matchRate());
        assertThrows(IndexOutOfBoundsException.class, () -> m.stats(text, 3, 3));
    }

    @Test
    void badMatchArgumentsAreRejected() {
        LevelwiseMatcher m = LevelwiseMatcher.of(vocabulary(10, 3, List.of(new int[] {1, 2})));
        int[] tokens = {1, 2, 3};
        assertThrows(IndexOutOfBoundsException.class, () -> m.match(tokens, 2, 2, new int[5], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> m.match(tokens, -1, 2, new int[5], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> m.match(tokens, 0, 3, new int[5], 3));
        assertThrows(IndexOutOfBoundsException.class, () -> m.match(tokens, 0, 3, new int[3], 0, new int[2], 0));
        assertEquals("window of 3 tokens is not (2, 2)",
                assertThrows(IllegalArgumentException.class, () -> m.matchRows(tokens, 2, 2)).getMessage());
        assertEquals("window shape (-1, -3) is negative",
                assertThrows(IllegalArgumentException.class, () -> m.matchRows(tokens, -1, -3)).getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> m.matchRows(tokens, 1, 3, new int[2], null));
        assertThrows(IndexOutOfBoundsException.class, () -> m.matchRows(tokens, 3, 1, new int[3], new int[1]));
    }
}

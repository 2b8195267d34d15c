package dev.scone.fgram.match;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static dev.scone.fgram.match.MatcherFixtures.asList;
import static dev.scone.fgram.match.MatcherFixtures.countedFgrams;
import static dev.scone.fgram.match.MatcherFixtures.randomCorpus;
import static dev.scone.fgram.match.MatcherFixtures.vocabulary;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class LongestSuffixMatcherTest {

    // ---- random fixtures ----

    /** Random n-grams taken from the corpus, plus a few random sequences; not suffix-closed. */
    private static List<int[]> sampledFgrams(Random r, int[] corpus, int maxN, int tokenRange, int count,
            boolean suffixClose) {
        Set<List<Integer>> seen = new HashSet<>();
        List<int[]> out = new ArrayList<>();
        for (int a = 0; a < count * 4 && out.size() < count; a++) {
            int n = 2 + r.nextInt(maxN - 1);
            int[] g;
            if (r.nextInt(8) == 0 || corpus.length < n) {
                g = new int[n];
                for (int k = 0; k < n; k++) {
                    g[k] = r.nextInt(tokenRange);
                }
            } else {
                int at = r.nextInt(corpus.length - n + 1);
                g = Arrays.copyOfRange(corpus, at, at + n);
            }
            int minLen = suffixClose ? 2 : n;
            for (int m = n; m >= minLen; m--) {
                int[] suffix = Arrays.copyOfRange(g, n - m, n);
                if (seen.add(asList(suffix))) {
                    out.add(suffix);
                }
            }
        }
        Collections.shuffle(out, r);
        return out;
    }

    /** The same f-grams in the wide table layout, which {@link LongestSuffixMatcher#of} avoids when it can. */
    static LongestSuffixMatcher wide(FgramVocabulary v) {
        return builderOf(v).forceWideLayout().build();
    }

    private static LongestSuffixMatcher.Builder builderOf(FgramVocabulary v) {
        LongestSuffixMatcher.Builder b = LongestSuffixMatcher.builder(v.tokenVocabularySize(), v.maxN());
        for (int id = 0; id < v.size(); id++) {
            b.add(id, v.tokens(id));
        }
        return b;
    }

    /** Checks every table layout, with and without child filters, against the reference. */
    private static void assertSameAsReference(FgramVocabulary v, int[] text, String what) {
        LongestSuffixMatcher packed = LongestSuffixMatcher.of(v);
        assertTrue(packed.isPacked(), what);
        assertSameAsReference(v, packed, text, what + " (" + packed + ")");
        LongestSuffixMatcher wide = wide(v);
        assertTrue(!wide.isPacked(), what);
        assertSameAsReference(v, wide, text, what + " (" + wide + ")");
        assertSameAsReference(v, builderOf(v).withoutChildFilter().build(), text, what + " (packed, no filter)");
        assertSameAsReference(v, builderOf(v).forceWideLayout().withoutChildFilter().build(), text,
                what + " (wide, no filter)");
    }

    private static void assertSameAsReference(FgramVocabulary v, LongestSuffixMatcher fast, int[] text, String what) {
        BruteForceMatcher ref = new BruteForceMatcher(v);
        assertArrayEquals(ref.match(text), fast.match(text), what);
        int[] lengths = new int[text.length];
        int[] ids = new int[text.length];
        fast.match(text, 0, text.length, ids, 0, lengths, 0);
        assertArrayEquals(fast.match(text), ids, what);
        for (int i = 0; i < text.length; i++) {
            assertEquals(ids[i] == FgramMatcher.NO_MATCH ? 1 : v.length(ids[i]), lengths[i], what + " length at " + i);
        }
    }

    // ---- equality with the reference ----

    @Test
    void equalsReferenceOnSampledVocabularies() {
        Random r = new Random(20260601L);
        for (int maxN = 2; maxN <= 6; maxN++) {
            for (int trial = 0; trial < 12; trial++) {
                int tokenRange = switch (trial % 4) {
                    case 0 -> 2;
                    case 1 -> 5;
                    case 2 -> 40;
                    default -> 5000;
                };
                boolean closed = trial % 2 == 0;
                int[] corpus = randomCorpus(r, 3000, tokenRange);
                List<int[]> fgrams = sampledFgrams(r, corpus, maxN, tokenRange, 1 + r.nextInt(400), closed);
                FgramVocabulary v = vocabulary(tokenRange, maxN, fgrams);
                int[] text = randomCorpus(r, 4000, tokenRange);
                String what = "K=" + maxN + " trial " + trial + " range " + tokenRange + " closed " + closed;
                assertSameAsReference(v, text, what);
                LongestSuffixMatcher m = LongestSuffixMatcher.of(v);
                assertEquals(v.size(), m.size(), what);
                if (closed) {
                    assertEquals(v.size(), m.nodeCount(), what + ": a suffix-closed vocabulary needs no extra node");
                } else {
                    assertTrue(m.nodeCount() >= v.size(), what);
                }
            }
        }
    }

    @Test
    void equalsReferenceOnCountedVocabularies() {
        Random r = new Random(77L);
        for (int maxN = 2; maxN <= 6; maxN++) {
            for (int tokenRange : new int[] {3, 30, 300}) {
                int[] corpus = randomCorpus(r, 5000, tokenRange);
                List<int[]> fgrams = countedFgrams(corpus, maxN, 50 + r.nextInt(1500));
                FgramVocabulary v = vocabulary(tokenRange, maxN, fgrams);
                assertEquals(v.size(), LongestSuffixMatcher.of(v).nodeCount(), "counted vocabularies are suffix-closed");
                assertSameAsReference(v, corpus, "K=" + maxN + " range " + tokenRange + " (training text)");
                assertSameAsReference(v, randomCorpus(r, 3000, tokenRange), "K=" + maxN + " range " + tokenRange);
            }
        }
    }

    @Test
    void handMadeVocabularyWithoutSuffixes() {
        // Only long f-grams: their suffixes are internal nodes that must never match.
        FgramVocabulary v = vocabulary(10, 4, List.of(new int[] {1, 2, 3, 4}, new int[] {5, 3, 4}, new int[] {7, 8}));
        LongestSuffixMatcher m = LongestSuffixMatcher.of(v);
        assertEquals(3, m.size());
        assertEquals(5, m.nodeCount()); // [3 4], [2 3 4], [1 2 3 4], [5 3 4], [7 8]
        int[] text = {3, 4, 2, 3, 4, 1, 2, 3, 4, 5, 3, 4, 7, 8, 8};
        int n = FgramMatcher.NO_MATCH;
        assertArrayEquals(new int[] {n, n, n, n, n, n, n, n, 0, n, n, 1, n, 2, n}, m.match(text));
        assertArrayEquals(new BruteForceMatcher(v).match(text), m.match(text));
    }

    @Test
    void longestMatchWins() {
        FgramVocabulary v = vocabulary(10, 5, List.of(new int[] {3, 4}, new int[] {2, 3, 4}, new int[] {0, 1, 2, 3, 4},
                new int[] {9, 2, 3, 4}));
        LongestSuffixMatcher m = LongestSuffixMatcher.of(v);
        int n = FgramMatcher.NO_MATCH;
        int[] text = {0, 1, 2, 3, 4, 5, 1, 3, 4, 0, 1, 2, 3, 4, 5, 2, 3, 4, 9, 2, 3, 4};
        int[] expected = {n, n, n, n, 2, n, n, n, 0, n, n, n, n, 2, n, n, n, 1, n, n, n, 3};
        assertArrayEquals(expected, m.match(text));
        assertArrayEquals(expected, new BruteForceMatcher(v).match(text));
    }

    // ---- boundaries, windows, odd input ----

    @Test
    void noMatchReachesBeforeFrom() {
        Random r = new Random(5L);
        for (int maxN = 2; maxN <= 6; maxN++) {
            int[] corpus = randomCorpus(r, 2000, 4);
            FgramVocabulary v = vocabulary(4, maxN, countedFgrams(corpus, maxN, 300));
            LongestSuffixMatcher m = LongestSuffixMatcher.of(v);
            BruteForceMatcher ref = new BruteForceMatcher(v);
            int[] text = randomCorpus(r, 500, 4);
            for (int from = 0; from < 40; from++) {
                int len = r.nextInt(text.length - from + 1);
                int[] out = new int[len + 7];
                Arrays.fill(out, 12345);
                m.match(text, from, len, out, 3);
                // The reference sees only the document itself, so it cannot look before it.
                int[] expected = ref.match(Arrays.copyOfRange(text, from, from + len));
                assertArrayEquals(expected, Arrays.copyOfRange(out, 3, 3 + len), "K=" + maxN + " from " + from);
                for (int k : new int[] {0, 1, 2, 3 + len, 4 + len, 5 + len, 6 + len}) {
                    assertEquals(12345, out[k], "wrote outside its range at " + k);
                }
                for (int p = 0; p < len; p++) {
                    if (out[3 + p] != FgramMatcher.NO_MATCH) {
                        assertTrue(v.length(out[3 + p]) <= p + 1, "match at " + p + " reaches before from");
                    }
                }
            }
        }
    }

    @Test
    void rowsOfAWindowAreMatchedOnTheirOwn() {
        FgramVocabulary v = vocabulary(10, 3, List.of(new int[] {1, 2}, new int[] {1, 2, 3}));
        LongestSuffixMatcher m = LongestSuffixMatcher.of(v);
        int n = FgramMatcher.NO_MATCH;
        // (B, T) = (3, 3): the f-grams [1 2] and [1 2 3] straddle rows 0/1 and 1/2.
        int[] window = {0, 0, 1, 2, 3, 1, 2, 3, 1};
        assertArrayEquals(new int[] {n, n, n, n, n, n, n, n, n}, m.matchRows(window, 3, 3));
        assertArrayEquals(new int[] {n, n, n, 0, 1, n, 0, 1, n}, m.match(window));
        int[] ids = new int[9];
        int[] lengths = new int[9];
        m.matchRows(new int[] {1, 2, 3, 0, 1, 2, 9, 9, 9}, 3, 3, ids, lengths);
        assertArrayEquals(new int[] {n, 0, 1, n, n, 0, n, n, n}, ids);
        assertArrayEquals(new int[] {1, 2, 3, 1, 1, 2, 1, 1, 1}, lengths);

        Random r = new Random(11L);
        int[] corpus = randomCorpus(r, 3000, 6);
        FgramVocabulary big = vocabulary(6, 5, countedFgrams(corpus, 5, 400));
        LongestSuffixMatcher bm = LongestSuffixMatcher.of(big);
        BruteForceMatcher ref = new BruteForceMatcher(big);
        int rows = 7;
        int cols = 33;
        int[] w = randomCorpus(r, rows * cols, 6);
        int[] got = bm.matchRows(w, rows, cols);
        for (int b = 0; b < rows; b++) {
            assertArrayEquals(ref.match(Arrays.copyOfRange(w, b * cols, (b + 1) * cols)),
                    Arrays.copyOfRange(got, b * cols, (b + 1) * cols), "row " + b);
        }
        assertArrayEquals(new int[0], bm.matchRows(new int[0], 0, 5));
        assertArrayEquals(new int[0], bm.matchRows(new int[0], 4, 0));
    }

    @Test
    void emptyInput() {
        LongestSuffixMatcher m = LongestSuffixMatcher.of(vocabulary(5, 3, List.of(new int[] {1, 2})));
        assertArrayEquals(new int[0], m.match(new int[0]));
        int[] out = {7, 7};
        m.match(new int[] {1, 2}, 2, 0, out, 2);
        m.match(new int[] {1, 2}, 1, 0, out, 0);
        assertArrayEquals(new int[] {7, 7}, out);
        assertEquals(0, m.stats(new int[0], 0, 0).positions());

        LongestSuffixMatcher none = LongestSuffixMatcher.builder(5, 3).build();
        assertEquals(0, none.size());
        assertArrayEquals(new int[] {-1, -1, -1}, none.match(new int[] {1, 2, 3}));
    }

    @Test
    void outOfRangeTokensNeverMatchAndNeverCrash() {
        Random r = new Random(99L);
        int tokenRange = 6;
        int[] corpus = randomCorpus(r, 3000, tokenRange);
        for (int maxN = 2; maxN <= 5; maxN++) {
            FgramVocabulary v = vocabulary(tokenRange, maxN, countedFgrams(corpus, maxN, 500));
            int[] text = randomCorpus(r, 3000, tokenRange);
            int[] odd = {-1, tokenRange, tokenRange + 1, Integer.MIN_VALUE, Integer.MAX_VALUE, -2, ~0, 1 << 20,
                -(1 << 20)};
            for (int k = 0; k < text.length; k += 1 + r.nextInt(9)) {
                text[k] = odd[r.nextInt(odd.length)];
            }
            assertSameAsReference(v, text, "K=" + maxN + " with out-of-range ids");
        }
        // The complement of a negative token is a small non-negative number: it must not be
        // mistaken for a node's table slot.
        LongestSuffixMatcher m = LongestSuffixMatcher.of(vocabulary(tokenRange, 3, countedFgrams(corpus, 3, 60)));
        for (int t = -200; t < 0; t++) {
            for (int a = 0; a < 4; a++) {
                for (int b = 0; b < 4; b++) {
                    assertArrayEquals(new int[] {-1}, Arrays.copyOfRange(m.match(new int[] {a, b, t}), 2, 3));
                }
            }
        }
    }

    @Test
    void arbitraryIdsFromABuilder() {
        LongestSuffixMatcher m = LongestSuffixMatcher.builder(100, 4)
                .add(1_000_000, 5, 6)
                .add(7, new int[] {9, 9, 4, 5, 6, 9}, 2, 3)
                .add(Integer.MAX_VALUE, 99, 99, 99, 99)
                .build();
        assertEquals(3, m.size());
        assertEquals(4, m.maxN());
        assertEquals(100, m.tokenVocabularySize());
        int n = FgramMatcher.NO_MATCH;
        assertArrayEquals(new int[] {n, 1_000_000, n, n, 7, n, n, n, Integer.MAX_VALUE, Integer.MAX_VALUE},
                m.match(new int[] {5, 6, 4, 5, 6, 99, 99, 99, 99, 99}));
    }

    @Test
    void wideLayoutWhenKeysAndIdsDoNotFitOneLong() {
        int big = Integer.MAX_VALUE;
        LongestSuffixMatcher m = LongestSuffixMatcher.builder(big, 3)
                .add(big - 1, big - 1, big - 2)
                .add(5, 0, big - 1, big - 2)
                .add(6, 7, 8)
                .build();
        assertTrue(!m.isPacked());
        int n = FgramMatcher.NO_MATCH;
        int[] out = new int[7];
        m.match(new int[] {-1, big - 1, big - 2, 0, big - 1, big - 2, 7, 8}, 1, 7, out, 0);
        assertArrayEquals(new int[] {n, big - 1, n, n, 5, n, 6}, out);
    }

    @Test
    void concurrentUseGivesTheSameAnswers() throws Exception {
        Random r = new Random(3L);
        int[] corpus = randomCorpus(r, 4000, 20);
        FgramVocabulary v = vocabulary(20, 5, countedFgrams(corpus, 5, 2000));
        LongestSuffixMatcher m = LongestSuffixMatcher.of(v);
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
        LongestSuffixMatcher m = LongestSuffixMatcher.of(vocabulary(10, 3, List.of(new int[] {1, 2}, new int[] {0, 1, 2})));
        // From 1: position 0 has no room; [1 2] found (1 lookup); token 3 ends no f-gram;
        // [3 2] missing (1 lookup).
        LongestSuffixMatcher.MatchStats s = m.stats(new int[] {0, 1, 2, 3, 2}, 1, 4);
        assertEquals(4, s.positions());
        assertEquals(1, s.matched());
        assertEquals(2, s.lookups());
        assertTrue(s.slotsRead() >= s.lookups());
        // From 0: [1 2] and [0 1 2] found (2 lookups), then [3 2] missing (1 lookup).
        LongestSuffixMatcher.MatchStats all = m.stats(new int[] {0, 1, 2, 3, 2}, 0, 5);
        assertEquals(1, all.matched());
        assertEquals(3, all.lookups());
        assertEquals(0.2, all.matchRate(), 1e-12);
        assertEquals(0.6, all.lookupsPerPosition(), 1e-12);
        assertEquals(s.positions() + all.positions(), s.plus(all).positions());

        // [1 2] has no longer node: its (empty) child filter stops the walk without a lookup.
        FgramVocabulary leafOnly = vocabulary(10, 3, List.of(new int[] {1, 2}));
        int[] text = {5, 1, 2};
        assertEquals(1, LongestSuffixMatcher.of(leafOnly).stats(text, 0, 3).lookups());
        assertEquals(1, wide(leafOnly).stats(text, 0, 3).lookups());
        assertEquals(2, builderOf(leafOnly).withoutChildFilter().build().stats(text, 0, 3).lookups());
    }

    // ---- bad input ----

    @Test
    void badConstructionInputIsRejectedPrecisely() {
        assertMessage("token vocabulary size must be >= 1, got 0", () -> LongestSuffixMatcher.builder(0, 3));
        assertMessage("maxN (K) must be >= 2, got 1", () -> LongestSuffixMatcher.builder(10, 1));
        LongestSuffixMatcher.Builder b = LongestSuffixMatcher.builder(10, 3);
        assertMessage("f-gram id must be >= 0, got -4", () -> b.add(-4, 1, 2));
        assertMessage("f-gram 3 has length 1, outside [2, 3]", () -> b.add(3, 1));
        assertMessage("f-gram 3 has length 4, outside [2, 3]", () -> b.add(3, 1, 2, 3, 4));
        assertMessage("f-gram 3 has token id 10 outside the token vocabulary [0, 10)", () -> b.add(3, 1, 10));
        assertMessage("f-gram 3 has token id -1 outside the token vocabulary [0, 10)", () -> b.add(3, -1, 1));
        assertThrows(NullPointerException.class, () -> b.add(3, (int[]) null));
        assertThrows(IndexOutOfBoundsException.class, () -> b.add(3, new int[] {1, 2}, 1, 2));
        assertThrows(NullPointerException.class, () -> LongestSuffixMatcher.of(null));

        assertMessage("f-gram [1, 2, 3] added twice (ids 0 and 5)",
                () -> LongestSuffixMatcher.builder(10, 3).add(0, 1, 2, 3).add(1, 2, 3).add(5, 1, 2, 3).build());
        assertMessage("f-gram id 4 added twice",
                () -> LongestSuffixMatcher.builder(10, 3).add(4, 1, 2, 3).add(4, 2, 3).build());
    }

    @Test
    void badMatchArgumentsAreRejected() {
        LongestSuffixMatcher m = LongestSuffixMatcher.of(vocabulary(10, 3, List.of(new int[] {1, 2})));
        int[] tokens = {1, 2, 3};
        assertThrows(IndexOutOfBoundsException.class, () -> m.match(tokens, 2, 2, new int[5], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> m.match(tokens, -1, 2, new int[5], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> m.match(tokens, 0, 3, new int[5], 3));
        assertThrows(IndexOutOfBoundsException.class, () -> m.match(tokens, 0, 3, new int[3], 0, new int[2], 0));
        assertThrows(NullPointerException.class, () -> m.match(tokens, 0, 3, new int[3], 0, null, 0));
        assertMessage("window of 3 tokens is not (2, 2)", () -> m.matchRows(tokens, 2, 2));
        assertMessage("window shape (-1, -3) is negative", () -> m.matchRows(tokens, -1, -3));
        assertThrows(IndexOutOfBoundsException.class, () -> m.matchRows(tokens, 1, 3, new int[2], null));
        assertThrows(IndexOutOfBoundsException.class, () -> m.matchRows(tokens, 3, 1, new int[3], new int[1]));
    }

    private static void assertMessage(String message, org.junit.jupiter.api.function.Executable e) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, e).getMessage());
    }
}

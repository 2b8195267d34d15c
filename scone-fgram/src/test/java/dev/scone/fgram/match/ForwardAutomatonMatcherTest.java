package dev.scone.fgram.match;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static dev.scone.fgram.match.MatcherFixtures.asList;
import static dev.scone.fgram.match.MatcherFixtures.countedFgrams;
import static dev.scone.fgram.match.MatcherFixtures.randomCorpus;
import static dev.scone.fgram.match.MatcherFixtures.sampled;
import static dev.scone.fgram.match.MatcherFixtures.vocabulary;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ForwardAutomatonMatcherTest {

    /** Both table layouts, with and without child filters, ids and lengths, against the reference. */
    private static void assertSameAsReference(FgramVocabulary v, int[] text, String what) {
        ForwardAutomatonMatcher a = ForwardAutomatonMatcher.of(v);
        assertTrue(a.isPacked(), what);
        assertSameAsReference(v, a, text, what + " (" + a + ")");
        assertSameAsReference(v, variant(v, 0, true), text, what + " (packed, no filter)");
        ForwardAutomatonMatcher wide = variant(v, 16, false);
        assertTrue(!wide.isPacked(), what);
        assertSameAsReference(v, wide, text, what + " (wide)");
        assertSameAsReference(v, variant(v, 0, false), text, what + " (wide, no filter)");
    }

    private static ForwardAutomatonMatcher variant(FgramVocabulary v, int filterBits, boolean packed) {
        int n = v.size();
        int[] ids = new int[n];
        int[] offsets = new int[n + 1];
        for (int id = 0; id < n; id++) {
            ids[id] = id;
            offsets[id + 1] = offsets[id] + v.length(id);
        }
        int[] tokens = new int[offsets[n]];
        for (int id = 0; id < n; id++) {
            v.copyTokens(id, tokens, offsets[id]);
        }
        return ForwardAutomatonMatcher.build(v.tokenVocabularySize(), v.maxN(), n, ids, offsets, tokens, filterBits,
                packed);
    }

    private static void assertSameAsReference(FgramVocabulary v, ForwardAutomatonMatcher fast, int[] text,
            String what) {
        int[] expected = new BruteForceMatcher(v).match(text);
        assertArrayEquals(expected, fast.match(text), what);
        int[] ids = new int[text.length];
        int[] lengths = new int[text.length];
        fast.match(text, 0, text.length, ids, 0, lengths, 0);
        assertArrayEquals(expected, ids, what);
        for (int i = 0; i < text.length; i++) {
            assertEquals(ids[i] == FgramMatcher.NO_MATCH ? 1 : v.length(ids[i]), lengths[i], what + " length at " + i);
        }
        LongestSuffixMatcher.MatchStats stats = fast.stats(text, 0, text.length);
        assertEquals(Arrays.stream(expected).filter(id -> id != FgramMatcher.NO_MATCH).count(), stats.matched(), what);
        assertTrue(stats.slotsRead() >= stats.lookups(), what);
        // Each position takes one transition and follows at most as many failure links as
        // transitions went deeper before it.
        assertTrue(stats.lookups() <= 2L * text.length, what);
    }

    @Test
    void equalsReferenceOnVocabulariesThatAreNotPrefixClosed() {
        Random r = new Random(20261128L);
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
                assertSameAsReference(v, randomCorpus(r, 1 + r.nextInt(4000), tokenRange), what);
                ForwardAutomatonMatcher a = ForwardAutomatonMatcher.of(v);
                assertEquals(v.size(), a.size(), what);
                assertTrue(a.nodeCount() >= v.size(), what);
                if (closed) {
                    assertEquals(v.size(), a.nodeCount(), what + ": a prefix-closed vocabulary needs no extra node");
                }
            }
        }
    }

    @Test
    void equalsReferenceOnCountedVocabularies() {
        Random r = new Random(78L);
        for (int maxN = 2; maxN <= 6; maxN++) {
            for (int tokenRange : new int[] {3, 30, 300}) {
                int[] corpus = randomCorpus(r, 5000, tokenRange);
                FgramVocabulary v = vocabulary(tokenRange, maxN, countedFgrams(corpus, maxN, 50 + r.nextInt(1500)));
                assertEquals(v.size(), ForwardAutomatonMatcher.of(v).nodeCount(),
                        "counted vocabularies are prefix-closed");
                assertSameAsReference(v, corpus, "K=" + maxN + " range " + tokenRange + " (training text)");
                assertSameAsReference(v, randomCorpus(r, 3000, tokenRange), "K=" + maxN + " range " + tokenRange);
            }
        }
    }

    @Test
    void missingPrefixesAreNodesThatOutputTheirLongestFgramSuffix() {
        // [1 2], [1 2 3], [1 2 3 4] are nodes but no f-grams. In "1 2 3 4 x", position 3 must
        // report [3 4] while the state is [1 2 3 4]; after [1 2 3 4 5] (a leaf), 6 leads through
        // the failure link [2 3 4 5] to [2 3 4 5 6].
        FgramVocabulary v = vocabulary(10, 5, List.of(new int[] {1, 2, 3, 4, 5}, new int[] {3, 4},
                new int[] {2, 3, 4, 5, 6}, new int[] {4, 5, 6}));
        ForwardAutomatonMatcher a = ForwardAutomatonMatcher.of(v);
        assertEquals(4 + 1 + 4 + 2, a.nodeCount());
        int n = FgramMatcher.NO_MATCH;
        int[] text = {1, 2, 3, 4, 7, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6};
        int[] expected = {n, n, n, 1, n, n, n, n, 1, 0, 2, n, n, 1, n, 2};
        assertArrayEquals(expected, new BruteForceMatcher(v).match(text));
        assertArrayEquals(expected, a.match(text));
    }

    @Test
    void documentsThatStartMidwayAndTheKCap() {
        Random r = new Random(6L);
        for (int maxN = 2; maxN <= 6; maxN++) {
            int[] corpus = randomCorpus(r, 2000, 4);
            FgramVocabulary v = vocabulary(4, maxN, sampled(r, corpus, maxN, 4, 200, false));
            ForwardAutomatonMatcher a = ForwardAutomatonMatcher.of(v);
            BruteForceMatcher ref = new BruteForceMatcher(v);
            int[] text = randomCorpus(r, 400, 4);
            for (int from = 0; from < 30; from++) {
                int len = r.nextInt(text.length - from + 1);
                int[] out = new int[len + 6];
                Arrays.fill(out, 4242);
                a.match(text, from, len, out, 3);
                assertArrayEquals(ref.match(Arrays.copyOfRange(text, from, from + len)),
                        Arrays.copyOfRange(out, 3, 3 + len), "K=" + maxN + " from " + from);
                for (int k : new int[] {0, 1, 2, 3 + len, 4 + len, 5 + len}) {
                    assertEquals(4242, out[k], "wrote outside its range at " + k);
                }
            }
        }
        // A run of one token longer than K: the match stays at K tokens, never reaches further.
        FgramVocabulary v = vocabulary(3, 3, List.of(new int[] {1, 1}, new int[] {1, 1, 1}));
        int n = FgramMatcher.NO_MATCH;
        assertArrayEquals(new int[] {n, 0, 1, 1, 1, 1, n, n, 0}, ForwardAutomatonMatcher.of(v)
                .match(new int[] {1, 1, 1, 1, 1, 1, 2, 1, 1}));
    }

    @Test
    void rowsOfAWindowAreMatchedOnTheirOwn() {
        FgramVocabulary v = vocabulary(10, 3, List.of(new int[] {1, 2}, new int[] {1, 2, 3}));
        ForwardAutomatonMatcher a = ForwardAutomatonMatcher.of(v);
        int n = FgramMatcher.NO_MATCH;
        int[] window = {0, 0, 1, 2, 3, 1, 2, 3, 1};
        assertArrayEquals(new int[] {n, n, n, n, n, n, n, n, n}, a.matchRows(window, 3, 3));
        assertArrayEquals(new int[] {n, n, n, 0, 1, n, 0, 1, n}, a.match(window));
        int[] ids = new int[9];
        int[] lengths = new int[9];
        a.matchRows(new int[] {1, 2, 3, 0, 1, 2, 9, 9, 9}, 3, 3, ids, lengths);
        assertArrayEquals(new int[] {n, 0, 1, n, n, 0, n, n, n}, ids);
        assertArrayEquals(new int[] {1, 2, 3, 1, 1, 2, 1, 1, 1}, lengths);

        // Rows long enough to be cut into lockstep pieces, with a vocabulary that is not prefix-closed.
        Random r = new Random(12L);
        int[] corpus = randomCorpus(r, 3000, 6);
        FgramVocabulary big = vocabulary(6, 5, sampled(r, corpus, 5, 6, 300, false));
        ForwardAutomatonMatcher ba = ForwardAutomatonMatcher.of(big);
        BruteForceMatcher ref = new BruteForceMatcher(big);
        // More rows than lanes too, so that the rows' pieces take turns.
        for (int rows : new int[] {5, 41}) {
            for (int cols : new int[] {1, 7, 33, 64, 65, 129, 300}) {
                int[] w = randomCorpus(r, rows * cols, 6);
                int[] got = ba.matchRows(w, rows, cols);
                int[] lens = new int[w.length];
                int[] ids2 = new int[w.length];
                ba.matchRows(w, rows, cols, ids2, lens);
                assertArrayEquals(got, ids2, "T=" + cols);
                for (int b = 0; b < rows; b++) {
                    assertArrayEquals(ref.match(Arrays.copyOfRange(w, b * cols, (b + 1) * cols)),
                            Arrays.copyOfRange(got, b * cols, (b + 1) * cols), "B=" + rows + " T=" + cols + " row " + b);
                }
                for (int i = 0; i < w.length; i++) {
                    assertEquals(got[i] == FgramMatcher.NO_MATCH ? 1 : big.length(got[i]), lens[i], "length at " + i);
                }
            }
        }
        assertArrayEquals(new int[0], ba.matchRows(new int[0], 0, 5));
        assertEquals("window of 3 tokens is not (2, 2)",
                assertThrows(IllegalArgumentException.class, () -> ba.matchRows(new int[3], 2, 2)).getMessage());
    }

    @Test
    void outOfRangeTokensResetTheState() {
        Random r = new Random(99L);
        int[] corpus = randomCorpus(r, 3000, 6);
        for (int maxN = 2; maxN <= 5; maxN++) {
            FgramVocabulary v = vocabulary(6, maxN, countedFgrams(corpus, maxN, 500));
            int[] text = randomCorpus(r, 3000, 6);
            int[] odd = {-1, 6, 7, Integer.MIN_VALUE, Integer.MAX_VALUE, -2, 1 << 20, -(1 << 20)};
            for (int k = 0; k < text.length; k += 1 + r.nextInt(9)) {
                text[k] = odd[r.nextInt(odd.length)];
            }
            assertSameAsReference(v, text, "K=" + maxN + " with out-of-range ids");
        }
    }

    @Test
    void duplicatesAreRejected() {
        FgramVocabulary v = vocabulary(10, 3, List.of(new int[] {1, 2}));
        assertEquals(1, ForwardAutomatonMatcher.of(v).size());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ForwardAutomatonMatcher
                .build(10, 3, 2, new int[] {4, 9}, new int[] {0, 2, 4}, new int[] {1, 2, 1, 2}, 16, true));
        assertEquals("f-gram [1, 2] added twice (ids 4 and 9)", e.getMessage());
    }

    @Test
    void emptyVocabularyAndEmptyInput() {
        ForwardAutomatonMatcher none = ForwardAutomatonMatcher.build(5, 3, 0, new int[0], new int[1], new int[0], 16, true);
        assertArrayEquals(new int[] {-1, -1, -1}, none.match(new int[] {1, 2, 3}));
        assertArrayEquals(new int[0], none.match(new int[0]));
    }
}

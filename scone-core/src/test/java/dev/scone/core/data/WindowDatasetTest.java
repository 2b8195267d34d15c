package dev.scone.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.Record;
import dev.scone.fgram.testing.BruteForceMatcher;
import dev.scone.core.testing.Fixtures;
import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.match.FgramMatcher;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WindowDatasetTest {

    private static final int T = 7;

    @Test
    void windowsLabelsAndFgramIdsMatchABruteForceComputation() {
        TokenCorpus corpus = Fixtures.markovCorpus(11, 30, 1, 40, 12);
        FgramVocabulary vocab = Fixtures.countVocabulary(corpus, 4, 3);
        assertTrue(vocab.size() > 20, "fixture has f-grams: " + vocab.size());
        WindowDataset ds = WindowDataset.builder(corpus, T).optFgrams(vocab, new BruteForceMatcher(vocab)).build();

        // Expected windows, enumerated independently: every document, starts 0, T, 2T, ... with T + 1 tokens.
        int expectedWindows = 0;
        long matchedAnywhere = 0;
        long w = 0;
        for (int d = 0; d < corpus.documentCount(); d++) {
            int[] doc = corpus.document(d);
            for (int start = 0; start + T + 1 <= doc.length; start += T) {
                expectedWindows++;
                assertEquals(d, ds.documentOf(w), "window " + w);
                assertEquals(start, ds.startOf(w), "window " + w);
                WindowBatch b = ds.batch(new long[] {w});
                assertArrayEquals(Arrays.copyOfRange(doc, start, start + T), b.tokenIds());
                assertArrayEquals(Arrays.copyOfRange(doc, start + 1, start + T + 1), b.labels());
                int[] window = Arrays.copyOfRange(doc, start, start + T);
                for (int i = 0; i < T; i++) {
                    int expected = FgramMatcher.NO_MATCH;
                    for (int n = Math.min(4, i + 1); n >= 2 && expected < 0; n--) {
                        expected = vocab.find(Arrays.copyOfRange(window, i - n + 1, i + 1));
                    }
                    assertEquals(expected, b.fgramIds()[i], "window " + w + " position " + i);
                    if (expected >= 0) {
                        matchedAnywhere++;
                    }
                }
                // Position 0 of a window never matches: a match may not reach before the window.
                assertEquals(FgramMatcher.NO_MATCH, b.fgramIds()[0]);
                w++;
            }
        }
        assertEquals(expectedWindows, ds.windowCount());
        assertTrue(matchedAnywhere > 0, "some positions match");
    }

    @Test
    void noWindowCrossesADocumentAndShortDocumentsAreSkipped() {
        int[][] docs = {{1, 2, 3}, {4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2}, {}, {3, 3, 3, 3, 3, 3, 3, 3}};
        TokenCorpus corpus = new InMemoryTokenCorpus(docs, 10);
        WindowDataset ds = WindowDataset.builder(corpus, T).build();
        // doc 0 (3 tokens) and doc 2 (empty) are too short; doc 1 (17) gives 2 windows, doc 3 (8) gives 1.
        assertEquals(3, ds.windowCount());
        assertEquals(3 + 0 + (17 - 14) + (8 - 7), ds.skippedTokens());
        for (long w = 0; w < ds.windowCount(); w++) {
            int d = ds.documentOf(w);
            assertTrue(ds.startOf(w) + T + 1 <= corpus.documentLength(d), "window " + w + " stays in document " + d);
            WindowBatch b = ds.batch(new long[] {w});
            assertTrue(Arrays.stream(b.fgramIds()).allMatch(f -> f == -1), "no f-grams: all -1");
        }
        assertEquals(1, ds.documentOf(0));
        assertEquals(1, ds.documentOf(1));
        assertEquals(3, ds.documentOf(2));
        assertThrows(IndexOutOfBoundsException.class, () -> ds.documentOf(3));
    }

    @Test
    void djlRecordsEqualTheBatchArrays() throws Exception {
        TokenCorpus corpus = Fixtures.markovCorpus(3, 5, 20, 30, 9);
        FgramVocabulary vocab = Fixtures.countVocabulary(corpus, 3, 2);
        WindowDataset ds = WindowDataset.builder(corpus, T).optFgrams(vocab, new BruteForceMatcher(vocab)).build();
        try (NDManager m = NDManager.newBaseManager()) {
            for (long w = 0; w < ds.windowCount(); w++) {
                Record r = ds.get(m, w);
                WindowBatch b = ds.batch(new long[] {w});
                assertArrayEquals(b.tokenIds(), r.getData().get(0).toIntArray());
                assertArrayEquals(b.fgramIds(), r.getData().get(1).toIntArray());
                assertArrayEquals(b.labels(), r.getLabels().get(0).toIntArray());
            }
            assertEquals(ds.windowCount(), ds.size());
        }
    }

    @Test
    void badInputGetsPreciseExceptions() {
        TokenCorpus corpus = Fixtures.markovCorpus(5, 4, 10, 20, 8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WindowDataset.builder(corpus, 0).build());
        assertTrue(e.getMessage().contains("contextLength (T) must be >= 1, got 0"), e.getMessage());

        TokenCorpus empty = new InMemoryTokenCorpus(new int[0][], 8);
        e = assertThrows(IllegalArgumentException.class, () -> WindowDataset.builder(empty, 4).build());
        assertTrue(e.getMessage().contains("no window") && e.getMessage().contains("0 document(s)"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> WindowDataset.builder(corpus, 20).build());
        assertTrue(e.getMessage().contains("the longest has"), e.getMessage());

        FgramVocabulary otherVocab = FgramVocabulary.of(9, 3, List.of(new int[] {1, 2}), new long[] {5});
        e = assertThrows(IllegalArgumentException.class, () -> WindowDataset.builder(corpus, 4)
                .optFgrams(otherVocab, new BruteForceMatcher(otherVocab)).build());
        assertTrue(e.getMessage().contains("over 9 token ids") && e.getMessage().contains("vocabularySize 8"),
                e.getMessage());

        FgramVocabulary k3 = FgramVocabulary.of(8, 3, List.of(new int[] {1, 2}), new long[] {5});
        FgramVocabulary k4 = FgramVocabulary.of(8, 4, List.of(new int[] {1, 2}), new long[] {5});
        e = assertThrows(IllegalArgumentException.class, () -> WindowDataset.builder(corpus, 4)
                .optFgrams(k3, new BruteForceMatcher(k4)).build());
        assertTrue(e.getMessage().contains("maxN 4") && e.getMessage().contains("maxN 3"), e.getMessage());
    }

    @Test
    void shuffledOrderIsSeededAndEachEpochIsAPermutation() {
        ShuffledWindowOrder a = new ShuffledWindowOrder(50, 7);
        ShuffledWindowOrder b = new ShuffledWindowOrder(50, 7);
        ShuffledWindowOrder c = new ShuffledWindowOrder(50, 8);
        long[] wa = a.windows(0, 150);
        assertArrayEquals(wa, b.windows(0, 150));
        assertNotEquals(Arrays.toString(wa), Arrays.toString(c.windows(0, 150)));
        for (int e = 0; e < 3; e++) {
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < 50; i++) {
                seen.add(wa[e * 50 + i]);
            }
            assertEquals(50, seen.size(), "epoch " + e + " is a permutation");
        }
        assertNotEquals(Arrays.toString(Arrays.copyOfRange(wa, 0, 50)),
                Arrays.toString(Arrays.copyOfRange(wa, 50, 100)), "epochs are reshuffled");
        // Random access gives the same answer as streaming.
        assertEquals(wa[123], new ShuffledWindowOrder(50, 7).windowAt(123));
        assertThrows(IllegalArgumentException.class, () -> new ShuffledWindowOrder(0, 1));
    }
}

package dev.scone.core;

import dev.scone.fgram.testing.BruteForceMatcher;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InMemoryFgramEmbeddingTableTest {

    /** Brute force: the longest f-gram of the list equal to tokens[j..i], row start <= j. */
    private static int longest(List<int[]> fgrams, int[] tokens, int rowStart, int i) {
        for (int n = i - rowStart + 1; n >= 2; n--) {
            int[] seq = Arrays.copyOfRange(tokens, i - n + 1, i + 1);
            for (int id = 0; id < fgrams.size(); id++) {
                if (Arrays.equals(fgrams.get(id), seq)) {
                    return id;
                }
            }
        }
        return -1;
    }

    @Test
    void lookupMatchesLongestFgramPerRowAgainstBruteForce() {
        Random rnd = new Random(17);
        int v = 6;
        int e = 3;
        List<int[]> fgrams = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        while (fgrams.size() < 40) {
            int[] f = new int[2 + rnd.nextInt(3)];
            for (int k = 0; k < f.length; k++) {
                f[k] = rnd.nextInt(v);
            }
            if (seen.add(Arrays.toString(f))) {
                fgrams.add(f);
            }
        }
        FgramVocabulary vocab = FgramVocabulary.of(v, 4, fgrams, new long[fgrams.size()]);
        float[] vectors = new float[fgrams.size() * e];
        for (int i = 0; i < vectors.length; i++) {
            vectors[i] = i;
        }
        int rows = 5;
        int length = 9;
        int[] tokens = new int[rows * length];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = rnd.nextInt(v);
        }
        try (InMemoryFgramEmbeddingTable table = InMemoryFgramEmbeddingTable.of(vocab, new BruteForceMatcher(vocab),
                e, vectors)) {
            float[] out = new float[rows * length * e];
            Arrays.fill(out, -7f);
            int[] lengths = new int[rows * length];
            int matched = table.lookup(tokens, rows, length, out, lengths);
            int expectedMatched = 0;
            for (int r = 0; r < rows; r++) {
                for (int t = 0; t < length; t++) {
                    int p = r * length + t;
                    int id = longest(fgrams, tokens, r * length, p);
                    float[] got = Arrays.copyOfRange(out, p * e, (p + 1) * e);
                    if (id < 0) {
                        assertEquals(0, lengths[p]);
                        assertArrayEquals(new float[] {-7f, -7f, -7f}, got, "unmatched entries are left alone");
                    } else {
                        expectedMatched++;
                        assertEquals(fgrams.get(id).length, lengths[p], "length at " + p);
                        assertArrayEquals(Arrays.copyOfRange(vectors, id * e, (id + 1) * e), got, "vector at " + p);
                    }
                }
            }
            assertEquals(expectedMatched, matched);
            assertTrue(matched > 5, "fixture should match, matched " + matched);
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                    () -> table.lookup(tokens, rows, length, new float[3], lengths));
            assertTrue(ex.getMessage().contains("needs 45 token ids"), ex.getMessage());
            table.close();
            assertThrows(IllegalStateException.class, () -> table.lookup(tokens, rows, length, out, lengths));
        }
    }

    @Test
    void constructionIsChecked() {
        FgramVocabulary vocab = Fixtures.vocabulary();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InMemoryFgramEmbeddingTable.of(vocab, new BruteForceMatcher(vocab), 4, new float[5]));
        assertTrue(e.getMessage().contains("5 floats do not hold 9 vectors of size 4"), e.getMessage());
    }
}

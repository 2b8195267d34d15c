package dev.scone.core;

import dev.scone.fgram.testing.BruteForceMatcher;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.List;

/** Tiny generated fixtures for testing the machinery, not accuracy. */
final class Fixtures {

    static final int V = 24;
    static final int E = 16;
    static final int K = 3;
    static final int CONTEXT = 12;

    private Fixtures() {}

    /** @return a small V_fgram with lengths 2 and 3, overlapping f-grams and a chain 7-8-9 */
    static FgramVocabulary vocabulary() {
        List<int[]> fgrams = List.of(
                new int[] {1, 2}, new int[] {2, 3}, new int[] {1, 2, 3}, new int[] {4, 5},
                new int[] {5, 6, 7}, new int[] {3, 3}, new int[] {7, 8}, new int[] {8, 9}, new int[] {10, 11, 12});
        long[] counts = new long[fgrams.size()];
        java.util.Arrays.fill(counts, 5);
        return FgramVocabulary.of(V, K, fgrams, counts);
    }

    static FgramModelConfig fgramConfig() {
        return FgramModelConfig.of(E, 1, 2, 32, K);
    }

    static LanguageModelConfig config(boolean scone, boolean tied) {
        return new LanguageModelConfig(V, CONTEXT, E, 2, 2, 32, tied, 0f, scone ? fgramConfig() : null);
    }

    /** Token rows used by several tests: matches of length 2 and 3, repeats, unmatched positions. */
    static int[][] tokens() {
        return new int[][] {
            {1, 2, 3, 9, 4, 5, 6, 7, 8, 9},
            {5, 6, 7, 1, 2, 3, 3, 0, 1, 2},
            {10, 11, 12, 13, 14, 1, 2, 4, 5, 23}
        };
    }

    /** The pre-scan: longest f-gram ending at each position of each row, or -1. */
    static int[][] prescan(FgramVocabulary vocabulary, int[][] tokens) {
        BruteForceMatcher matcher = new BruteForceMatcher(vocabulary);
        int[][] out = new int[tokens.length][];
        for (int r = 0; r < tokens.length; r++) {
            out[r] = matcher.match(tokens[r]);
        }
        return out;
    }

    static NDArray ints(NDManager m, int[][] rows) {
        int[] flat = new int[rows.length * rows[0].length];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, flat, r * rows[0].length, rows[0].length);
        }
        return m.create(flat, new Shape(rows.length, rows[0].length));
    }

    static NDList input(NDManager m, FgramVocabulary vocabulary, int[][] tokens) {
        return new NDList(ints(m, tokens), ints(m, prescan(vocabulary, tokens)));
    }

    static <B extends ai.djl.nn.Block> B initialize(B block, NDManager m, long seed, int rows, int length) {
        Engine.getInstance().setRandomSeed((int) seed);
        block.initialize(m, DataType.FLOAT32, new Shape(rows, length), new Shape(rows, length));
        return block;
    }

    static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths " + a.length + " and " + b.length);
        }
        float d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }
}

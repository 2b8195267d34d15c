package dev.scone.store;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;

/** Small generated f-gram vocabularies, vectors and windows for testing the store's machinery. */
final class StoreFixtures {

    static final int TOKENS = 5000; // 13 bits per token: keys of 4, 5 and 7 bytes
    static final int K = 4;
    static final int D = 24;

    /** F-grams whose neighbours (prefixes, one token changed, extended) are deliberately absent. */
    static final int[][] PLANTED = {{1, 2, 3}, {7, 8}, {100, 200, 300, 400}, {4999, 0}, {0, 4999, 0}};

    private StoreFixtures() {}

    static FgramVocabulary vocabulary(int size, long seed) {
        Random r = new Random(seed);
        List<int[]> grams = new ArrayList<>();
        HashSet<List<Integer>> seen = new HashSet<>();
        for (int[] p : PLANTED) {
            grams.add(p);
            seen.add(asList(p));
        }
        while (grams.size() < size) {
            int n = 2 + r.nextInt(K - 1);
            int[] g = new int[n];
            for (int k = 0; k < n; k++) {
                g[k] = r.nextInt(60) == 0 ? r.nextInt(TOKENS) : r.nextInt(40); // dense alphabet: many overlaps
            }
            if (isNeighbourOfPlanted(g) || !seen.add(asList(g))) {
                continue;
            }
            grams.add(g);
        }
        long[] counts = new long[grams.size()];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = counts.length - i;
        }
        return FgramVocabulary.of(TOKENS, K, grams, counts);
    }

    private static boolean isNeighbourOfPlanted(int[] g) {
        for (int[] p : PLANTED) {
            int diff = Math.abs(p.length - g.length);
            for (int k = 0; k < Math.min(p.length, g.length); k++) {
                if (p[k] != g[k]) {
                    diff++;
                }
            }
            if (diff <= 1) {
                return true;
            }
        }
        return false;
    }

    private static List<Integer> asList(int[] g) {
        List<Integer> l = new ArrayList<>();
        for (int t : g) {
            l.add(t);
        }
        return l;
    }

    /** (S, D) vectors with magnitudes spread over several orders; vector 3 is all zeros. */
    static float[] vectors(int size, long seed) {
        Random r = new Random(seed);
        float[] v = new float[size * D];
        for (int i = 0; i < size; i++) {
            double scale = Math.pow(10, r.nextInt(7) - 3);
            for (int k = 0; k < D; k++) {
                v[i * D + k] = i == 3 ? 0f : (float) (r.nextGaussian() * scale);
            }
        }
        return v;
    }

    static StoreManifest write(Path dir, FgramVocabulary vocab, float[] vectors, VectorDtype dtype) throws IOException {
        try (FgramStoreWriter w = FgramStoreWriter.builder().setPath(dir).optVocabulary(vocab).setEmbeddingSize(D).optDtype(dtype)
                .optTokenVocabularyFingerprint("tok-v1").optModelFingerprint("model-v1").build()) {
            int[] ids = new int[vocab.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i;
            }
            // in two batches, as a caller streaming vectors would
            int half = ids.length / 2;
            w.addBatch(java.util.Arrays.copyOfRange(ids, 0, half), java.util.Arrays.copyOfRange(vectors, 0, half * D));
            w.addBatch(java.util.Arrays.copyOfRange(ids, half, ids.length),
                    java.util.Arrays.copyOfRange(vectors, half * D, ids.length * D));
            return (StoreManifest) w.commit();
        }
    }

    /** A (B, T) window mixing random tokens from the dense alphabet with planted f-grams. */
    static int[] window(FgramVocabulary vocab, int batch, int length, Random r) {
        int[] w = new int[batch * length];
        for (int i = 0; i < w.length; i++) {
            w[i] = r.nextInt(10) == 0 ? r.nextInt(TOKENS) : r.nextInt(40);
        }
        for (int p = 0; p < w.length / 4; p++) {
            int id = r.nextInt(vocab.size());
            int at = r.nextInt(w.length);
            int n = vocab.length(id);
            if (at + n <= w.length) {
                vocab.copyTokens(id, w, at);
            }
        }
        return w;
    }

    /**
     * Rows for a last-position lookup, laid out anywhere in one token array (rows overlap).
     *
     * @param tokens the token array
     * @param offsets where each row starts
     * @param lengths each row's length, at least 1
     */
    record Rows(int[] tokens, int[] offsets, int[] lengths) {
        int count() {
            return offsets.length;
        }
    }

    /**
     * {@code count} rows in a mix: short ones of 1..K+2 tokens, short ones ending with an f-gram
     * of the vocabulary, rows longer than K, and rows over ids outside the dense alphabet (which
     * rarely match).
     */
    static Rows rows(FgramVocabulary vocab, int count, Random r) {
        int dense = 7000;
        int[] tokens = window(vocab, 1, dense + 1000, r);
        for (int i = dense; i < tokens.length; i++) {
            tokens[i] = 1000 + r.nextInt(3000);
        }
        int[] offsets = new int[count];
        int[] lengths = new int[count];
        for (int i = 0; i < count; i++) {
            int len;
            int from;
            switch (i % 4) {
                case 0 -> {
                    len = 1 + r.nextInt(K + 2);
                    from = r.nextInt(dense - len);
                }
                case 1 -> {
                    int id = r.nextInt(vocab.size());
                    int n = vocab.length(id);
                    len = n + r.nextInt(K + 3 - n);
                    from = r.nextInt(dense - len);
                    vocab.copyTokens(id, tokens, from + len - n);
                }
                case 2 -> {
                    len = K + 1 + r.nextInt(40);
                    from = r.nextInt(dense - len);
                }
                default -> {
                    len = 1 + r.nextInt(12);
                    from = dense + r.nextInt(tokens.length - dense - len);
                }
            }
            offsets[i] = from;
            lengths[i] = len;
        }
        return new Rows(tokens, offsets, lengths);
    }

    /** A last-position lookup, as {@code FgramStore.lookupLast}. */
    @FunctionalInterface
    interface LastLookup {
        int lookupLast(int[] tokenIds, int[] offsets, int[] lengths, int rows, float[] vectors, int[] matchLengths);
    }

    /**
     * Checks a last-position lookup over {@code rows} against the batch table lookup of each row
     * on its own ((1, length) window: its last position) and against brute force over the
     * vocabulary: same lengths, same vectors bit for bit, unmatched vector slots left as they were.
     *
     * @return how many rows matched an f-gram of each length (index 0: unmatched)
     */
    static int[] checkLookupLast(FgramVocabulary vocab, Rows rows, int d, LastLookup last,
            dev.scone.core.FgramEmbeddingTable table) {
        int n = rows.count();
        float[] vectors = new float[n * d];
        java.util.Arrays.fill(vectors, 7f);
        int[] lengths = new int[n];
        java.util.Arrays.fill(lengths, -1);
        int matched = last.lookupLast(rows.tokens(), rows.offsets(), rows.lengths(), n, vectors, lengths);
        int[] histogram = new int[vocab.maxN() + 1];
        int expectedMatched = 0;
        for (int i = 0; i < n; i++) {
            int len = rows.lengths()[i];
            int[] row = java.util.Arrays.copyOfRange(rows.tokens(), rows.offsets()[i], rows.offsets()[i] + len);
            float[] out = new float[len * d];
            java.util.Arrays.fill(out, 7f);
            int[] ml = new int[len];
            table.lookup(row, 1, len, out, ml);
            int id = bruteForce(vocab, row, 1, len)[len - 1];
            String what = "row " + i + " " + java.util.Arrays.toString(row);
            org.junit.jupiter.api.Assertions.assertEquals(id < 0 ? 0 : vocab.length(id), ml[len - 1], what);
            org.junit.jupiter.api.Assertions.assertEquals(ml[len - 1], lengths[i], what);
            org.junit.jupiter.api.Assertions.assertArrayEquals(
                    java.util.Arrays.copyOfRange(out, (len - 1) * d, len * d),
                    java.util.Arrays.copyOfRange(vectors, i * d, (i + 1) * d), 0f, what);
            histogram[lengths[i]]++;
            expectedMatched += lengths[i] > 0 ? 1 : 0;
        }
        org.junit.jupiter.api.Assertions.assertEquals(expectedMatched, matched);
        return histogram;
    }

    /** Brute force: the id of the longest f-gram ending at each position, within its row, or -1. */
    static int[] bruteForce(FgramVocabulary vocab, int[] window, int batch, int length) {
        int[] ids = new int[batch * length];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < length; t++) {
                int i = b * length + t;
                ids[i] = -1;
                for (int n = Math.min(vocab.maxN(), t + 1); n >= 2; n--) {
                    int id = vocab.find(window, i - n + 1, n);
                    if (id >= 0) {
                        ids[i] = id;
                        break;
                    }
                }
            }
        }
        return ids;
    }
}

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
        try (FgramStoreWriter w = FgramStoreWriter.builder().path(dir).vocabulary(vocab).embeddingSize(D).dtype(dtype)
                .tokenVocabularyFingerprint("tok-v1").modelFingerprint("model-v1").build()) {
            int[] ids = new int[vocab.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i;
            }
            // in two batches, as a caller streaming vectors would
            int half = ids.length / 2;
            w.addBatch(java.util.Arrays.copyOfRange(ids, 0, half), java.util.Arrays.copyOfRange(vectors, 0, half * D));
            w.addBatch(java.util.Arrays.copyOfRange(ids, half, ids.length),
                    java.util.Arrays.copyOfRange(vectors, half * D, ids.length * D));
            return w.commit();
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

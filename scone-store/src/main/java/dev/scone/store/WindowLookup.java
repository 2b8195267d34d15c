package dev.scone.store;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;

/**
 * The batch longest-suffix walk over a (B, T) window that every store shares: for each position,
 * the longest f-gram ending there within its row, tried longest first through a single-sequence
 * lookup.
 */
final class WindowLookup {

    /** Looks up one token sequence and writes its vector; returns its row, or -1 if absent. */
    @FunctionalInterface
    interface Sequence {
        int lookup(int[] tokens, int from, int len, float[] out, int outOffset);
    }

    private WindowLookup() {}

    /**
     * Checks that the buffers hold (B, T, E).
     *
     * @throws IllegalArgumentException if they do not
     */
    static void checkShape(int[] window, int batch, int length, int d, float[] out, int[] matchedLength) {
        if (batch < 0 || length < 0) {
            throw new IllegalArgumentException("B and T must be >= 0, got " + batch + ", " + length);
        }
        long n = (long) batch * length;
        if (window.length < n || matchedLength.length < n || out.length < n * d) {
            throw new IllegalArgumentException("window of " + window.length + " ids, out of " + out.length
                    + " floats, matchedLength of " + matchedLength.length + " do not hold (B, T, E) = (" + batch + ", "
                    + length + ", " + d + ")");
        }
    }

    /**
     * Runs the walk (shape already checked).
     *
     * @return the number of matched positions
     */
    static int run(int[] window, int batch, int length, int maxN, int d, float[] out, int[] matchedLength,
            boolean zeroUnmatched, Sequence sequence) {
        int matched = 0;
        for (int b = 0; b < batch; b++) {
            int rowStart = b * length;
            for (int t = 0; t < length; t++) {
                int i = rowStart + t;
                int found = 0;
                for (int len = Math.min(maxN, t + 1); len >= FgramVocabulary.MIN_N; len--) {
                    if (sequence.lookup(window, i - len + 1, len, out, i * d) >= 0) {
                        found = len;
                        break;
                    }
                }
                matchedLength[i] = found;
                if (found == 0) {
                    if (zeroUnmatched) {
                        Arrays.fill(out, i * d, i * d + d, 0f);
                    }
                } else {
                    matched++;
                }
            }
        }
        return matched;
    }
}

package dev.scone.store;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;
import java.util.Objects;

/**
 * The longest-suffix walks every store shares, through a single-sequence lookup, longest first:
 * over a (B, T) window, for each position the longest f-gram ending there within its row; and
 * for incremental decoding, for each of several rows the longest f-gram ending at its last token.
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
     * Checks the arguments of a last-position lookup: {@code rows} rows, row r being
     * {@code tokenIds[offsets[r] .. offsets[r] + lengths[r])} with {@code lengths[r] >= 1}, and
     * room for (rows, E) vectors and (rows) lengths.
     *
     * @throws IllegalArgumentException naming the first problem
     */
    static void checkLast(int[] tokenIds, int[] offsets, int[] lengths, int rows, int d, float[] vectors,
            int[] matchLengths) {
        Objects.requireNonNull(tokenIds, "tokenIds");
        Objects.requireNonNull(offsets, "offsets");
        Objects.requireNonNull(lengths, "lengths");
        Objects.requireNonNull(vectors, "vectors");
        Objects.requireNonNull(matchLengths, "matchLengths");
        if (rows < 0) {
            throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        }
        if (offsets.length < rows || lengths.length < rows || matchLengths.length < rows
                || vectors.length < (long) rows * d) {
            throw new IllegalArgumentException("offsets of " + offsets.length + ", lengths of " + lengths.length
                    + ", matchLengths of " + matchLengths.length + " and vectors of " + vectors.length
                    + " floats do not hold " + rows + " rows of E = " + d);
        }
        for (int r = 0; r < rows; r++) {
            int from = offsets[r];
            int len = lengths[r];
            if (len < 1) {
                throw new IllegalArgumentException("row " + r + " has length " + len + ", expected >= 1");
            }
            if (from < 0 || (long) from + len > tokenIds.length) {
                throw new IllegalArgumentException("row " + r + " = tokenIds[" + from + ", " + ((long) from + len)
                        + ") lies outside tokenIds of " + tokenIds.length + " ids");
            }
        }
    }

    /**
     * For each row, the longest f-gram that is a suffix of the row (arguments already checked),
     * tried longest first: at most K - 1 probes per row.
     *
     * @return the number of matched rows
     */
    static int runLast(int[] tokenIds, int[] offsets, int[] lengths, int rows, int maxN, int d, float[] vectors,
            int[] matchLengths, Sequence sequence) {
        int matched = 0;
        for (int r = 0; r < rows; r++) {
            int end = offsets[r] + lengths[r];
            int found = 0;
            for (int len = Math.min(maxN, lengths[r]); len >= FgramVocabulary.MIN_N; len--) {
                if (sequence.lookup(tokenIds, end - len, len, vectors, r * d) >= 0) {
                    found = len;
                    break;
                }
            }
            matchLengths[r] = found;
            if (found > 0) {
                matched++;
            }
        }
        return matched;
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

package dev.scone.core;

/**
 * The inference store F: precomputed f-gram embeddings, looked up by token sequence.
 *
 * <p>A lookup serves a whole (B, T) window at once. Rows are matched independently: at each
 * position the longest f-gram (length 2..maxN) ending there and starting at or after the row
 * start, exactly the match the training pre-scan makes. Implementations allocate nothing per
 * token; they are safe for concurrent lookups unless they say otherwise, and refuse use after
 * {@link #close()}.
 */
public interface FgramEmbeddingTable extends AutoCloseable {

    /** @return E, the size of each stored vector */
    int embeddingSize();

    /** @return K, the longest f-gram length */
    int maxN();

    /** @return S, the number of f-grams stored */
    long size();

    /**
     * @return the fingerprint of the weights (T and A_fgram) the vectors were computed from, when the
     *     table knows it (a store records it in its manifest), else {@code null}
     */
    default String fgramModelFingerprint() {
        return null;
    }

    /**
     * Matches and looks up a window of token ids.
     *
     * @param tokenIds {@code rows * length} token ids, row-major (at least that many)
     * @param rows B, the number of independent rows
     * @param length T, the positions per row
     * @param vectors receives, for each matched position p = row * length + t, the f-gram's
     *     vector at {@code [p * E, (p + 1) * E)}; entries of unmatched positions are left as they are;
     *     at least {@code rows * length * E} long
     * @param matchLengths receives, for each position, the matched f-gram's length, or 0 where
     *     none matched; at least {@code rows * length} long
     * @return the number of matched positions
     * @throws IllegalArgumentException when an array is too short or rows/length is negative
     * @throws IllegalStateException after {@link #close()}
     */
    int lookup(int[] tokenIds, int rows, int length, float[] vectors, int[] matchLengths);

    /**
     * For incremental decoding: matches and looks up the last position of each row only. Row r's
     * tokens are {@code tokenIds[offsets[r] .. offsets[r] + lengths[r])}, oldest first; the longest
     * f-gram (2..K tokens, at most {@code lengths[r]}) that ends at the row's last token is found,
     * exactly as {@link #lookup} finds it for the last position of a row holding those tokens.
     *
     * <p>This default runs {@link #lookup} over each row's last K tokens; stores override it with a
     * walk over the last position alone.
     *
     * @param tokenIds the tokens of all rows
     * @param offsets where each row starts in {@code tokenIds}
     * @param lengths each row's length, at least 1
     * @param rows B
     * @param vectors receives row r's vector at {@code [r * E, (r + 1) * E)} where it matched (left as
     *     it is elsewhere); at least {@code rows * E} long
     * @param matchLengths receives row r's matched length, or 0; at least {@code rows} long
     * @return the number of matched rows
     * @throws IllegalArgumentException when a row lies outside {@code tokenIds}, a length is below 1
     *     or an array is too short
     * @throws IllegalStateException after {@link #close()}
     */
    default int lookupLast(int[] tokenIds, int[] offsets, int[] lengths, int rows, float[] vectors,
            int[] matchLengths) {
        int e = embeddingSize();
        int k = maxN();
        checkLastRows(tokenIds, offsets, lengths, rows, e, vectors, matchLengths);
        float[] window = new float[k * e];
        int[] windowLengths = new int[k];
        int[] last = new int[k];
        int matched = 0;
        for (int r = 0; r < rows; r++) {
            int n = Math.min(k, lengths[r]);
            System.arraycopy(tokenIds, offsets[r] + lengths[r] - n, last, 0, n);
            lookup(last, 1, n, window, windowLengths);
            matchLengths[r] = windowLengths[n - 1];
            if (matchLengths[r] > 0) {
                System.arraycopy(window, (n - 1) * e, vectors, r * e, e);
                matched++;
            }
        }
        return matched;
    }

    /**
     * Checks the arguments of {@link #lookupLast}.
     *
     * @throws IllegalArgumentException naming the first problem
     */
    static void checkLastRows(int[] tokenIds, int[] offsets, int[] lengths, int rows, int embeddingSize,
            float[] vectors, int[] matchLengths) {
        if (rows < 0) {
            throw new IllegalArgumentException("rows must be >= 0, got " + rows);
        }
        if (offsets.length < rows || lengths.length < rows || matchLengths.length < rows
                || vectors.length < (long) rows * embeddingSize) {
            throw new IllegalArgumentException("offsets (" + offsets.length + "), lengths (" + lengths.length
                    + "), matchLengths (" + matchLengths.length + ") or vectors (" + vectors.length + ") too short for "
                    + rows + " rows of E = " + embeddingSize);
        }
        for (int r = 0; r < rows; r++) {
            if (lengths[r] < 1 || offsets[r] < 0 || (long) offsets[r] + lengths[r] > tokenIds.length) {
                throw new IllegalArgumentException("row " + r + " (offset " + offsets[r] + ", length " + lengths[r]
                        + ") is empty or outside the " + tokenIds.length + " token ids");
            }
        }
    }

    /** Releases the table's memory or files; it must not be used afterwards. */
    @Override
    void close();
}

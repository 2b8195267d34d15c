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

    /** Releases the table's memory or files; it must not be used afterwards. */
    @Override
    void close();
}

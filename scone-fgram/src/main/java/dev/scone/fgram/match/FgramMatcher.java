package dev.scone.fgram.match;

/**
 * Finds, for every position of a token sequence, the longest f-gram that ends there (the paper's
 * Algorithm 1). Matches are exact: a hash collision never produces a false match.
 *
 * <p>Implementations are immutable and safe for concurrent use.
 */
public interface FgramMatcher {

    /** Written for a position where no f-gram ends. */
    int NO_MATCH = -1;

    /** @return the longest f-gram length K */
    int maxN();

    /**
     * Matches one document (or one context) {@code tokens[from .. from + len)}: for each position
     * {@code i} writes to {@code out[outOffset + (i - from)]} the id of the longest f-gram
     * {@code tokens[j .. i]} with {@code from <= j < i}, or {@link #NO_MATCH}. No match reaches
     * before {@code from}, so a call per document never crosses a document boundary.
     *
     * @param tokens token ids
     * @param from first position of the document
     * @param len number of positions
     * @param out destination of the f-gram ids
     * @param outOffset where position {@code from}'s result goes
     */
    void match(int[] tokens, int from, int len, int[] out, int outOffset);

    /**
     * Convenience form of {@link #match(int[], int, int, int[], int)} over a whole array.
     *
     * @param tokens token ids of one document
     * @return the f-gram id matched at each position, or {@link #NO_MATCH}
     */
    default int[] match(int[] tokens) {
        int[] out = new int[tokens.length];
        match(tokens, 0, tokens.length, out, 0);
        return out;
    }
}

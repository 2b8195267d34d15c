package dev.scone.store;

/**
 * The outcome of a batch lookup over a (B, T) window: the (B, T, E) vectors, row-major, and for
 * each (B, T) position the length of the f-gram matched there (0 where none matched; the vector
 * is then zero). Reusable: pass it back to {@link FgramStore#prefetch(int[], int, int, LookupResult)}.
 */
public final class LookupResult {

    private final int batch;
    private final int length;
    private final int embeddingSize;
    private final float[] vectors;
    private final int[] matchedLength;
    private int matched;

    /**
     * Allocates the buffers for one window.
     *
     * @param batch B (&gt;= 1)
     * @param length T (&gt;= 1)
     * @param embeddingSize E (&gt;= 1)
     */
    public LookupResult(int batch, int length, int embeddingSize) {
        if (batch < 1 || length < 1 || embeddingSize < 1) {
            throw new IllegalArgumentException("B, T, E must be >= 1, got " + batch + ", " + length + ", "
                    + embeddingSize);
        }
        long n = (long) batch * length * embeddingSize;
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("B * T * E = " + n + " does not fit one array");
        }
        this.batch = batch;
        this.length = length;
        this.embeddingSize = embeddingSize;
        this.vectors = new float[(int) n];
        this.matchedLength = new int[batch * length];
    }

    /** @return B */
    public int batch() {
        return batch;
    }

    /** @return T */
    public int length() {
        return length;
    }

    /** @return E */
    public int embeddingSize() {
        return embeddingSize;
    }

    /** @return the (B, T, E) vectors, row-major (the live buffer, not a copy) */
    public float[] vectors() {
        return vectors;
    }

    /** @return the (B, T) matched f-gram lengths, 0 = no match (the live buffer) */
    public int[] matchedLength() {
        return matchedLength;
    }

    /** @return how many positions matched an f-gram */
    public int matchedCount() {
        return matched;
    }

    void setMatchedCount(int count) {
        this.matched = count;
    }
}

package dev.scone.fgram.vocab;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Collects the records of one block ({@link BlockLayout}) and encodes it; the one encoder of the
 * layout, used by {@link FgramVocabulary.Builder} (into memory) and {@link FgramVocabularyFile.Writer}
 * (into a file). Each record is checked as it is added.
 */
final class BlockEncoder {

    private final int tokenVocabularySize;
    private final int maxN;
    private final long[] counts;
    private final int[] ends;
    private int[] tokens;
    private int fgrams;
    private int tokenCount;

    BlockEncoder(int tokenVocabularySize, int maxN, int blockBits) {
        checkShape(tokenVocabularySize, maxN, blockBits);
        this.tokenVocabularySize = tokenVocabularySize;
        this.maxN = maxN;
        int b = 1 << blockBits;
        this.counts = new long[b];
        this.ends = new int[b];
        this.tokens = new int[Math.max(maxN, Math.min(b * maxN, 1 << 12))];
    }

    /**
     * Checks what every encoder checks of a vocabulary's shape.
     *
     * @param tokenVocabularySize V, at least 1
     * @param maxN K, at least 2
     * @param blockBits the blocks' size as a power of two, fitting f-grams of K tokens
     * @throws IllegalArgumentException naming what is wrong
     */
    static void checkShape(int tokenVocabularySize, int maxN, int blockBits) {
        if (tokenVocabularySize < 1) {
            throw new IllegalArgumentException("token vocabulary size must be >= 1, got " + tokenVocabularySize);
        }
        if (maxN < FgramVocabulary.MIN_N) {
            throw new IllegalArgumentException("maxN (K) must be >= " + FgramVocabulary.MIN_N + ", got " + maxN);
        }
        if (!BlockLayout.fits(blockBits, maxN)) {
            throw new IllegalArgumentException("blocks of 2^" + blockBits + " f-grams of up to " + maxN
                    + " tokens do not fit the layout");
        }
    }

    /**
     * Checks and adds a record.
     *
     * @param id the f-gram's id (for messages)
     * @param seq array holding its tokens
     * @param from where they start
     * @param len its length
     * @param count its count
     * @throws IllegalArgumentException when the record is invalid, naming the f-gram
     */
    void add(long id, int[] seq, int from, int len, long count) {
        Objects.requireNonNull(seq, "f-gram " + id);
        if (len < FgramVocabulary.MIN_N || len > maxN) {
            throw new IllegalArgumentException("f-gram " + id + " has length " + len + ", outside ["
                    + FgramVocabulary.MIN_N + ", " + maxN + "]");
        }
        Objects.checkFromIndexSize(from, len, seq.length);
        if (count < 0) {
            throw new IllegalArgumentException("f-gram " + id + " has negative count " + count);
        }
        for (int k = 0; k < len; k++) {
            int t = seq[from + k];
            if (t < 0 || t >= tokenVocabularySize) {
                throw new IllegalArgumentException("f-gram " + id + " has token id " + t
                        + " outside the token vocabulary [0, " + tokenVocabularySize + ")");
            }
        }
        if (fgrams == counts.length) {
            throw new IllegalStateException("the block is full");
        }
        if (tokenCount + len > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(tokenCount + len, tokens.length * 2));
        }
        System.arraycopy(seq, from, tokens, tokenCount, len);
        tokenCount += len;
        counts[fgrams] = count;
        ends[fgrams] = tokenCount;
        fgrams++;
    }

    /** @return whether the block holds its full {@code B} f-grams */
    boolean isFull() {
        return fgrams == counts.length;
    }

    /** @return f-grams collected */
    int fgrams() {
        return fgrams;
    }

    /** @return tokens collected */
    int tokens() {
        return tokenCount;
    }

    /** @return the encoded size in bytes */
    int bytes() {
        return (int) BlockLayout.blockBytes(fgrams, tokenCount);
    }

    /**
     * Writes the block at {@code dst}'s position (advancing it by {@link #bytes()}) and empties
     * the encoder.
     *
     * @param dst a little-endian buffer with room for the block
     */
    void encodeTo(ByteBuffer dst) {
        int at = dst.position();
        for (int i = 0; i < fgrams; i++) {
            dst.putLong(counts[i]);
        }
        for (int i = 0; i < fgrams; i++) {
            dst.putInt(ends[i]);
        }
        for (int k = 0; k < tokenCount; k++) {
            dst.putInt(tokens[k]);
        }
        while (dst.position() < at + bytes()) {
            dst.put((byte) 0);
        }
        fgrams = 0;
        tokenCount = 0;
    }
}

package dev.scone.fgram.vocab;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The block layout of f-gram records, shared by the vocabulary file (format version 3) and the
 * in-memory vocabulary, which holds the same bytes. F-grams are grouped into blocks of
 * {@code B = 2^blockBits} consecutive ids (the last block may hold fewer); a block of {@code b}
 * f-grams with {@code t} tokens in all is, little-endian:
 *
 * <pre>
 *   b x int64   counts
 *   b x int32   ends: the tokens of the block's f-grams 0..i together, for each i
 *   t x int32   token ids, f-gram after f-gram
 *   0..7 zero bytes, so that the block's size is a multiple of 8
 * </pre>
 *
 * A record is found from its block's start alone (f-gram {@code i} of a block is tokens
 * {@code [ends[i-1], ends[i])}), so reading one needs no index of per-f-gram offsets: offsets
 * within a block are ints whatever the vocabulary's size.
 */
final class BlockLayout {

    /** F-grams per block by default: 2^14 (a block of about 300 KB for K = 5). */
    static final int DEFAULT_BLOCK_BITS = 14;

    /** The largest block, in f-grams: 2^20. */
    static final int MAX_BLOCK_BITS = 20;

    /** The largest block in bytes, so that a block's offsets are ints and it fits one mapping. */
    static final long MAX_BLOCK_BYTES = 1L << 30;

    private BlockLayout() {}

    /**
     * @param fgrams f-grams in the block
     * @param tokens their tokens together
     * @return the block's size in bytes, padding included
     */
    static long blockBytes(long fgrams, long tokens) {
        return (12 * fgrams + 4 * tokens + 7) & ~7L;
    }

    /**
     * @param blockBits log2 of the f-grams per block
     * @param maxN the longest f-gram length
     * @return whether the largest block of this shape stays within {@link #MAX_BLOCK_BYTES}
     */
    static boolean fits(int blockBits, int maxN) {
        return blockBits >= 0 && blockBits <= MAX_BLOCK_BITS
                && blockBytes(1L << blockBits, (1L << blockBits) * maxN) <= MAX_BLOCK_BYTES;
    }

    /**
     * @param size S
     * @param blockBits log2 of the f-grams per block
     * @return the number of blocks of a vocabulary of {@code size} f-grams
     */
    static int blockCount(int size, int blockBits) {
        return (int) ((size + (1L << blockBits) - 1) >>> blockBits);
    }

    /**
     * @param size S
     * @param blockBits log2 of the f-grams per block
     * @param block a block
     * @return the f-grams the block holds
     */
    static int fgramsIn(int size, int blockBits, int block) {
        return (int) Math.min(1L << blockBits, size - ((long) block << blockBits));
    }

    /** A little-endian view of a byte array. */
    static ByteBuffer wrap(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Checks a block's records: its ends rise by 2..maxN tokens each and end at {@code tokens},
     * every token id is in {@code [0, tokenVocabularySize)}, every count is {@code >= 0}, and its
     * padding is zero.
     *
     * @param block the block's bytes from {@code at}
     * @param at where the block starts
     * @param fgrams f-grams in the block
     * @param tokens its tokens
     * @param firstId the id of its first f-gram (for messages)
     * @param tokenVocabularySize V
     * @param maxN K
     * @return null when the block is sound, else what is wrong
     */
    static String check(ByteBuffer block, int at, int fgrams, int tokens, long firstId, int tokenVocabularySize,
            int maxN) {
        int endsAt = at + 8 * fgrams;
        int tokensAt = endsAt + 4 * fgrams;
        int previous = 0;
        for (int i = 0; i < fgrams; i++) {
            long count = block.getLong(at + 8 * i);
            if (count < 0) {
                return "f-gram " + (firstId + i) + " has negative count " + count;
            }
            int end = block.getInt(endsAt + 4 * i);
            long len = (long) end - previous;
            if (len < FgramVocabulary.MIN_N || len > maxN || end > tokens) {
                return "f-gram " + (firstId + i) + " has length " + len + ", outside [" + FgramVocabulary.MIN_N + ", "
                        + maxN + "]" + (end > tokens ? " or runs past its block's " + tokens + " tokens" : "");
            }
            for (int k = previous; k < end; k++) {
                int token = block.getInt(tokensAt + 4 * k);
                if (token < 0 || token >= tokenVocabularySize) {
                    return "f-gram " + (firstId + i) + " has token id " + token + " outside the token vocabulary [0, "
                            + tokenVocabularySize + ")";
                }
            }
            previous = end;
        }
        if (previous != tokens) {
            return "the block starting at f-gram " + firstId + " holds " + previous + " tokens, its index says "
                    + tokens;
        }
        long size = blockBytes(fgrams, tokens);
        for (long p = tokensAt + 4L * tokens; p < at + size; p++) {
            if (block.get((int) p) != 0) {
                return "the block starting at f-gram " + firstId + " has non-zero padding";
            }
        }
        return null;
    }

    /**
     * Adds a block's records to a fingerprint, in id order.
     *
     * @param block the block's bytes from index 0 (checked)
     * @param fgrams f-grams in the block
     * @param digest the fingerprint being computed
     * @param scratch room for the longest f-gram
     */
    static void digest(ByteBuffer block, int fgrams, FingerprintDigest digest, int[] scratch) {
        int endsAt = 8 * fgrams;
        int tokensAt = endsAt + 4 * fgrams;
        int start = 0;
        for (int i = 0; i < fgrams; i++) {
            int end = block.getInt(endsAt + 4 * i);
            for (int k = start; k < end; k++) {
                scratch[k - start] = block.getInt(tokensAt + 4 * k);
            }
            digest.add(scratch, 0, end - start, block.getLong(8 * i));
            start = end;
        }
    }
}

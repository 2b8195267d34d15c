package dev.scone.spark.count;

import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.Serializable;

/**
 * A piece of the vocabulary file made by one task of the ranked selection: a whole block that the
 * task holds every f-gram of, already encoded ({@link FgramVocabularyFile.EncodedBlock}), or the
 * f-grams it holds of a block that reaches into the next task's (a fragment: the ids from
 * {@link #firstId}, as lengths, tokens and counts), which the assembling task completes and encodes.
 */
final class VocabularyPiece implements Serializable {

    private static final long serialVersionUID = 1L;

    /** The block the piece belongs to. */
    final int block;
    /** The f-grams it holds. */
    final int fgrams;
    /** Their tokens together. */
    final int tokens;
    /** The encoded block's CRC32C (a whole block), else 0. */
    final int crc;
    /** The encoded block (a whole block), else null. */
    final byte[] bytes;
    /** A fragment's first id, else -1. */
    final int firstId;
    /** A fragment's f-gram lengths, else null. */
    final int[] lengths;
    /** A fragment's tokens, f-gram after f-gram, else null. */
    final int[] fragmentTokens;
    /** A fragment's counts, else null. */
    final long[] counts;

    VocabularyPiece(int block, int fgrams, int tokens, int crc, byte[] bytes, int firstId, int[] lengths,
            int[] fragmentTokens, long[] counts) {
        this.block = block;
        this.fgrams = fgrams;
        this.tokens = tokens;
        this.crc = crc;
        this.bytes = bytes;
        this.firstId = firstId;
        this.lengths = lengths;
        this.fragmentTokens = fragmentTokens;
        this.counts = counts;
    }

    static VocabularyPiece whole(FgramVocabularyFile.EncodedBlock b) {
        return new VocabularyPiece(b.index(), b.fgrams(), b.tokens(), b.crc(), b.bytes(), -1, null, null, null);
    }

    static VocabularyPiece fragment(int block, int firstId, int[] lengths, int[] tokens, long[] counts) {
        return new VocabularyPiece(block, lengths.length, tokens.length, 0, null, firstId, lengths, tokens, counts);
    }

    boolean isWhole() {
        return bytes != null;
    }

    FgramVocabularyFile.EncodedBlock encoded() {
        return new FgramVocabularyFile.EncodedBlock(block, fgrams, tokens, crc, bytes);
    }
}

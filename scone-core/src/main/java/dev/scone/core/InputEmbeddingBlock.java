package dev.scone.core;

import ai.djl.nn.Block;

/**
 * The input-embedding layer of a causal language model: the only part in which a baseline and a
 * SCONE model differ.
 *
 * <p>Forward input {@code NDList(tokenIds, fgramIds)}: tokenIds, (B, T) int32 (int64 accepted), ids
 * in [0, V); fgramIds, (B, T) int32 (int64 accepted), at each position the id of the longest
 * f-gram ending there (from the pre-scan, never reaching before the row start) or -1 where none
 * matched. Forward output {@code NDList(embeddings)}, (B, T, E). Every implementation also
 * accepts {@code NDList(tokenIds)} alone: blocks that do not use f-grams ignore them, the SCONE
 * block matches the tokens itself, and a table block always matches by itself.
 *
 * <p>Every implementation owns a token embedding T, which a language model may tie to its output
 * projection.
 *
 * <p>In a training pass keep the input arrays open until the backward pass has run (close the
 * batch after the optimizer step): autograd reads the token ids again in the backward pass, and an
 * array created from a Java array borrows memory that may be freed once the array is closed.
 */
public interface InputEmbeddingBlock extends Block {

    /** @return E, the size of each output embedding */
    int embeddingSize();

    /** @return V, the size of the token vocabulary */
    int tokenVocabularySize();

    /** @return the token embedding T this block owns (itself for {@link TokenEmbeddingBlock}) */
    TokenEmbeddingBlock tokenEmbedding();
}

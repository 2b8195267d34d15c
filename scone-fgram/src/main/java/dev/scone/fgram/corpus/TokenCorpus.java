package dev.scone.fgram.corpus;

import java.nio.IntBuffer;

/**
 * A tokenized corpus: a sequence of documents, each a sequence of token ids in
 * {@code [0, vocabularySize())}. Documents are kept apart: nothing derived from a corpus (n-gram
 * counts, matches, training windows) crosses a document boundary.
 */
public interface TokenCorpus {

    /** @return the number of documents */
    int documentCount();

    /** @return the total number of tokens over all documents */
    long tokenCount();

    /** @return the size of the token vocabulary; every id is in {@code [0, vocabularySize())} */
    int vocabularySize();

    /**
     * @param doc document index in {@code [0, documentCount())}
     * @return the number of tokens of that document
     */
    int documentLength(int doc);

    /**
     * A read-only view of one document's tokens: position 0, limit = the document's length. The
     * view may be backed by a memory-mapped file; it is valid while the corpus is open.
     *
     * @param doc document index in {@code [0, documentCount())}
     * @return the document's token ids
     */
    IntBuffer tokens(int doc);

    /**
     * Copies one document's tokens into a new array.
     *
     * @param doc document index
     * @return the token ids
     */
    default int[] document(int doc) {
        IntBuffer b = tokens(doc);
        int[] out = new int[b.remaining()];
        b.get(out);
        return out;
    }
}

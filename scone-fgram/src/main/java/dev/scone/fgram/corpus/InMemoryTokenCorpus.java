package dev.scone.fgram.corpus;

import java.nio.IntBuffer;
import java.util.Objects;

/** A {@link TokenCorpus} held in heap arrays; handy for tests and small data. */
public final class InMemoryTokenCorpus implements TokenCorpus {

    private final int[][] documents;
    private final int vocabularySize;
    private final long tokenCount;

    /**
     * @param documents the documents (copied)
     * @param vocabularySize the token vocabulary size; every id must be below it
     * @throws IllegalArgumentException when an id is negative or not below {@code vocabularySize}
     */
    public InMemoryTokenCorpus(int[][] documents, int vocabularySize) {
        Objects.requireNonNull(documents, "documents");
        if (vocabularySize < 1) {
            throw new IllegalArgumentException("vocabularySize must be >= 1, got " + vocabularySize);
        }
        this.documents = new int[documents.length][];
        long total = 0;
        for (int d = 0; d < documents.length; d++) {
            int[] doc = Objects.requireNonNull(documents[d], "document " + d).clone();
            for (int i = 0; i < doc.length; i++) {
                if (doc[i] < 0 || doc[i] >= vocabularySize) {
                    throw new IllegalArgumentException("token id " + doc[i] + " at document " + d + ", position " + i
                            + " is outside the vocabulary [0, " + vocabularySize + ")");
                }
            }
            this.documents[d] = doc;
            total += doc.length;
        }
        this.vocabularySize = vocabularySize;
        this.tokenCount = total;
    }

    @Override
    public int documentCount() {
        return documents.length;
    }

    @Override
    public long tokenCount() {
        return tokenCount;
    }

    @Override
    public int vocabularySize() {
        return vocabularySize;
    }

    @Override
    public int documentLength(int doc) {
        return documents[Objects.checkIndex(doc, documents.length)].length;
    }

    @Override
    public IntBuffer tokens(int doc) {
        return IntBuffer.wrap(documents[Objects.checkIndex(doc, documents.length)]).asReadOnlyBuffer();
    }

    @Override
    public int[] document(int doc) {
        return documents[Objects.checkIndex(doc, documents.length)].clone();
    }
}

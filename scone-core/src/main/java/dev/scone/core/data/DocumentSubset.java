package dev.scone.core.data;

import dev.scone.fgram.corpus.TokenCorpus;
import java.nio.IntBuffer;
import java.util.Objects;

/**
 * A {@link TokenCorpus} view that exposes some documents of another corpus, in a given order.
 * Document {@code i} of the view is document {@code documents[i]} of the base corpus. The view
 * reads through to the base corpus and is valid while the base corpus is open.
 */
public final class DocumentSubset implements TokenCorpus {

    private final TokenCorpus base;
    private final int[] documents;
    private final long tokenCount;

    /**
     * @param base the corpus to draw documents from
     * @param documents base document indices (copied); each in range, no duplicates
     * @throws IllegalArgumentException when an index is out of range or repeated
     */
    public DocumentSubset(TokenCorpus base, int[] documents) {
        this.base = Objects.requireNonNull(base, "base");
        this.documents = Objects.requireNonNull(documents, "documents").clone();
        int n = base.documentCount();
        boolean[] seen = new boolean[n];
        long total = 0;
        for (int i = 0; i < this.documents.length; i++) {
            int d = this.documents[i];
            if (d < 0 || d >= n) {
                throw new IllegalArgumentException("document index " + d + " at position " + i
                        + " is outside [0, " + n + ")");
            }
            if (seen[d]) {
                throw new IllegalArgumentException("document index " + d + " appears twice");
            }
            seen[d] = true;
            total += base.documentLength(d);
        }
        this.tokenCount = total;
    }

    /** @return the base corpus */
    public TokenCorpus base() {
        return base;
    }

    /**
     * @param doc a document index of this view
     * @return the index of the same document in the base corpus
     */
    public int baseDocument(int doc) {
        return documents[Objects.checkIndex(doc, documents.length)];
    }

    /** @return a copy of the base document indices, in view order */
    public int[] baseDocuments() {
        return documents.clone();
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
        return base.vocabularySize();
    }

    @Override
    public int documentLength(int doc) {
        return base.documentLength(baseDocument(doc));
    }

    @Override
    public IntBuffer tokens(int doc) {
        return base.tokens(baseDocument(doc));
    }

    @Override
    public int[] document(int doc) {
        return base.document(baseDocument(doc));
    }

    @Override
    public String toString() {
        return "DocumentSubset[" + documents.length + " of " + base.documentCount() + " documents, " + tokenCount
                + " tokens]";
    }
}

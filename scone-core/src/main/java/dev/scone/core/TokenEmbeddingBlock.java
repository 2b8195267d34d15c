package dev.scone.core;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.io.DataInputStream;
import java.io.IOException;

/**
 * The token embedding T: V -&gt; R^E, a learned (V, E) table. As an {@link InputEmbeddingBlock} it is
 * the baseline: it ignores the f-gram ids and returns T(token) at every position.
 */
public final class TokenEmbeddingBlock extends AbstractBlock implements InputEmbeddingBlock {

    private static final byte VERSION = 1;

    private final int vocabularySize;
    private final int embeddingSize;
    private final Parameter weight; // (V, E)

    /**
     * @param vocabularySize V, at least 1
     * @param embeddingSize E, at least 1
     */
    public TokenEmbeddingBlock(int vocabularySize, int embeddingSize) {
        super(VERSION);
        if (vocabularySize < 1) {
            throw new IllegalArgumentException("vocabularySize must be >= 1, got " + vocabularySize);
        }
        if (embeddingSize < 1) {
            throw new IllegalArgumentException("embeddingSize must be >= 1, got " + embeddingSize);
        }
        this.vocabularySize = vocabularySize;
        this.embeddingSize = embeddingSize;
        this.weight = addParameter(Parameter.builder()
                .setName("weight")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(vocabularySize, embeddingSize))
                .optInitializer(new NormalInitializer(0.02f))
                .build());
    }

    @Override
    public int embeddingSize() {
        return embeddingSize;
    }

    @Override
    public int tokenVocabularySize() {
        return vocabularySize;
    }

    @Override
    public TokenEmbeddingBlock tokenEmbedding() {
        return this;
    }

    /** @return the (V, E) table parameter */
    public Parameter weight() {
        return weight;
    }

    /**
     * Looks up token embeddings without checking the ids (callers have checked them).
     *
     * @param ps the parameter store
     * @param tokenIds ids of any shape (...), int32 or int64, each in [0, V)
     * @param training whether this is a training pass
     * @return (..., E), attached to {@code tokenIds}' manager
     */
    public NDArray embed(ParameterStore ps, NDArray tokenIds, boolean training) {
        NDArray table = ps.getValue(weight, tokenIds.getDevice(), training);
        return Embedding.embedding(tokenIds, table, SparseFormat.DENSE).singletonOrThrow();
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray tokenIds = InputChecks.tokenIdsOf(inputs);
        InputChecks.tokenIds(tokenIds, vocabularySize);
        return new NDList(embed(ps, tokenIds, training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(embeddingSize)};
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported TokenEmbeddingBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }
}

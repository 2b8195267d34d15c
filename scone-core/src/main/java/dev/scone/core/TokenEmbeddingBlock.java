package dev.scone.core;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Objects;

/**
 * The token embedding T: V -&gt; R^E, a learned (V, E) table. As an {@link InputEmbeddingBlock} it is
 * the baseline: it ignores the f-gram ids and returns T(token) at every position.
 *
 * <p>{@link #wrap} makes T of a block the user brings, any block that maps token ids (...) to
 * (..., E), DJL's {@code TrainableWordEmbedding} for instance: a {@link SconeEmbeddingBlock} then
 * embeds both the positions' tokens and the f-grams' tokens through it, and gradients flow into it.
 */
public final class TokenEmbeddingBlock extends AbstractBlock implements InputEmbeddingBlock {

    private static final byte VERSION = 1;

    private final int vocabularySize;
    private final int embeddingSize;
    private final Parameter weight; // (V, E); null when T is a wrapped block
    private final Block wrapped; // the user's embedding block, or null

    /**
     * @param vocabularySize V, at least 1
     * @param embeddingSize E, at least 1
     */
    public TokenEmbeddingBlock(int vocabularySize, int embeddingSize) {
        super(VERSION);
        checkSizes(vocabularySize, embeddingSize);
        this.vocabularySize = vocabularySize;
        this.embeddingSize = embeddingSize;
        this.wrapped = null;
        this.weight = addParameter(Parameter.builder()
                .setName("weight")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(vocabularySize, embeddingSize))
                .optInitializer(new NormalInitializer(0.02f))
                .build());
    }

    private TokenEmbeddingBlock(Block embedding, int vocabularySize, int embeddingSize) {
        super(VERSION);
        Objects.requireNonNull(embedding, "embedding");
        checkSizes(vocabularySize, embeddingSize);
        this.vocabularySize = vocabularySize;
        this.embeddingSize = embeddingSize;
        this.weight = null;
        this.wrapped = addChildBlock("embedding", embedding);
    }

    private static void checkSizes(int vocabularySize, int embeddingSize) {
        if (vocabularySize < 1) {
            throw new IllegalArgumentException("vocabularySize must be >= 1, got " + vocabularySize);
        }
        if (embeddingSize < 1) {
            throw new IllegalArgumentException("embeddingSize must be >= 1, got " + embeddingSize);
        }
    }

    /**
     * Makes a block of the user's own the token embedding T.
     *
     * @param embedding maps token ids of any shape (...), int32, each in [0, V), to (..., E)
     * @param vocabularySize V
     * @param embeddingSize E
     * @return T backed by that block
     */
    public static TokenEmbeddingBlock wrap(Block embedding, int vocabularySize, int embeddingSize) {
        return new TokenEmbeddingBlock(embedding, vocabularySize, embeddingSize);
    }

    /** @return the wrapped block, or null when T is scone's own (V, E) table */
    public Block wrapped() {
        return wrapped;
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

    /**
     * @return the (V, E) table parameter: scone's own, or the wrapped block's parameter of that
     *     shape (which an output projection can be tied to)
     * @throws IllegalStateException when the wrapped block has no (V, E) parameter
     */
    public Parameter weight() {
        if (weight != null) {
            return weight;
        }
        Shape table = new Shape(vocabularySize, embeddingSize);
        for (Parameter p : wrapped.getParameters().values()) {
            if (p.isInitialized() && p.getArray().getShape().equals(table)) {
                return p;
            }
        }
        throw new IllegalStateException("the wrapped token embedding " + wrapped.getClass().getSimpleName()
                + " has no initialized " + table + " parameter");
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
        if (wrapped != null) {
            NDArray out = wrapped.forward(ps, new NDList(tokenIds), training).singletonOrThrow();
            Shape expected = tokenIds.getShape().add(embeddingSize);
            if (!out.getShape().equals(expected)) {
                throw new IllegalStateException("the wrapped token embedding " + wrapped.getClass().getSimpleName()
                        + " mapped ids " + tokenIds.getShape() + " to " + out.getShape() + ", not " + expected);
            }
            return out;
        }
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
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        if (wrapped != null) {
            wrapped.initialize(manager, dataType, inputShapes[0]);
        }
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

package dev.scone.fgram.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.io.DataInputStream;
import java.io.IOException;

/**
 * A learned absolute position embedding: adds row {@code t} of a (L, E) table, drawn from N(0,
 * 0.02) at initialisation, to the vector at position {@code t}. Input {@code NDList(x)}, (..., T, E)
 * with T at most L; output the same shape.
 *
 * <p>scone's causal language model and A_fgram add their positions through the same code
 * ({@link #parameter} and {@link #addPrefix}) and keep the table as a parameter of their own, so
 * that their saved parameters keep their layout; a model of the user's own puts this block in its
 * {@code SequentialBlock} after the input embedding.
 */
public final class PositionEmbeddingBlock extends AbstractBlock {

    private static final byte VERSION = 1;

    /** The standard deviation of the table's initial values. */
    public static final float INIT_STD = 0.02f;

    private final int maxLength;
    private final int embeddingSize;
    private final Parameter positions;

    /**
     * @param maxLength L, the most positions an input may have, at least 1
     * @param embeddingSize E, at least 1
     */
    public PositionEmbeddingBlock(int maxLength, int embeddingSize) {
        super(VERSION);
        this.maxLength = maxLength;
        this.embeddingSize = embeddingSize;
        this.positions = addParameter(parameter(maxLength, embeddingSize));
    }

    /**
     * The (L, E) position table, named {@code positions}, initialised from N(0, {@value #INIT_STD}).
     *
     * @param maxLength L, at least 1
     * @param embeddingSize E, at least 1
     * @return a new parameter for a block to add
     */
    public static Parameter parameter(int maxLength, int embeddingSize) {
        if (maxLength < 1 || embeddingSize < 1) {
            throw new IllegalArgumentException("a position table needs L >= 1 and E >= 1, got (" + maxLength + ", "
                    + embeddingSize + ")");
        }
        return Parameter.builder()
                .setName("positions")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(maxLength, embeddingSize))
                .optInitializer(new NormalInitializer(INIT_STD))
                .build();
    }

    /**
     * Adds the first T rows of a position table to {@code x}.
     *
     * @param ps the parameter store
     * @param positions a table made by {@link #parameter}
     * @param scope where the intermediates live
     * @param x (..., T, E)
     * @param training whether this is a training pass
     * @return x + positions[0:T], broadcast over the leading axes
     * @throws IllegalArgumentException when T exceeds the table or E differs
     */
    public static NDArray addPrefix(ParameterStore ps, Parameter positions, NDManager scope, NDArray x,
            boolean training) {
        Shape s = x.getShape();
        Shape table = positions.getArray().getShape();
        if (s.dimension() < 2 || s.get(s.dimension() - 1) != table.get(1)) {
            throw new IllegalArgumentException("expected (..., T, " + table.get(1) + ") vectors, got " + s);
        }
        long length = s.get(s.dimension() - 2);
        if (length < 1 || length > table.get(0)) {
            throw new IllegalArgumentException("sequence length " + length + " is outside [1, " + table.get(0)
                    + "] (the position table's length)");
        }
        NDArray pos = ps.getValue(positions, x.getDevice(), training).get(scope, new NDIndex("0:{}", length));
        return x.add(pos);
    }

    /** @return L, the most positions an input may have */
    public int maxLength() {
        return maxLength;
    }

    /** @return E */
    public int embeddingSize() {
        return embeddingSize;
    }

    /** @return the (L, E) table */
    public Parameter positions() {
        return positions;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(inputs);
            return new NDList(scope.ret(addPrefix(ps, positions, scope, x, training)));
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported PositionEmbeddingBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }

    @Override
    public String toString() {
        return "PositionEmbeddingBlock(" + maxLength + " x " + embeddingSize + ")";
    }
}

package dev.scone.fgram.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.util.PairList;
import java.io.DataInputStream;
import java.io.IOException;

/**
 * Root-mean-square normalisation over the last axis with a learned per-channel gain (Zhang and
 * Sennrich, 2019): {@code y = x / sqrt(mean(x^2) + epsilon) * gain}. Unlike a layer norm it does not
 * subtract the mean and has no bias. Input {@code NDList(x)}, (..., E); output the same shape.
 * The gain starts at 1.
 */
public final class RmsNormBlock extends AbstractBlock {

    private static final byte VERSION = 1;

    /** Added to the mean square before the square root. */
    public static final float EPSILON = 1e-6f;

    private final int embeddingSize;
    private final Parameter gain; // (E)

    /** @param embeddingSize E, the size of the normalised axis, at least 1 */
    public RmsNormBlock(int embeddingSize) {
        super(VERSION);
        if (embeddingSize < 1) {
            throw new IllegalArgumentException("embeddingSize must be >= 1, got " + embeddingSize);
        }
        this.embeddingSize = embeddingSize;
        this.gain = addParameter(Parameter.builder()
                .setName("gain")
                .setType(Parameter.Type.GAMMA)
                .optShape(new Shape(embeddingSize))
                .optInitializer(new ConstantInitializer(1f))
                .build());
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Shape shape = x.getShape();
        if (shape.dimension() < 1 || shape.get(shape.dimension() - 1) != embeddingSize) {
            throw new IllegalArgumentException("RMS norm input must end in " + embeddingSize + ", got " + shape);
        }
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(x);
            // Engine-owned scalar: autograd keeps it for the backward pass, after this scope closes.
            NDArray eps = scope.create(EPSILON).toType(x.getDataType(), false).duplicate();
            NDArray rms = x.square().mean(new int[] {shape.dimension() - 1}, true).add(eps).sqrt(); // (..., 1)
            NDArray y = x.div(rms).mul(ps.getValue(gain, x.getDevice(), training));
            return new NDList(scope.ret(y));
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported RmsNormBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }
}

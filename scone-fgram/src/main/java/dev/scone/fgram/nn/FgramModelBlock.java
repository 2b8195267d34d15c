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
 * The f-gram model A_fgram (paper Sec. 3): maps the token embeddings of an f-gram to one
 * contextual embedding.
 *
 * <p>It is the causal {@link DecoderStackBlock} with its own learned absolute position embedding
 * of K positions and no token embedding. Input {@code NDList(x, lengths)}: x, (U, L, E), holds the
 * main model's token embeddings of U f-grams, each right-padded to the longest, L &lt;= K;
 * lengths, (U) int32 or int64, holds each f-gram's real length in [1, L]. Output
 * {@code NDList(y)}, (U, E): the hidden state at each f-gram's last real position (paper footnote
 * 2). Attention is causal, so right padding never changes the result.
 *
 * <p>The configuration's {@link FgramOutput} says what the output is: the decoder stack's final
 * layer norm (RMS about 1 at initialisation, like the main model's last hidden state), the residual
 * stream without it (on the token embeddings' scale), or the layer norm times one learned scalar
 * gain that starts at {@value FgramOutput#SCALED_INITIAL_GAIN}. The vector replaces a token
 * embedding, so its scale decides how loud matched positions are in the main model.
 */
public final class FgramModelBlock extends AbstractBlock {

    private static final byte VERSION = 1;

    private final FgramModelConfig config;
    private final Parameter positions; // (K, E)
    private final DecoderStackBlock decoder;
    private final Parameter outputGain; // (1), only for FgramOutput.SCALED

    /** @param config the model's shape */
    public FgramModelBlock(FgramModelConfig config) {
        super(VERSION);
        this.config = config;
        this.positions = addParameter(PositionEmbeddingBlock.parameter(config.maxN(), config.embeddingSize()));
        this.decoder = addChildBlock("decoder",
                new DecoderStackBlock(config.decoder(), config.output() != FgramOutput.NONE));
        this.outputGain = config.output() != FgramOutput.SCALED ? null : addParameter(Parameter.builder()
                .setName("outputGain")
                .setType(Parameter.Type.GAMMA)
                .optShape(new Shape(1))
                .optInitializer(new ConstantInitializer(FgramOutput.SCALED_INITIAL_GAIN))
                .build());
    }

    /** @return the model's configuration */
    public FgramModelConfig config() {
        return config;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        if (inputs.size() != 2) {
            throw new IllegalArgumentException("A_fgram takes NDList(embeddings (U, L, E), lengths (U)), got "
                    + inputs.size() + " arrays");
        }
        NDArray x = inputs.get(0);
        NDArray lengths = inputs.get(1);
        Shape shape = x.getShape();
        checkEmbeddingShape(shape);
        long u = shape.get(0);
        long l = shape.get(1);
        long e = shape.get(2);
        long[] last = lastPositions(lengths, u, l);
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(x, lengths);
            NDArray withPositions = PositionEmbeddingBlock.addPrefix(ps, positions, scope, x, training);
            NDArray h = decoder.forward(ps, new NDList(withPositions), training, params).singletonOrThrow(); // (U, L, E)
            NDArray y = h.reshape(u * l, e).get(ownedIndex(scope, last)); // (U, E)
            if (outputGain != null) {
                y = y.mul(ps.getValue(outputGain, x.getDevice(), training));
            }
            return new NDList(scope.ret(y));
        }
    }

    /** Validates the lengths and returns the flat index of each f-gram's last position. */
    private static long[] lastPositions(NDArray lengths, long u, long l) {
        if (lengths.getShape().dimension() != 1 || lengths.getShape().get(0) != u) {
            throw new IllegalArgumentException("lengths must have shape (" + u + "), got " + lengths.getShape());
        }
        DataType type = lengths.getDataType();
        if (type != DataType.INT32 && type != DataType.INT64) {
            throw new IllegalArgumentException("lengths must be int32 or int64, got " + type);
        }
        long[] len = type == DataType.INT64 ? lengths.toLongArray() : toLong(lengths.toIntArray());
        long[] last = new long[len.length];
        for (int i = 0; i < len.length; i++) {
            if (len[i] < 1 || len[i] > l) {
                throw new IllegalArgumentException("length " + len[i] + " of f-gram " + i + " is outside [1, " + l + "]");
            }
            last[i] = i * l + len[i] - 1;
        }
        return last;
    }

    /**
     * An index array whose memory belongs to the engine. Autograd keeps gather indices for the
     * backward pass, which runs after this block's scope has closed; on CPU an array created from a
     * Java array only borrows a Java buffer that may be freed by then, so copy it.
     */
    private static NDArray ownedIndex(NDManager scope, long[] index) {
        return scope.create(index).duplicate();
    }

    private static long[] toLong(int[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i];
        }
        return r;
    }

    private void checkEmbeddingShape(Shape shape) {
        if (shape.dimension() != 3 || shape.get(2) != config.embeddingSize()) {
            throw new IllegalArgumentException("A_fgram input must have shape (U, L, " + config.embeddingSize()
                    + "), got " + shape);
        }
        if (shape.get(1) < 1 || shape.get(1) > config.maxN()) {
            throw new IllegalArgumentException("A_fgram input length L = " + shape.get(1) + " is outside [1, "
                    + config.maxN() + "] (K = " + config.maxN() + ")");
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), inputShapes[0].get(2))};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        checkEmbeddingShape(inputShapes[0]);
        decoder.initialize(manager, dataType, inputShapes[0]);
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported FgramModelBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }
}

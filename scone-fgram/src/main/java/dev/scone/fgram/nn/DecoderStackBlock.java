package dev.scone.fgram.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A stack of pre-LN causal {@link DecoderLayerBlock}s followed by a final layer norm (over the
 * embedding axis), as in GPT-2. The one causal transformer both the main model and A_fgram use.
 *
 * <p>Input {@code NDList(x)}, (B, T, E); output {@code NDList(y)}, (B, T, E). Output position t
 * depends on input positions 0..t only.
 */
public final class DecoderStackBlock extends AbstractBlock {

    private static final byte VERSION = 1;

    private final DecoderConfig config;
    private final List<DecoderLayerBlock> layers;
    private final LayerNorm finalNorm;

    /** @param config the stack's shape */
    public DecoderStackBlock(DecoderConfig config) {
        super(VERSION);
        this.config = config;
        List<DecoderLayerBlock> list = new ArrayList<>(config.layers());
        for (int i = 0; i < config.layers(); i++) {
            list.add(addChildBlock("layer" + i, new DecoderLayerBlock(config)));
        }
        this.layers = List.copyOf(list);
        this.finalNorm = addChildBlock("finalNorm", LayerNorm.builder().axis(2).build());
    }

    /** @return the stack's configuration */
    public DecoderConfig config() {
        return config;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        checkInput(x.getShape());
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(x);
            NDArray h = x;
            for (DecoderLayerBlock layer : layers) {
                h = layer.forward(ps, new NDList(h), training, params).singletonOrThrow();
            }
            h = finalNorm.forward(ps, new NDList(h), training, params).singletonOrThrow();
            return new NDList(scope.ret(h));
        }
    }

    private void checkInput(Shape shape) {
        if (shape.dimension() != 3 || shape.get(2) != config.embeddingSize()) {
            throw new IllegalArgumentException("decoder input must have shape (B, T, " + config.embeddingSize()
                    + "), got " + shape);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        checkInput(inputShapes[0]);
        for (DecoderLayerBlock layer : layers) {
            layer.initialize(manager, dataType, inputShapes[0]);
        }
        finalNorm.initialize(manager, dataType, inputShapes[0]);
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported DecoderStackBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }
}

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
 * embedding axis), as in GPT-2, or without it (the raw residual stream). The one causal transformer
 * both the main model and A_fgram use.
 *
 * <p>Input {@code NDList(x)}, (B, T, E); output {@code NDList(y)}, (B, T, E). Output position t
 * depends on input positions 0..t only.
 */
public final class DecoderStackBlock extends AbstractBlock {

    private static final byte VERSION = 1;

    private final DecoderConfig config;
    private final List<DecoderLayerBlock> layers;
    private final LayerNorm finalNorm; // null without a final norm

    /** @param config the stack's shape; the stack ends in a layer norm */
    public DecoderStackBlock(DecoderConfig config) {
        this(config, true);
    }

    /**
     * @param config the stack's shape
     * @param finalNorm whether the stack ends in a layer norm
     */
    public DecoderStackBlock(DecoderConfig config, boolean finalNorm) {
        super(VERSION);
        this.config = config;
        List<DecoderLayerBlock> list = new ArrayList<>(config.layers());
        for (int i = 0; i < config.layers(); i++) {
            list.add(addChildBlock("layer" + i, new DecoderLayerBlock(config)));
        }
        this.layers = List.copyOf(list);
        this.finalNorm = finalNorm ? addChildBlock("finalNorm", LayerNorm.builder().axis(2).build()) : null;
    }

    /** @return whether the stack ends in a layer norm */
    public boolean hasFinalNorm() {
        return finalNorm != null;
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
            if (finalNorm != null) {
                h = finalNorm.forward(ps, new NDList(h), training, params).singletonOrThrow();
            }
            return new NDList(scope.ret(h));
        }
    }

    /**
     * The stack over a prefix tree of sequences: every layer's attention through
     * {@link CausalSelfAttentionBlock#forwardTree}, then the final norm if the stack has one.
     *
     * @param ps the parameter store
     * @param x the nodes, (N, 1, E)
     * @param paths (N, W) int64 path of each node, slots past its depth any valid index
     * @param mask (N, W, 1) float additive mask of the path slots
     * @param training whether this is a training pass
     * @return the nodes' states (N, 1, E), attached to {@code x}'s manager
     */
    public NDArray forwardTree(ParameterStore ps, NDArray x, NDArray paths, NDArray mask, boolean training) {
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(x);
            NDArray h = x;
            for (DecoderLayerBlock layer : layers) {
                h = layer.forwardTree(ps, h, paths, mask, training).singletonOrThrow();
            }
            if (finalNorm != null) {
                h = finalNorm.forward(ps, new NDList(h), training).singletonOrThrow();
            }
            return scope.ret(h);
        }
    }

    /**
     * The stack over a key/value cache, for incremental decoding (inference).
     *
     * @param ps the parameter store
     * @param x the new positions, (B, t, E)
     * @param past the cache, {@code 2 * layers} arrays (keys then values of layer 0, then layer 1,
     *     ...), each (B, H, L, E / H); {@code null} or empty for an empty cache
     * @param mask additive attention mask (B, 1, t, L + t), see
     *     {@link CausalSelfAttentionBlock#forwardCached}
     * @return {@code NDList(y (B, t, E), then the updated cache in the same order as past)}
     */
    public NDList forwardCached(ParameterStore ps, NDArray x, NDList past, NDArray mask) {
        checkInput(x.getShape());
        boolean empty = past == null || past.isEmpty();
        if (!empty && past.size() != 2 * layers.size()) {
            throw new IllegalArgumentException("the cache holds " + past.size() + " arrays, expected "
                    + 2 * layers.size() + " (keys and values of " + layers.size() + " layers)");
        }
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(x);
            NDList out = new NDList(1 + 2 * layers.size());
            out.add(null);
            NDArray h = x;
            for (int i = 0; i < layers.size(); i++) {
                NDList r = layers.get(i).forwardCached(ps, h, empty ? null : past.get(2 * i),
                        empty ? null : past.get(2 * i + 1), mask);
                h = r.get(0);
                out.add(scope.ret(r.get(1)));
                out.add(scope.ret(r.get(2)));
            }
            if (finalNorm != null) {
                h = finalNorm.forward(ps, new NDList(h), false).singletonOrThrow();
            }
            out.set(0, scope.ret(h));
            return out;
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
        if (finalNorm != null) {
            finalNorm.initialize(manager, dataType, inputShapes[0]);
        }
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

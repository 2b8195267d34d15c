package dev.scone.fgram.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.function.UnaryOperator;

/**
 * One pre-LN causal decoder layer:
 * {@code h = x + attention(norm1(x)); y = h + feedForward(norm2(h))}, with a GELU feed-forward
 * {@code E -> ffnSize -> E}. Layer norms act on the embedding axis only, so no information crosses
 * time except through causal attention.
 *
 * <p>Input {@code NDList(x)}, (B, T, E); output {@code NDList(y)}, (B, T, E).
 *
 * <p>Initialisation follows GPT-2: linear weights N(0, 0.02), the two projections that write into
 * the residual stream N(0, 0.02 / sqrt(2 * layers)), biases 0, layer-norm gains 1.
 */
public final class DecoderLayerBlock extends AbstractBlock {

    private static final byte VERSION = 1;

    /** Standard deviation of the initial linear weights (GPT-2's). */
    static final float INIT_STD = 0.02f;

    private final DecoderConfig config;
    private final LayerNorm attentionNorm;
    private final CausalSelfAttentionBlock attention;
    private final LayerNorm feedForwardNorm;
    private final Linear feedForwardIn; // weight (F, E)
    private final Linear feedForwardOut; // weight (E, F)

    /** @param config the layer's shape (its {@code layers} field is ignored) */
    public DecoderLayerBlock(DecoderConfig config) {
        super(VERSION);
        this.config = config;
        this.attentionNorm = addChildBlock("attentionNorm", LayerNorm.builder().axis(2).build());
        this.attention = addChildBlock("attention",
                new CausalSelfAttentionBlock(config.embeddingSize(), config.heads(), config.dropout()));
        this.feedForwardNorm = addChildBlock("feedForwardNorm", LayerNorm.builder().axis(2).build());
        this.feedForwardIn = addChildBlock("feedForwardIn", Linear.builder().setUnits(config.ffnSize()).build());
        this.feedForwardOut = addChildBlock("feedForwardOut",
                Linear.builder().setUnits(config.embeddingSize()).build());
        // GPT-2: the projections that write into the residual stream start smaller, by
        // 1/sqrt(2 * layers), so the stream's variance at initialisation does not grow with depth.
        float residualStd = (float) (INIT_STD / Math.sqrt(2.0 * config.layers()));
        feedForwardIn.setInitializer(new NormalInitializer(INIT_STD), Parameter.Type.WEIGHT);
        feedForwardOut.setInitializer(new NormalInitializer(residualStd), Parameter.Type.WEIGHT);
        attention.outputProjection().setInitializer(new NormalInitializer(residualStd), Parameter.Type.WEIGHT);
    }

    /** @return the layer's configuration */
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
            NDArray y = layer(ps, x, training, params,
                    a -> attention.forward(ps, new NDList(a), training, params).singletonOrThrow());
            return new NDList(scope.ret(y));
        }
    }

    /**
     * The layer over a prefix tree of sequences (see
     * {@link CausalSelfAttentionBlock#forwardTree}).
     *
     * @param ps the parameter store
     * @param x the nodes, (N, 1, E)
     * @param paths (N, W) int64 path of each node, slots past its depth any valid index
     * @param mask (N, W, 1) float additive mask of the path slots
     * @param training whether this is a training pass
     * @return {@code NDList(y (N, 1, E))}
     */
    public NDList forwardTree(ParameterStore ps, NDArray x, NDArray paths, NDArray mask, boolean training) {
        checkInput(x.getShape());
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(x);
            NDArray y = layer(ps, x, training, null,
                    a -> attention.forwardTree(ps, a, paths, mask, training).singletonOrThrow());
            return new NDList(scope.ret(y));
        }
    }

    /**
     * The layer over a key/value cache, for incremental decoding (inference).
     *
     * @param ps the parameter store
     * @param x the new positions, (B, t, E)
     * @param pastKeys this layer's cached keys (B, H, L, E / H), or {@code null}
     * @param pastValues its cached values, or {@code null}
     * @param mask additive attention mask (B, 1, t, L + t), see
     *     {@link CausalSelfAttentionBlock#forwardCached}
     * @return {@code NDList(y (B, t, E), keys, values)} with the new positions appended to the cache
     */
    public NDList forwardCached(ParameterStore ps, NDArray x, NDArray pastKeys, NDArray pastValues, NDArray mask) {
        checkInput(x.getShape());
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(x);
            NDList[] cache = new NDList[1];
            NDArray y = layer(ps, x, false, null, a -> {
                cache[0] = attention.forwardCached(ps, a, pastKeys, pastValues, mask);
                return cache[0].get(0);
            });
            return new NDList(scope.ret(y), scope.ret(cache[0].get(1)), scope.ret(cache[0].get(2)));
        }
    }

    /**
     * {@code h = x + attend(norm1(x)); y = h + feedForward(norm2(h))}, whatever form the attention
     * takes (over the sequence, a prefix tree or a cache).
     */
    private NDArray layer(ParameterStore ps, NDArray x, boolean training, PairList<String, Object> params,
            UnaryOperator<NDArray> attend) {
        NDArray a = attend.apply(attentionNorm.forward(ps, new NDList(x), training, params).singletonOrThrow());
        NDArray h = x.add(dropout(a, training));
        NDArray f = feedForwardNorm.forward(ps, new NDList(h), training, params).singletonOrThrow();
        f = feedForwardIn.forward(ps, new NDList(f), training, params).singletonOrThrow();
        f = Activation.gelu(f);
        f = feedForwardOut.forward(ps, new NDList(f), training, params).singletonOrThrow();
        return h.add(dropout(f, training));
    }

    private NDArray dropout(NDArray x, boolean training) {
        if (training && config.dropout() > 0f) {
            return Dropout.dropout(x, config.dropout(), true).singletonOrThrow();
        }
        return x;
    }

    private void checkInput(Shape shape) {
        if (shape.dimension() != 3 || shape.get(2) != config.embeddingSize()) {
            throw new IllegalArgumentException("decoder layer input must have shape (B, T, " + config.embeddingSize()
                    + "), got " + shape);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape in = inputShapes[0];
        checkInput(in);
        attentionNorm.initialize(manager, dataType, in);
        attention.initialize(manager, dataType, in);
        feedForwardNorm.initialize(manager, dataType, in);
        feedForwardIn.initialize(manager, dataType, in);
        feedForwardOut.initialize(manager, dataType, new Shape(in.get(0), in.get(1), config.ffnSize()));
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported DecoderLayerBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }
}

package dev.scone.fgram.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.io.DataInputStream;
import java.io.IOException;

/**
 * Multi-head causal self-attention: position t attends to positions 0..t only.
 *
 * <p>Input {@code NDList(x)} with x of shape (B, T, E); output {@code NDList(y)}, (B, T, E). The
 * query, key and value projections are one fused linear layer (E -&gt; 3E); an output projection
 * (E -&gt; E) follows. Because attention is causal, right padding never changes a real position's
 * output. Weights start as N(0, 0.02), biases as 0 (GPT-2's initialisation).
 */
public final class CausalSelfAttentionBlock extends AbstractBlock {

    private static final byte VERSION = 1;

    /** Added to the attention score of a future position: large enough that softmax gives exactly 0. */
    static final float MASKED = -1e9f;

    private final int embeddingSize;
    private final int heads;
    private final float dropout;
    private final Linear qkv; // weight (3E, E)
    private final Linear output; // weight (E, E)

    /**
     * @param embeddingSize E, a multiple of {@code heads}
     * @param heads number of attention heads
     * @param dropout dropout probability on the attention weights, in [0, 1)
     */
    public CausalSelfAttentionBlock(int embeddingSize, int heads, float dropout) {
        super(VERSION);
        DecoderConfig.check(embeddingSize, 1, heads, 1, dropout);
        this.embeddingSize = embeddingSize;
        this.heads = heads;
        this.dropout = dropout;
        this.qkv = addChildBlock("qkv", Linear.builder().setUnits(3L * embeddingSize).build());
        this.output = addChildBlock("output", Linear.builder().setUnits(embeddingSize).build());
        qkv.setInitializer(new NormalInitializer(DecoderLayerBlock.INIT_STD), Parameter.Type.WEIGHT);
        output.setInitializer(new NormalInitializer(DecoderLayerBlock.INIT_STD), Parameter.Type.WEIGHT);
    }

    /** @return the output projection (E -&gt; E), whose initialisation a decoder layer scales */
    Linear outputProjection() {
        return output;
    }

    /** @return E */
    public int embeddingSize() {
        return embeddingSize;
    }

    /** @return the number of attention heads */
    public int heads() {
        return heads;
    }

    /**
     * The additive causal mask for T positions: 0 where key position &lt;= query position, a large
     * negative number elsewhere.
     *
     * @param manager where the mask is created
     * @param length T
     * @return a float32 array of shape (T, T), row = query position, column = key position
     */
    public static NDArray causalMask(NDManager manager, long length) {
        NDArray query = manager.arange(0f, length, 1f).reshape(length, 1);
        NDArray key = manager.arange(0f, length, 1f).reshape(1, length);
        return key.gt(query).toType(DataType.FLOAT32, false).mul(MASKED);
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Shape shape = x.getShape();
        checkInput(shape);
        long b = shape.get(0);
        long t = shape.get(1);
        long e = embeddingSize;
        long d = e / heads;
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(x);
            NDArray fused = qkv.forward(parameterStore, new NDList(x), training, params).singletonOrThrow(); // (B, T, 3E)
            NDList parts = fused.split(3, 2);
            NDArray q = parts.get(0).reshape(b, t, heads, d).transpose(0, 2, 1, 3); // (B, H, T, D)
            NDArray k = parts.get(1).reshape(b, t, heads, d).transpose(0, 2, 3, 1); // (B, H, D, T)
            NDArray v = parts.get(2).reshape(b, t, heads, d).transpose(0, 2, 1, 3); // (B, H, T, D)
            // Not mul(Number): DJL makes a scalar that borrows Java memory and closes it at once, yet
            // autograd keeps it for the backward pass; an engine-owned copy stays valid.
            NDArray scale = scope.create((float) (1.0 / Math.sqrt(d))).duplicate();
            NDArray scores = q.matMul(k).mul(scale).add(causalMask(scope, t)); // (B, H, T, T)
            NDArray weights = scores.softmax(-1);
            if (training && dropout > 0f) {
                weights = Dropout.dropout(weights, dropout, true).singletonOrThrow();
            }
            NDArray context = weights.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, e); // (B, T, E)
            NDArray y = output.forward(parameterStore, new NDList(context), training, params).singletonOrThrow();
            return new NDList(scope.ret(y));
        }
    }

    /**
     * Attention over a key/value cache, for incremental decoding (inference: no dropout). The new
     * positions' keys and values are appended to the cache; each new position attends to the cached
     * and new keys that {@code mask} allows.
     *
     * @param parameterStore the parameter store
     * @param x the new positions, (B, t, E)
     * @param pastKeys cached keys (B, H, L, E / H), or {@code null} for an empty cache
     * @param pastValues cached values, same shape, or {@code null}
     * @param mask additive mask (B, 1, t, L + t): 0 where a new position may attend a key, a large
     *     negative number elsewhere (future positions, padding)
     * @return {@code NDList(y (B, t, E), keys (B, H, L + t, E / H), values (B, H, L + t, E / H))},
     *     attached to {@code x}'s manager
     */
    public NDList forwardCached(ParameterStore parameterStore, NDArray x, NDArray pastKeys, NDArray pastValues,
            NDArray mask) {
        Shape shape = x.getShape();
        checkInput(shape);
        if ((pastKeys == null) != (pastValues == null)) {
            throw new IllegalArgumentException("give both cached keys and values, or neither");
        }
        long b = shape.get(0);
        long t = shape.get(1);
        long e = embeddingSize;
        long d = e / heads;
        try (NDManager scope = NDManager.subManagerOf(x)) {
            // Every array an operation reads from must be in this scope: results are created in the
            // manager of the array they are computed from, and the cache's own manager outlives the step.
            scope.tempAttachAll(x, mask);
            if (pastKeys != null) {
                scope.tempAttachAll(pastKeys, pastValues);
            }
            NDArray fused = qkv.forward(parameterStore, new NDList(x), false).singletonOrThrow(); // (B, t, 3E)
            NDList parts = fused.split(3, 2);
            NDArray q = parts.get(0).reshape(b, t, heads, d).transpose(0, 2, 1, 3); // (B, H, t, D)
            NDArray k = parts.get(1).reshape(b, t, heads, d).transpose(0, 2, 1, 3); // (B, H, t, D)
            NDArray v = parts.get(2).reshape(b, t, heads, d).transpose(0, 2, 1, 3); // (B, H, t, D)
            NDArray keys = pastKeys == null ? k : pastKeys.concat(k, 2); // (B, H, L + t, D)
            NDArray values = pastValues == null ? v : pastValues.concat(v, 2);
            NDArray scale = scope.create((float) (1.0 / Math.sqrt(d)));
            NDArray scores = q.matMul(keys.transpose(0, 1, 3, 2)).mul(scale).add(mask); // (B, H, t, L + t)
            NDArray context = scores.softmax(-1).matMul(values).transpose(0, 2, 1, 3).reshape(b, t, e);
            NDArray y = output.forward(parameterStore, new NDList(context), false).singletonOrThrow();
            return new NDList(scope.ret(y), scope.ret(keys), scope.ret(values));
        }
    }

    /**
     * Attention over a prefix tree of sequences (see {@link FgramPrefixTree}): each node attends to
     * the nodes of its path from the root, itself included, as the last position of a sequence
     * attends to the positions before it. Every node's path is computed in the same pass, so a
     * prefix shared by several sequences is computed once; for a node of depth d the result equals
     * position d - 1 of {@link #forward} over the node's own sequence.
     *
     * @param parameterStore the parameter store
     * @param x the nodes, (N, 1, E)
     * @param paths (N, W) int64: node n's path from the root, slot j its ancestor of depth j + 1;
     *     slots past the node's depth hold any valid node index and are masked
     * @param mask (N, W, 1) float: 0 for the slots of the path, a large negative number past it
     * @param training whether this is a training pass (dropout on the attention weights)
     * @return {@code NDList(y (N, 1, E))}, attached to {@code x}'s manager
     */
    public NDList forwardTree(ParameterStore parameterStore, NDArray x, NDArray paths, NDArray mask,
            boolean training) {
        Shape shape = x.getShape();
        checkInput(shape);
        long n = shape.get(0);
        long w = paths.getShape().get(1);
        long e = embeddingSize;
        long d = e / heads;
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(x, paths, mask);
            NDArray fused = qkv.forward(parameterStore, new NDList(x), training).singletonOrThrow(); // (N, 1, 3E)
            NDList parts = fused.reshape(n, 3 * e).split(new long[] {e}, 1); // q (N, E), then k and v (N, 2E)
            // Engine-owned scalar: autograd keeps it for the backward pass (see forward).
            NDArray scale = scope.create((float) (1.0 / Math.sqrt(d))).duplicate();
            NDArray q = parts.get(0).mul(scale).reshape(n, 1, heads, d); // (N, 1, H, D)
            // The path's keys and values in one gather; an embedding lookup, whose backward pass adds
            // rows, costs half of what indexing's element-wise accumulation does.
            NDList kv = Embedding.embedding(paths, parts.get(1), SparseFormat.DENSE).singletonOrThrow().split(2, 2);
            NDArray k = kv.get(0).reshape(n, w, heads, d); // (N, W, H, D)
            NDArray v = kv.get(1).reshape(n, w, heads, d); // (N, W, H, D)
            NDArray scores = q.mul(k).sum(new int[] {3}).add(mask); // (N, W, H)
            NDArray weights = scores.softmax(1);
            if (training && dropout > 0f) {
                weights = Dropout.dropout(weights, dropout, true).singletonOrThrow();
            }
            NDArray context = weights.reshape(n, w, heads, 1).mul(v).sum(new int[] {1}).reshape(n, 1, e); // (N, 1, E)
            NDArray y = output.forward(parameterStore, new NDList(context), training).singletonOrThrow();
            return new NDList(scope.ret(y));
        }
    }

    private void checkInput(Shape shape) {
        if (shape.dimension() != 3 || shape.get(2) != embeddingSize) {
            throw new IllegalArgumentException("attention input must have shape (B, T, " + embeddingSize + "), got "
                    + shape);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        checkInput(inputShapes[0]);
        qkv.initialize(manager, dataType, inputShapes[0]);
        output.initialize(manager, dataType, inputShapes[0]);
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported CausalSelfAttentionBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }
}

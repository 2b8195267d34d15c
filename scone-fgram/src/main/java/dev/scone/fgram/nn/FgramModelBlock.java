package dev.scone.fgram.nn;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
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
 * <p>It also takes the f-grams as a prefix tree, {@code NDList(nodes, paths)} (see
 * {@link FgramPrefixTree} and {@link #forwardTree}): the token embedding of each distinct prefix's
 * last token, (N, E), and each node's path from the root, (N, W); the output, (N, E), is every
 * node's state, and an f-gram's vector is the state of its last node. A prefix shared by several
 * f-grams is then computed once. Both inputs go through the same computation (the padded one as a
 * tree without shared prefixes): each node attends to its path
 * ({@link CausalSelfAttentionBlock#forwardTree}), which for a node of depth d is what position d - 1
 * of a causal pass over its f-gram attends to.
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
            throw new IllegalArgumentException("A_fgram takes NDList(embeddings (U, L, E), lengths (U)) or"
                    + " NDList(node embeddings (N, E), paths (N, W)), got " + inputs.size() + " arrays");
        }
        NDArray x = inputs.get(0);
        if (x.getShape().dimension() == 2) {
            return new NDList(forwardTree(ps, x, inputs.get(1), training));
        }
        NDArray lengths = inputs.get(1);
        Shape shape = x.getShape();
        checkEmbeddingShape(shape);
        int u = Math.toIntExact(shape.get(0));
        int l = (int) shape.get(1);
        long e = shape.get(2);
        long[] last = lastPositions(lengths, u, l);
        // Padded f-grams as a tree without shared prefixes: position i of row r is node r * L + i,
        // whose path is positions 0..i of its row.
        long[] paths = new long[Math.multiplyExact(u * l, l)];
        java.util.Arrays.fill(paths, -1L);
        for (int r = 0; r < u; r++) {
            for (int i = 0; i < l; i++) {
                for (int j = 0; j <= i; j++) {
                    paths[(r * l + i) * l + j] = (long) r * l + j;
                }
            }
        }
        try (NDManager scope = NDManager.subManagerOf(x)) {
            scope.tempAttachAll(x, lengths);
            NDArray states = forwardTree(ps, x.reshape((long) u * l, e), paths, u * l, l, scope, training); // (U*L, E)
            return new NDList(scope.ret(gatherRows(states, ownedIndex(scope, last)))); // (U, E)
        }
    }

    /**
     * A_fgram over the nodes of a prefix tree ({@link FgramPrefixTree}): the state of every node,
     * each shared prefix computed once.
     *
     * @param ps the parameter store
     * @param nodes (N, E) the token embedding of each node's token (positions are added here)
     * @param paths (N, W) integer, as {@link FgramPrefixTree#paths()}: node n's path from the root,
     *     itself at slot depth - 1, then -1; W &lt;= K
     * @param training whether this is a training pass
     * @return (N, E) each node's output (for an f-gram's last node: the f-gram's vector), attached to
     *     {@code nodes}' manager
     * @throws IllegalArgumentException when the shapes are wrong or a path is not one
     */
    public NDArray forwardTree(ParameterStore ps, NDArray nodes, NDArray paths, boolean training) {
        Shape shape = nodes.getShape();
        if (shape.dimension() != 2 || shape.get(1) != config.embeddingSize()) {
            throw new IllegalArgumentException("A_fgram node embeddings must have shape (N, " + config.embeddingSize()
                    + "), got " + shape);
        }
        Shape p = paths.getShape();
        if (p.dimension() != 2 || p.get(0) != shape.get(0) || p.get(1) < 1 || p.get(1) > config.maxN()) {
            throw new IllegalArgumentException("paths must have shape (" + shape.get(0) + ", W) with 1 <= W <= "
                    + config.maxN() + " (K), got " + p);
        }
        DataType type = paths.getDataType();
        if (type != DataType.INT32 && type != DataType.INT64) {
            throw new IllegalArgumentException("paths must be int32 or int64, got " + type);
        }
        long[] host = type == DataType.INT64 ? paths.toLongArray() : toLong(paths.toIntArray());
        try (NDManager scope = NDManager.subManagerOf(nodes)) {
            scope.tempAttachAll(nodes, paths);
            return scope.ret(forwardTree(ps, nodes, host, Math.toIntExact(shape.get(0)), (int) p.get(1), scope, training));
        }
    }

    /**
     * As {@link #forwardTree(ParameterStore, NDArray, NDArray, boolean)}, with the paths of a tree
     * built on the host.
     *
     * @param ps the parameter store
     * @param nodes (N, E) the token embedding of each of the tree's node tokens
     * @param tree the tree, N nodes
     * @param training whether this is a training pass
     * @return (N, E) each node's output, attached to {@code nodes}' manager
     */
    public NDArray forwardTree(ParameterStore ps, NDArray nodes, FgramPrefixTree tree, boolean training) {
        Shape shape = nodes.getShape();
        if (shape.dimension() != 2 || shape.get(0) != tree.nodeCount() || shape.get(1) != config.embeddingSize()) {
            throw new IllegalArgumentException("A_fgram node embeddings must have shape (" + tree.nodeCount() + ", "
                    + config.embeddingSize() + "), got " + shape);
        }
        if (tree.width() > config.maxN()) {
            throw new IllegalArgumentException("the tree's paths are " + tree.width() + " long but A_fgram has K = "
                    + config.maxN() + " positions");
        }
        try (NDManager scope = NDManager.subManagerOf(nodes)) {
            scope.tempAttachAll(nodes);
            return scope.ret(forwardTree(ps, nodes, tree.paths(), tree.nodeCount(), tree.width(), scope, training));
        }
    }

    /** The tree forward over host paths, checked; intermediates in {@code scope}. */
    private NDArray forwardTree(ParameterStore ps, NDArray nodes, long[] paths, int n, int w, NDManager scope,
            boolean training) {
        long[] depthIndex = new long[n]; // the position of each node: its depth - 1
        long[] gather = new long[paths.length]; // the path, with the node itself in the masked slots
        float[] mask = new float[paths.length];
        for (int i = 0; i < n; i++) {
            int depth = 0;
            while (depth < w && paths[i * w + depth] >= 0) {
                depth++;
            }
            if (depth == 0 || paths[i * w + depth - 1] != i) {
                throw new IllegalArgumentException("path of node " + i + " does not end in the node itself: "
                        + java.util.Arrays.toString(java.util.Arrays.copyOfRange(paths, i * w, i * w + w)));
            }
            for (int j = 0; j < w; j++) {
                long a = paths[i * w + j];
                if (j < depth && a >= n) {
                    throw new IllegalArgumentException("path of node " + i + " names node " + a + " of " + n);
                }
                if (j >= depth && a != -1) {
                    throw new IllegalArgumentException("path of node " + i + " continues after a -1: "
                            + java.util.Arrays.toString(java.util.Arrays.copyOfRange(paths, i * w, i * w + w)));
                }
                gather[i * w + j] = j < depth ? a : i;
                mask[i * w + j] = j < depth ? 0f : CausalSelfAttentionBlock.MASKED;
            }
            depthIndex[i] = depth - 1;
        }
        long e = config.embeddingSize();
        NDArray table = ps.getValue(positions, nodes.getDevice(), training); // (K, E)
        NDArray x = nodes.add(gatherRows(table, ownedIndex(scope, depthIndex))).reshape(n, 1, e); // (N, 1, E)
        NDArray pathArray = scope.create(gather, new Shape(n, w)).duplicate();
        NDArray maskArray = scope.create(mask, new Shape(n, w, 1)).toType(nodes.getDataType(), false).duplicate();
        NDArray y = decoder.forwardTree(ps, x, pathArray, maskArray, training).reshape(n, e); // (N, E)
        if (outputGain != null) {
            y = y.mul(ps.getValue(outputGain, nodes.getDevice(), training));
        }
        return y;
    }

    /**
     * Rows of a matrix by index, as an embedding lookup: its backward pass adds whole rows, about
     * twice as fast on the CPU as indexing's element-wise accumulation.
     *
     * @param table (R, E)
     * @param index (M) int64, owned by the engine
     * @return (M, E)
     */
    public static NDArray gatherRows(NDArray table, NDArray index) {
        return Embedding.embedding(index, table, SparseFormat.DENSE).singletonOrThrow();
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

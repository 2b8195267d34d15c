package dev.scone.core;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.scone.fgram.match.LevelwiseMatcher;
import dev.scone.fgram.nn.FgramModelBlock;
import dev.scone.fgram.nn.FgramPrefixTree;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.vocab.FgramVocabulary;
import it.unimi.dsi.fastutil.ints.Int2IntOpenHashMap;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Objects;

/**
 * The SCONE input embedding (paper Algorithm 4): the token embedding T, the f-gram model A_fgram
 * and the f-gram vocabulary V_fgram.
 *
 * <p>At a position where no f-gram matched the embedding is T(token). Where f-gram j..i matched,
 * the f-gram's embedding <em>replaces</em> T(token), as the paper specifies; as an ablation it can
 * be added to T(token) instead ({@link FgramCombine#ADD}). Every distinct f-gram id of the batch goes
 * through A_fgram once, over the T embeddings of its tokens, and the result goes to every position
 * that matched it; gradients flow through A_fgram into T.
 *
 * <p>The f-gram ids input is optional. Pipelines that pre-scan their windows once (scone's
 * {@code WindowDataset}) pass them, and the block checks them against the tokens; given the
 * token ids alone, as inside a user's {@code SequentialBlock}, the block matches them itself with
 * the vocabulary's {@link LevelwiseMatcher} (built on first use, then kept). scone's trainer and
 * evaluation also hand it the batch's host copies ({@link HostIds}), so that on an accelerator the
 * ids are not copied back to the host.
 *
 * <p>This is the training-time block. At inference the vectors come from a precomputed table
 * instead, through a {@link TableEmbeddingBlock} that holds T and the table but neither A_fgram nor
 * V_fgram ({@link #computeFgramVectors} computes what the table stores).
 *
 * <p>Input {@code NDList(tokenIds (B, T))} or {@code NDList(tokenIds (B, T), fgramIds (B, T))},
 * output {@code NDList(embeddings (B, T, E))}; see {@link InputEmbeddingBlock}.
 */
public final class SconeEmbeddingBlock extends AbstractBlock implements InputEmbeddingBlock {

    private static final byte VERSION = 1;

    private final TokenEmbeddingBlock tokenEmbedding;
    private final FgramModelBlock fgramModel;
    private final FgramVocabulary vocabulary;
    private final FgramCombine combine;
    private volatile LevelwiseMatcher matcher;

    /**
     * Builds a fresh T and A_fgram.
     *
     * @param tokenVocabularySize V; must equal the vocabulary's token vocabulary size
     * @param fgramModel A_fgram's shape; its embedding size is E; its K at least the vocabulary's
     * @param vocabulary V_fgram
     */
    public SconeEmbeddingBlock(int tokenVocabularySize, FgramModelConfig fgramModel, FgramVocabulary vocabulary) {
        this(tokenVocabularySize, fgramModel, vocabulary, FgramCombine.REPLACE);
    }

    /**
     * Builds a fresh T and A_fgram.
     *
     * @param tokenVocabularySize V; must equal the vocabulary's token vocabulary size
     * @param fgramModel A_fgram's shape; its embedding size is E; its K at least the vocabulary's
     * @param vocabulary V_fgram
     * @param combine how f-gram vectors enter: replacing T(token) (the paper) or added to it
     */
    public SconeEmbeddingBlock(int tokenVocabularySize, FgramModelConfig fgramModel, FgramVocabulary vocabulary,
            FgramCombine combine) {
        this(new TokenEmbeddingBlock(tokenVocabularySize, fgramModel.embeddingSize()), new FgramModelBlock(fgramModel),
                vocabulary, combine);
    }

    /**
     * Combines an existing T and A_fgram (for instance trained ones, to precompute a table).
     *
     * @param tokenEmbedding T
     * @param fgramModel A_fgram; same E as T, K at least the vocabulary's
     * @param vocabulary V_fgram over T's token vocabulary
     */
    public SconeEmbeddingBlock(TokenEmbeddingBlock tokenEmbedding, FgramModelBlock fgramModel,
            FgramVocabulary vocabulary) {
        this(tokenEmbedding, fgramModel, vocabulary, FgramCombine.REPLACE);
    }

    /**
     * Combines an existing T and A_fgram.
     *
     * @param tokenEmbedding T
     * @param fgramModel A_fgram; same E as T, K at least the vocabulary's
     * @param vocabulary V_fgram over T's token vocabulary
     * @param combine how f-gram vectors enter: replacing T(token) (the paper) or added to it
     */
    public SconeEmbeddingBlock(TokenEmbeddingBlock tokenEmbedding, FgramModelBlock fgramModel,
            FgramVocabulary vocabulary, FgramCombine combine) {
        super(VERSION);
        Objects.requireNonNull(combine, "combine");
        Objects.requireNonNull(tokenEmbedding, "tokenEmbedding");
        Objects.requireNonNull(fgramModel, "fgramModel");
        Objects.requireNonNull(vocabulary, "vocabulary");
        FgramModelConfig c = fgramModel.config();
        if (c.embeddingSize() != tokenEmbedding.embeddingSize()) {
            throw new IllegalArgumentException("A_fgram embedding size " + c.embeddingSize()
                    + " differs from the token embedding size " + tokenEmbedding.embeddingSize());
        }
        if (vocabulary.tokenVocabularySize() != tokenEmbedding.tokenVocabularySize()) {
            throw new IllegalArgumentException("f-gram vocabulary is over " + vocabulary.tokenVocabularySize()
                    + " tokens but the token embedding has " + tokenEmbedding.tokenVocabularySize());
        }
        if (c.maxN() < vocabulary.maxN()) {
            throw new IllegalArgumentException("A_fgram has K = " + c.maxN() + " positions but the f-gram vocabulary"
                    + " has f-grams up to length " + vocabulary.maxN());
        }
        this.tokenEmbedding = addChildBlock("tokenEmbedding", tokenEmbedding);
        this.fgramModel = addChildBlock("fgramModel", fgramModel);
        this.vocabulary = vocabulary;
        this.combine = combine;
    }

    /** @return how f-gram vectors enter the main model */
    public FgramCombine combine() {
        return combine;
    }

    @Override
    public int embeddingSize() {
        return tokenEmbedding.embeddingSize();
    }

    @Override
    public int tokenVocabularySize() {
        return tokenEmbedding.tokenVocabularySize();
    }

    @Override
    public TokenEmbeddingBlock tokenEmbedding() {
        return tokenEmbedding;
    }

    /** @return A_fgram */
    public FgramModelBlock fgramModel() {
        return fgramModel;
    }

    /** @return V_fgram */
    public FgramVocabulary vocabulary() {
        return vocabulary;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray tokenIdArray = InputChecks.tokenIdsOf(inputs);
        HostIds host = HostIds.of(params, tokenIdArray.getShape());
        if (host != null && !vocabulary.fingerprint().equals(host.fgramVocabularyFingerprint())) {
            host = null; // ids of another vocabulary: read and check the arrays instead
        }
        int[] tokens = host != null ? InputChecks.checkTokenIds(host.tokenIds(), tokenIdArray.getShape(),
                tokenVocabularySize()) : InputChecks.tokenIds(tokenIdArray, tokenVocabularySize());
        int rows = (int) tokenIdArray.getShape().get(0);
        int length = (int) tokenIdArray.getShape().get(1);
        int[] fgramIds = host != null ? host.fgramIds()
                : inputs.size() > 1 ? InputChecks.fgramIds(inputs.get(1), tokenIdArray.getShape(), tokens, vocabulary)
                : matcher().matchRows(tokens, rows, length);
        int positions = rows * length;
        int e = embeddingSize();
        try (NDManager scope = NDManager.subManagerOf(tokenIdArray)) {
            scope.tempAttachAll(inputs);
            NDArray tokenVectors = tokenEmbedding.embed(ps, tokenIdArray, training); // (B, T, E)
            // Row r of `source` feeds position p: index[p] = p (token) or B*T + slot (f-gram vector).
            long[] index = new long[positions];
            Int2IntOpenHashMap slots = new Int2IntOpenHashMap();
            slots.defaultReturnValue(-1);
            int[] distinct = new int[Math.min(positions, vocabulary.size())];
            int u = 0;
            for (int p = 0; p < positions; p++) {
                int f = fgramIds[p];
                if (f < 0) {
                    index[p] = p;
                    continue;
                }
                int slot = slots.putIfAbsent(f, u);
                if (slot < 0) {
                    slot = u;
                    distinct[u++] = f;
                }
                index[p] = positions + slot;
            }
            if (u == 0) {
                return new NDList(scope.ret(tokenVectors));
            }
            NDArray fgramVectors = runFgramModel(ps, scope, distinct, u, training); // (U, E)
            NDArray flat = tokenVectors.reshape(positions, e);
            NDArray source = flat.concat(fgramVectors, 0); // (B*T + U, E)
            NDArray out = FgramModelBlock.gatherRows(source, ownedIndex(scope, index)); // (B*T, E)
            if (combine == FgramCombine.ADD) {
                // Matched rows get T(token) added to their f-gram vector; unmatched rows already hold T(token).
                float[] matched = new float[positions];
                for (int p = 0; p < positions; p++) {
                    matched[p] = index[p] >= positions ? 1f : 0f;
                }
                NDArray mask = scope.create(matched, new Shape(positions, 1)).toType(flat.getDataType(), false)
                        .duplicate();
                out = out.add(flat.mul(mask));
            }
            return new NDList(scope.ret(out.reshape(rows, length, e)));
        }
    }

    /** @return the matcher over V_fgram for inputs without f-gram ids, built once */
    private LevelwiseMatcher matcher() {
        LevelwiseMatcher m = matcher;
        if (m == null) {
            synchronized (this) {
                m = matcher;
                if (m == null) {
                    m = LevelwiseMatcher.of(vocabulary);
                    matcher = m;
                }
            }
        }
        return m;
    }

    /**
     * Runs A_fgram over f-grams of the vocabulary.
     *
     * @param ps the parameter store
     * @param scope where the intermediates live
     * @param fgramIds f-gram ids, the first {@code count} are used
     * @param count U
     * @param training whether this is a training pass
     * @return (U, E), attached to {@code scope}
     */
    private NDArray runFgramModel(ParameterStore ps, NDManager scope, int[] fgramIds, int count, boolean training) {
        // One A_fgram pass over the prefix tree of the f-grams: A_fgram is causal, so f-grams that
        // share their first tokens share their states there, and each distinct prefix is computed
        // once (about 1,700 tree nodes for the 3,100 positions of a training batch's 1,250 f-grams).
        FgramPrefixTree tree = FgramPrefixTree.of(vocabulary, fgramIds, count);
        int n = tree.nodeCount();
        // Owned by the engine: the embedding's backward pass reads these ids after the scope closes.
        NDArray ids = scope.create(tree.nodeTokens(), new Shape(n)).duplicate();
        NDArray nodes = tokenEmbedding.embed(ps, ids, training); // (N, E)
        NDArray states = fgramModel.forwardTree(ps, nodes, tree, training); // (N, E)
        return FgramModelBlock.gatherRows(states, ownedIndex(scope, tree.fgramNodes())); // (U, E) in slot order
    }

    /**
     * An index array whose memory belongs to the engine. Autograd keeps gather indices for the
     * backward pass, which runs after this block's scope has closed; on CPU an array created from a
     * Java array only borrows a Java buffer that may be freed by then, so copy it.
     */
    private static NDArray ownedIndex(NDManager scope, long[] index) {
        return scope.create(index).duplicate();
    }

    /**
     * Runs A_fgram (inference: no dropout, no gradient recording needed) over the f-grams
     * {@code firstFgramId .. firstFgramId + count - 1}: the vectors an inference table stores.
     *
     * @param firstFgramId the first f-gram id
     * @param count how many consecutive f-grams, at least 1
     * @return {@code count * E} floats, row-major
     * @throws IllegalStateException before the block is initialized
     */
    public float[] computeFgramVectors(int firstFgramId, int count) {
        Objects.checkFromIndexSize(firstFgramId, count, vocabulary.size());
        if (count < 1) {
            throw new IllegalArgumentException("count must be >= 1, got " + count);
        }
        if (!getParameters().values().stream().allMatch(ai.djl.nn.Parameter::isInitialized)) {
            throw new IllegalStateException("the block's parameters are not initialized");
        }
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) {
            ids[i] = firstFgramId + i;
        }
        NDArray anyParameter = tokenEmbedding.getParameters().valueAt(0).getArray();
        try (NDManager scope = anyParameter.getManager().newSubManager(anyParameter.getDevice())) {
            ParameterStore ps = new ParameterStore(scope, false);
            return runFgramModel(ps, scope, ids, count, false).toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(embeddingSize())};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        tokenEmbedding.initialize(manager, dataType, inputShapes[0]);
        fgramModel.initialize(manager, dataType, new Shape(1, fgramModel.config().maxN(), embeddingSize()),
                new Shape(1));
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported SconeEmbeddingBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }
}

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
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Objects;

/**
 * The SCONE input embedding at inference: the token embedding T and an {@link FgramEmbeddingTable}
 * of precomputed f-gram vectors (the store F), with no f-gram model and no f-gram vocabulary. At a
 * position where the table finds an f-gram ending there (within the row), its vector replaces
 * T(token), or is added to it for a model trained with {@link FgramCombine#ADD}; elsewhere the
 * embedding is T(token). It gives the same vectors as the {@link SconeEmbeddingBlock} the table was
 * precomputed from (float32 tables: to rounding).
 *
 * <p>Input {@code NDList(tokenIds (B, T))}; a second array (pre-scanned f-gram ids) is accepted and
 * ignored, since the table matches by itself. Output {@code NDList(embeddings (B, T, E))}.
 * Inference only: a training pass is refused (train through {@link SconeEmbeddingBlock}).
 *
 * <p>The table is not owned: whoever opened it closes it, after the last forward pass.
 */
public final class TableEmbeddingBlock extends AbstractBlock implements InputEmbeddingBlock {

    private static final byte VERSION = 1;

    private final TokenEmbeddingBlock tokenEmbedding;
    private final FgramEmbeddingTable table;
    private final FgramCombine combine;

    /**
     * @param tokenEmbedding T
     * @param table the f-gram vectors, of T's size E
     * @param combine how the vectors enter: as the model was trained
     */
    public TableEmbeddingBlock(TokenEmbeddingBlock tokenEmbedding, FgramEmbeddingTable table, FgramCombine combine) {
        super(VERSION);
        Objects.requireNonNull(tokenEmbedding, "tokenEmbedding");
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(combine, "combine");
        if (table.embeddingSize() != tokenEmbedding.embeddingSize()) {
            throw new IllegalArgumentException("table embedding size " + table.embeddingSize()
                    + " differs from the model's " + tokenEmbedding.embeddingSize());
        }
        // The same child name as in SconeEmbeddingBlock, so that T's parameter has the same name.
        this.tokenEmbedding = addChildBlock("tokenEmbedding", tokenEmbedding);
        this.table = table;
        this.combine = combine;
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

    /** @return the table the f-gram vectors come from */
    public FgramEmbeddingTable table() {
        return table;
    }

    /** @return how the f-gram vectors enter the main model */
    public FgramCombine combine() {
        return combine;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        if (training) {
            throw new IllegalStateException("a table embedding serves inference only; train through"
                    + " SconeEmbeddingBlock");
        }
        NDArray tokenIds = InputChecks.tokenIdsOf(inputs);
        int[] tokens = InputChecks.tokenIds(tokenIds, tokenVocabularySize());
        int rows = (int) tokenIds.getShape().get(0);
        int length = (int) tokenIds.getShape().get(1);
        float[] vectors = new float[rows * length * embeddingSize()];
        int[] lengths = new int[rows * length];
        table.lookup(tokens, rows, length, vectors, lengths);
        return new NDList(embed(ps, tokenIds, vectors, lengths));
    }

    /**
     * Embeds tokens whose f-gram matches are known (the table was already asked): T(token) where
     * {@code matchLengths[p] == 0}, else the f-gram vector at {@code p} (replacing or added).
     *
     * @param ps the parameter store
     * @param tokenIds (B, T) ids in [0, V) (not checked again)
     * @param vectors (B * T * E) floats: position p's f-gram vector at {@code [p * E, (p + 1) * E)}
     * @param matchLengths (B * T): the matched f-gram's length at each position, or 0
     * @return (B, T, E) float32, attached to the token ids' manager
     */
    public NDArray embed(ParameterStore ps, NDArray tokenIds, float[] vectors, int[] matchLengths) {
        Shape shape = tokenIds.getShape();
        int positions = (int) shape.size();
        int e = embeddingSize();
        if (vectors.length < (long) positions * e || matchLengths.length < positions) {
            throw new IllegalArgumentException("vectors (" + vectors.length + ") or matchLengths ("
                    + matchLengths.length + ") too short for " + positions + " positions of E = " + e);
        }
        try (NDManager scope = NDManager.subManagerOf(tokenIds)) {
            NDArray tokenVectors = tokenEmbedding.embed(ps, tokenIds, false); // (B, T, E)
            tokenVectors.attach(scope);
            boolean any = false;
            for (int p = 0; p < positions && !any; p++) {
                any = matchLengths[p] != 0;
            }
            if (!any) {
                return scope.ret(tokenVectors);
            }
            // Nothing flows back at inference, so the rows are swapped on the Java side: one copy out and
            // one in, cheaper than a gather over a concatenation.
            float[] rows = tokenVectors.toType(DataType.FLOAT32, false).toFloatArray();
            boolean add = combine == FgramCombine.ADD;
            for (int p = 0; p < positions; p++) {
                if (matchLengths[p] != 0) {
                    if (add) {
                        for (int k = p * e, end = k + e; k < end; k++) {
                            rows[k] += vectors[k];
                        }
                    } else {
                        System.arraycopy(vectors, p * e, rows, p * e, e);
                    }
                }
            }
            NDArray out = scope.create(rows, shape.add(e)).toType(tokenVectors.getDataType(), false);
            return scope.ret(out);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(embeddingSize())};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        tokenEmbedding.initialize(manager, dataType, inputShapes[0]);
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported TableEmbeddingBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }
}

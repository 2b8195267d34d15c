package dev.scone.core.generate;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.scone.core.BlockScopes;
import dev.scone.core.CausalLanguageModelBlock;
import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.TableEmbeddingBlock;
import dev.scone.core.TokenEmbeddingBlock;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * A scone inference model as the language-model block that DJL's
 * {@link ai.djl.modality.nlp.generate.TextGenerator} drives (greedy, beam and contrastive search),
 * through a predictor built with {@link CausalLmTranslator}. The model is a
 * {@link CausalLanguageModelBlock} whose input embedding is a {@link TokenEmbeddingBlock} (a
 * baseline) or a {@link TableEmbeddingBlock} (SCONE: T and a store of precomputed f-gram vectors).
 *
 * <p>Input {@code NDList(inputIds (B, t), positionIds (B, t), attentionMask (B, L + t), then the
 * past list)}, as DJL's searches build it: integer ids (int64 or int32), an attention mask with 1
 * where a position holds a token and 0 on padding, over the L cached and the t new positions, and the
 * past list that the previous call returned (absent on the first call, L = 0). Output {@code
 * NDList(logits (B, t, V), hidden (B, t, E), then the past list)}, each new position attending the
 * unmasked keys up to itself.
 *
 * <p>The past list holds every layer's keys then values, {@code 2 * layers} arrays (B, H, L, E / H)
 * in the order of {@link CausalLanguageModelBlock#forwardCached}. A SCONE model adds one array of
 * the same shape at the end, the <em>token entry</em>: element [b, 0, j, 0] holds the token id at
 * cache position j of row b as a float (exact, since ids are below 2^24), -1 on padding, and every
 * other element is 0. Each new token is matched against the store with the sequence's previous K - 1
 * tokens, and DJL only passes the new token ids; the searches reorder and repeat every entry of the
 * past list along the batch axis (beam and contrastive search) and reshape each one assuming the
 * heads and head size of the first, so the tokens travel in an entry shaped like the cache. Its cost
 * is one more cache-sized array: B x L x E floats, 1 / (2 x layers) of the cache. A baseline has no
 * token entry.
 *
 * <p>Position ids are used as given for positions the mask marks as tokens; each must lie in [0, C),
 * since positions are learned and absolute and DJL's searches never shift the window. Positions and
 * ids the mask marks as padding are ignored (DJL pads with its pad token id, which need not be in the
 * vocabulary). A match reaches back over unmasked positions only, so never across padding into
 * another sequence's tokens or before a sequence's first token.
 *
 * <p>Outputs are attached to the manager of {@code inputIds}, as DJL's searches expect; every
 * intermediate array lives in a sub-manager closed before {@code forward} returns, the model's
 * parameters included (they return to their own manager). The model must be initialized (for example
 * built by {@link dev.scone.core.InferenceModel}); this block adds no parameters and does not own the
 * model or its table. Inference only; not thread-safe (nor are DJL's predictors).
 */
public final class CausalLmAdapterBlock extends AbstractBlock {

    /** Token ids up to this bound are exact as float32, and so in the token entry. */
    public static final int MAX_TOKEN_ENTRY_VOCABULARY = 1 << 24;

    private static final byte VERSION = 1;
    private static final float MASKED = -1e9f;

    private final CausalLanguageModelBlock model;
    private final TableEmbeddingBlock table; // null for a baseline
    private final int layers;
    private final int heads;
    private final int headSize;
    private final int embeddingSize;
    private final int vocabularySize;
    private final int contextLength;
    private final int history; // K - 1 tokens of history for matching; 0 for a baseline

    /**
     * @param model an initialized inference model: its input embedding is a {@link TokenEmbeddingBlock}
     *     (baseline) or a {@link TableEmbeddingBlock} (SCONE through its store)
     * @throws IllegalArgumentException when the model is not initialized, has another input embedding
     *     (a training-time {@code SconeEmbeddingBlock} runs A_fgram, not a store), or a SCONE model's
     *     vocabulary is too large for its ids to be exact as float32
     */
    public CausalLmAdapterBlock(CausalLanguageModelBlock model) {
        super(VERSION);
        Objects.requireNonNull(model, "model");
        if (model.inputEmbedding() instanceof TableEmbeddingBlock t) {
            this.table = t;
        } else if (model.inputEmbedding() instanceof TokenEmbeddingBlock) {
            this.table = null;
        } else {
            throw new IllegalArgumentException("DJL's searches need an inference model: a token embedding (baseline)"
                    + " or a table embedding (SCONE through its store), got "
                    + model.inputEmbedding().getClass().getSimpleName());
        }
        if (!model.isInitialized()) {
            throw new IllegalArgumentException("the model is not initialized: build it with InferenceModel, or"
                    + " initialize or load it, before wrapping it");
        }
        LanguageModelConfig config = model.config();
        if (table != null && config.vocabularySize() > MAX_TOKEN_ENTRY_VOCABULARY) {
            throw new IllegalArgumentException("a vocabulary of " + config.vocabularySize() + " tokens is too large"
                    + " for the token entry: its ids must be exact as float32 (at most " + MAX_TOKEN_ENTRY_VOCABULARY
                    + ")");
        }
        this.model = addChildBlock("model", model);
        this.layers = config.layers();
        this.heads = config.heads();
        this.embeddingSize = config.embeddingSize();
        this.headSize = embeddingSize / heads;
        this.vocabularySize = config.vocabularySize();
        this.contextLength = config.contextLength();
        this.history = table != null ? table.table().maxN() - 1 : 0;
    }

    /** @return the wrapped inference model */
    public CausalLanguageModelBlock model() {
        return model;
    }

    /** @return whether the past list ends with the token entry (a SCONE model) */
    public boolean carriesTokens() {
        return table != null;
    }

    /** @return the arrays in the past list: {@code 2 * layers}, plus the token entry for a SCONE model */
    public int pastSize() {
        return 2 * layers + (table != null ? 1 : 0);
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        if (training) {
            throw new IllegalStateException("the adapter serves inference only");
        }
        if (inputs.size() < 3) {
            throw new IllegalArgumentException("expected NDList(inputIds, positionIds, attentionMask, past...), got "
                    + inputs.size() + " arrays");
        }
        NDArray inputIds = inputs.get(0);
        NDArray positionIds = inputs.get(1);
        NDArray attentionMask = inputs.get(2);
        NDList past = inputs.subNDList(3);
        Shape shape = inputIds.getShape();
        if (shape.dimension() != 2 || shape.get(0) < 1 || shape.get(1) < 1) {
            throw new IllegalArgumentException("inputIds must have shape (B, t) with B, t >= 1, got " + shape);
        }
        int b = Math.toIntExact(shape.get(0));
        int t = Math.toIntExact(shape.get(1));
        if (!positionIds.getShape().equals(shape)) {
            throw new IllegalArgumentException("positionIds have shape " + positionIds.getShape() + " but inputIds "
                    + shape);
        }
        int cached = checkPast(past, b);
        Shape maskShape = attentionMask.getShape();
        if (maskShape.dimension() != 2 || maskShape.get(0) != b || maskShape.get(1) != cached + t) {
            throw new IllegalArgumentException("attentionMask has shape " + maskShape + " but the past holds "
                    + cached + " positions and the input " + t + ": expected (" + b + ", " + (cached + t) + ")");
        }
        int keys = cached + t;
        try (NDManager step = NDManager.subManagerOf(inputIds)) {
            NDArray entry = table != null && cached > 0 ? past.get(past.size() - 1) : null;
            step.tempAttachAll(inputIds, positionIds, attentionMask);
            if (entry != null) {
                step.tempAttachAll(entry);
            }
            BlockScopes.attachParameters(model, step);
            long[] ids = inputIds.toType(DataType.INT64, false).toLongArray();
            long[] positions = positionIds.toType(DataType.INT64, false).toLongArray();
            long[] mask = attentionMask.toType(DataType.INT64, false).toLongArray();

            int[] tokens = new int[b * t];
            for (int r = 0; r < b; r++) {
                for (int i = 0; i < t; i++) {
                    int p = r * t + i;
                    if (mask[r * keys + cached + i] == 0) {
                        positions[p] = 0; // padding: its id and position are ignored
                        continue;
                    }
                    if (ids[p] < 0 || ids[p] >= vocabularySize) {
                        throw new IllegalArgumentException("row " + r + ", new position " + i + ": token " + ids[p]
                                + " is outside the vocabulary [0, " + vocabularySize + ")");
                    }
                    if (positions[p] < 0 || positions[p] >= contextLength) {
                        throw new IllegalArgumentException("row " + r + ": position " + positions[p]
                                + " is outside [0, " + contextLength + ") (the context length); DJL's searches do not"
                                + " shift the window: keep maxSeqLength at most " + (contextLength + 1)
                                + " (greedy, beam) or " + contextLength + " (contrastive)");
                    }
                    tokens[p] = (int) ids[p];
                }
            }

            float[] additive = new float[b * t * keys];
            Arrays.fill(additive, MASKED);
            for (int r = 0; r < b; r++) {
                for (int i = 0; i < t; i++) {
                    int q = cached + i;
                    if (mask[r * keys + q] == 0) {
                        continue; // a padding query attends nothing; its output is never used
                    }
                    int base = (r * t + i) * keys;
                    for (int j = 0; j <= q; j++) {
                        if (mask[r * keys + j] != 0) {
                            additive[base + j] = 0f;
                        }
                    }
                }
            }

            NDArray idArray = step.create(tokens, new Shape(b, t));
            NDArray x;
            if (table != null) {
                float[] vectors = new float[b * t * embeddingSize];
                int[] matchLengths = new int[b * t];
                match(entry, cached, b, t, tokens, mask, vectors, matchLengths);
                x = table.embed(ps, idArray, vectors, matchLengths);
            } else {
                x = model.inputEmbedding().tokenEmbedding().embed(ps, idArray, false);
            }
            x = model.normalizeInput(ps, x);
            NDArray m = step.create(additive, new Shape(b, 1, t, keys));
            NDList cache = cached == 0 ? null : past.subNDList(0, 2 * layers);
            NDList out = model.forwardCached(ps, x, positions, cache, m);
            NDList result = new NDList(2 + pastSize());
            for (NDArray a : out) {
                result.add(step.ret(a));
            }
            if (table != null) {
                result.add(step.ret(tokenEntry(step, entry, b, t, cached, tokens, mask)));
            }
            return result;
        }
    }

    /** Checks the past list and returns L, the positions it holds (0 when empty). */
    private int checkPast(NDList past, int b) {
        if (past.isEmpty()) {
            return 0;
        }
        if (past.size() != pastSize()) {
            throw new IllegalArgumentException("the past list holds " + past.size() + " arrays, expected "
                    + pastSize() + " (keys and values of " + layers + " layers"
                    + (table != null ? ", then the token entry)" : ")"));
        }
        long cached = past.get(0).getShape().dimension() == 4 ? past.get(0).getShape().get(2) : -1;
        Shape expected = new Shape(b, heads, cached, headSize);
        for (int i = 0; i < past.size(); i++) {
            if (!past.get(i).getShape().equals(expected)) {
                throw new IllegalArgumentException("past entry " + i + " has shape " + past.get(i).getShape()
                        + ", expected (B, H, L, E / H) = " + expected);
            }
        }
        if (cached < 1) {
            throw new IllegalArgumentException("the past list holds no position: pass none on the first call");
        }
        return Math.toIntExact(cached);
    }

    /**
     * Matches every new token against the store: the longest f-gram ending at it whose earlier tokens
     * (at most K - 1) lie on unmasked positions just before it, in the cache or among the new tokens.
     */
    private void match(NDArray entry, int cached, int b, int t, int[] tokens, long[] mask, float[] vectors,
            int[] matchLengths) {
        int keys = cached + t;
        int h = history;
        int w = Math.min(cached, h); // cached columns that can take part in a match
        float[] recent = new float[0];
        if (w > 0) {
            try (NDArray tail = entry.get(new NDIndex(":, 0, {}:, 0", cached - w))) {
                recent = tail.toType(DataType.FLOAT32, false).toFloatArray(); // (B, w)
            }
        }
        int k = h + 1;
        int[] window = new int[b * t * k];
        int[] offsets = new int[b * t];
        int[] lengths = new int[b * t];
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < t; i++) {
                int p = r * t + i;
                offsets[p] = p * k;
                int q = cached + i;
                if (mask[r * keys + q] == 0) {
                    window[p * k] = 0;
                    lengths[p] = 1; // one token never matches: f-grams have 2..K tokens
                    continue;
                }
                int n = 0;
                while (n < h && q - n - 1 >= 0 && mask[r * keys + q - n - 1] != 0) {
                    n++;
                }
                for (int c = q - n; c < q; c++) {
                    window[p * k + c - (q - n)] = c >= cached
                            ? tokens[r * t + c - cached]
                            : cachedToken(recent, r, w, c - (cached - w), c);
                }
                window[p * k + n] = tokens[p];
                lengths[p] = n + 1;
            }
        }
        FgramEmbeddingTable store = table.table();
        store.lookupLast(window, offsets, lengths, b * t, vectors, matchLengths);
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < t; i++) {
                if (mask[r * keys + cached + i] == 0) {
                    matchLengths[r * t + i] = 0;
                }
            }
        }
    }

    private int cachedToken(float[] recent, int row, int w, int column, int position) {
        float v = recent[row * w + column];
        if (!(v >= 0 && v < vocabularySize) || v != Math.rint(v)) {
            throw new IllegalArgumentException("the token entry holds " + v + " at row " + row + ", position "
                    + position + ", where the attention mask marks a token: pass the past list this block returned");
        }
        return (int) v;
    }

    /** The token entry after this call: the past one with the new positions' ids appended (-1 on padding). */
    private NDArray tokenEntry(NDManager step, NDArray entry, int b, int t, int cached, int[] tokens, long[] mask) {
        int keys = cached + t;
        float[] cols = new float[b * heads * t * headSize];
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < t; i++) {
                boolean pad = mask[r * keys + cached + i] == 0;
                cols[(r * heads * t + i) * headSize] = pad ? -1f : tokens[r * t + i];
            }
        }
        NDArray fresh = step.create(cols, new Shape(b, heads, t, headSize));
        return entry == null ? fresh : entry.concat(fresh, 2);
    }

    /**
     * @param inputShapes {@code inputIds (B, t), positionIds (B, t), attentionMask (B, L + t)}, then the
     *     past list's shapes
     * @return {@code logits (B, t, V), hidden (B, t, E)}, then {@link #pastSize()} shapes (B, H, L + t, E / H)
     */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        if (inputShapes.length < 3) {
            throw new IllegalArgumentException("expected the shapes of inputIds, positionIds, attentionMask and the"
                    + " past list, got " + inputShapes.length);
        }
        long b = inputShapes[0].get(0);
        long t = inputShapes[0].get(1);
        long keys = inputShapes[2].get(1);
        Shape[] out = new Shape[2 + pastSize()];
        out[0] = new Shape(b, t, vocabularySize);
        out[1] = new Shape(b, t, embeddingSize);
        for (int i = 2; i < out.length; i++) {
            out[i] = new Shape(b, heads, keys, headSize);
        }
        return out;
    }

    /** The wrapped model was initialized before it was wrapped: nothing is initialized here. */
    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        if (!model.isInitialized()) {
            throw new IllegalStateException("the wrapped model is not initialized");
        }
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported CausalLmAdapterBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }
}

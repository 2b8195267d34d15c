package dev.scone.core.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.scone.core.BlockScopes;
import dev.scone.core.CausalLanguageModelBlock;
import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.InputEmbeddingBlock;
import dev.scone.core.TableEmbeddingBlock;
import dev.scone.core.TokenEmbeddingBlock;
import java.util.Arrays;
import java.util.Objects;

/**
 * Incremental decoding of a batch of sequences with a key/value cache: {@link #prefill} runs the
 * prompts through the model once and keeps every layer's keys and values; {@link #step} then feeds
 * one new token per sequence and attends over the cache, so a step costs one position instead of
 * the whole window.
 *
 * <p>Sequences of different lengths share the batch: shorter ones are padded on the left, padding
 * is masked out of attention, and each sequence's positions count from its own first token, so
 * every sequence's logits are those of a full recomputation over its own tokens (float32: to
 * rounding).
 *
 * <p>A SCONE model at inference ({@link TableEmbeddingBlock}: T and the store, no A_fgram) keeps
 * the last K - 1 tokens of each sequence; each new token is matched against the store (the longest
 * f-gram ending at it, never reaching before the sequence's first token) and its vector is read
 * once. A baseline ({@link TokenEmbeddingBlock}) reads T alone.
 *
 * <p>Positions are learned and absolute, so a sequence holds at most C tokens: a prefill or step
 * that would take one past C is refused, and {@link TextGenerator} decides what to do then. The
 * cache lives in this decoder's own NDManager; {@link #close()} frees it. Not thread-safe.
 */
public final class IncrementalDecoder implements AutoCloseable {

    private static final float MASKED = -1e9f;
    private static final int PAD_TOKEN = 0;

    private final CausalLanguageModelBlock model;
    private final InputEmbeddingBlock embedding;
    private final FgramEmbeddingTable table; // null for a baseline
    private final NDManager manager;
    private final int contextLength;
    private final int vocabularySize;
    private final int history; // tokens kept per row for matching: K - 1, 0 for a baseline

    private int rows;
    private int length; // L: positions in the cache, padding included
    private int[] pad; // per row: padding positions at the start of the cache
    private int[] recent; // (rows, history): each row's last tokens, oldest first, right-aligned
    private int[] recentLength;
    private NDList cache; // 2 * layers arrays (B, H, L, D), owned by `manager`
    private long lookupNanos;
    private long totalNanos;
    private long positionsDecoded;
    private boolean closed;

    /**
     * @param model an initialized model whose input embedding is a {@link TokenEmbeddingBlock}
     *     (baseline) or a {@link TableEmbeddingBlock} (SCONE through its store)
     * @param parent the manager the cache's own manager hangs from
     * @throws IllegalArgumentException for any other input embedding (a training-time
     *     {@code SconeEmbeddingBlock} has A_fgram, not a store)
     */
    public IncrementalDecoder(CausalLanguageModelBlock model, NDManager parent) {
        this.model = Objects.requireNonNull(model, "model");
        this.embedding = model.inputEmbedding();
        if (embedding instanceof TableEmbeddingBlock t) {
            this.table = t.table();
            this.history = t.table().maxN() - 1;
        } else if (embedding instanceof TokenEmbeddingBlock) {
            this.table = null;
            this.history = 0;
        } else {
            throw new IllegalArgumentException("incremental decoding needs an inference model: a token embedding"
                    + " (baseline) or a table embedding (SCONE through its store), got "
                    + embedding.getClass().getSimpleName());
        }
        this.manager = Objects.requireNonNull(parent, "parent").newSubManager();
        this.contextLength = model.config().contextLength();
        this.vocabularySize = model.config().vocabularySize();
    }

    /** @return B, the sequences in the batch */
    public int rows() {
        return rows;
    }

    /** @return L, the cached positions (padding included) */
    public int cacheLength() {
        return length;
    }

    /**
     * @param row a row of the batch
     * @return that sequence's length (its tokens in the cache)
     */
    public int sequenceLength(int row) {
        Objects.checkIndex(row, rows);
        return length - pad[row];
    }

    /** @return nanoseconds spent matching new tokens against the store and reading their vectors */
    public long lookupNanos() {
        return lookupNanos;
    }

    /** @return nanoseconds spent in prefills and steps in all (lookups included) */
    public long totalNanos() {
        return totalNanos;
    }

    /** @return positions run through the model (prompt tokens and new tokens, padding excluded) */
    public long positionsDecoded() {
        return positionsDecoded;
    }

    /**
     * Starts a new batch: runs the prompts through the model and fills the cache.
     *
     * @param prompts one or more sequences of 1..C token ids each, in [0, V)
     * @return (B * V) logits, row-major: each sequence's logits after its last token
     * @throws IllegalArgumentException on an empty batch, an empty or too long prompt, or an id
     *     outside the vocabulary
     */
    public float[] prefill(int[][] prompts) {
        ensureOpen();
        if (prompts.length == 0) {
            throw new IllegalArgumentException("the batch must hold at least one sequence");
        }
        int p = 0;
        for (int r = 0; r < prompts.length; r++) {
            int n = prompts[r].length;
            if (n < 1 || n > contextLength) {
                throw new IllegalArgumentException("prompt " + r + " has " + n + " tokens; a sequence holds 1 to "
                        + contextLength + " (the context length)");
            }
            checkTokens(prompts[r], "prompt " + r);
            p = Math.max(p, n);
        }
        long t0 = System.nanoTime();
        clearCache();
        int b = prompts.length;
        rows = b;
        length = p;
        pad = new int[b];
        recent = new int[b * Math.max(history, 1)];
        recentLength = new int[b];
        int[] grid = new int[b * p];
        Arrays.fill(grid, PAD_TOKEN);
        long[] positions = new long[b * p];
        float[] mask = new float[b * p * p];
        Arrays.fill(mask, MASKED);
        for (int r = 0; r < b; r++) {
            int n = prompts[r].length;
            pad[r] = p - n;
            System.arraycopy(prompts[r], 0, grid, r * p + pad[r], n);
            for (int j = 0; j < p; j++) {
                positions[r * p + j] = Math.max(0, j - pad[r]);
                for (int k = pad[r]; k <= j; k++) {
                    mask[(r * p + j) * p + k] = 0f;
                }
            }
            remember(r, prompts[r], 0, n);
            positionsDecoded += n;
        }
        float[] vectors = null;
        int[] matchLengths = null;
        if (table != null) {
            long l0 = System.nanoTime();
            int e = model.config().embeddingSize();
            vectors = new float[b * p * e];
            matchLengths = new int[b * p];
            for (int r = 0; r < b; r++) {
                int n = prompts[r].length;
                float[] rowVectors = new float[n * e];
                int[] rowLengths = new int[n];
                table.lookup(prompts[r], 1, n, rowVectors, rowLengths);
                System.arraycopy(rowVectors, 0, vectors, (r * p + pad[r]) * e, n * e);
                System.arraycopy(rowLengths, 0, matchLengths, r * p + pad[r], n);
            }
            lookupNanos += System.nanoTime() - l0;
        }
        float[] logits = run(grid, b, p, vectors, matchLengths, positions, mask, p);
        totalNanos += System.nanoTime() - t0;
        return logits;
    }

    /**
     * Feeds one token to every sequence of the batch.
     *
     * @param next B token ids in [0, V), one per row
     * @return (B * V) logits after each new token
     * @throws IllegalArgumentException when the count or an id is wrong, or a sequence would pass C
     * @throws IllegalStateException before {@link #prefill}
     */
    public float[] step(int[] next) {
        ensureOpen();
        if (cache == null) {
            throw new IllegalStateException("prefill a batch first");
        }
        if (next.length != rows) {
            throw new IllegalArgumentException(next.length + " tokens for a batch of " + rows);
        }
        checkTokens(next, "next token");
        for (int r = 0; r < rows; r++) {
            if (length - pad[r] >= contextLength) {
                throw new IllegalArgumentException("sequence " + r + " already holds " + contextLength
                        + " tokens (the context length): it must be shortened before it takes another");
            }
        }
        long t0 = System.nanoTime();
        int b = rows;
        long[] positions = new long[b];
        float[] mask = new float[b * (length + 1)];
        for (int r = 0; r < b; r++) {
            positions[r] = length - pad[r];
            Arrays.fill(mask, r * (length + 1), r * (length + 1) + pad[r], MASKED);
        }
        float[] vectors = null;
        int[] matchLengths = null;
        if (table != null) {
            long l0 = System.nanoTime();
            int e = model.config().embeddingSize();
            int h = history;
            int[] tokens = new int[b * (h + 1)];
            int[] offsets = new int[b];
            int[] lengths = new int[b];
            for (int r = 0; r < b; r++) {
                int n = recentLength[r];
                offsets[r] = r * (h + 1);
                System.arraycopy(recent, r * h + h - n, tokens, offsets[r], n);
                tokens[offsets[r] + n] = next[r];
                lengths[r] = n + 1;
            }
            vectors = new float[b * e];
            matchLengths = new int[b];
            table.lookupLast(tokens, offsets, lengths, b, vectors, matchLengths);
            lookupNanos += System.nanoTime() - l0;
        }
        for (int r = 0; r < b; r++) {
            remember(r, next, r, 1);
        }
        positionsDecoded += b;
        float[] logits = run(next, b, 1, vectors, matchLengths, positions, mask, length + 1);
        totalNanos += System.nanoTime() - t0;
        return logits;
    }

    /**
     * Keeps only some sequences of the batch (for instance those not finished), in the given order,
     * and drops cache columns that became padding for every row.
     *
     * @param keep distinct row indices, at least one
     */
    public void retainRows(int[] keep) {
        ensureOpen();
        if (cache == null) {
            throw new IllegalStateException("prefill a batch first");
        }
        if (keep.length == 0) {
            throw new IllegalArgumentException("keep at least one row");
        }
        boolean[] seen = new boolean[rows];
        for (int r : keep) {
            Objects.checkIndex(r, rows);
            if (seen[r]) {
                throw new IllegalArgumentException("row " + r + " given twice");
            }
            seen[r] = true;
        }
        int minPad = Integer.MAX_VALUE;
        for (int r : keep) {
            minPad = Math.min(minPad, pad[r]);
        }
        boolean identity = keep.length == rows && minPad == 0;
        for (int i = 0; identity && i < keep.length; i++) {
            identity = keep[i] == i;
        }
        if (identity) {
            return;
        }
        long[] index = new long[keep.length];
        int[] newPad = new int[keep.length];
        int h = Math.max(history, 1);
        int[] newRecent = new int[keep.length * h];
        int[] newRecentLength = new int[keep.length];
        for (int i = 0; i < keep.length; i++) {
            int r = keep[i];
            index[i] = r;
            newPad[i] = pad[r] - minPad;
            System.arraycopy(recent, r * h, newRecent, i * h, h);
            newRecentLength[i] = recentLength[r];
        }
        NDList kept = new NDList(cache.size());
        try (NDManager scope = manager.newSubManager()) {
            NDArray rowIndex = scope.create(index);
            for (NDArray a : cache) {
                NDArray x = a.get(scope, new NDIndex("{}", rowIndex));
                if (minPad > 0) {
                    x = x.get(new NDIndex(":, :, {}:", minPad));
                }
                x = x.duplicate();
                x.attach(manager);
                kept.add(x);
            }
        }
        cache.close();
        cache = kept;
        rows = keep.length;
        length -= minPad;
        pad = newPad;
        recent = newRecent;
        recentLength = newRecentLength;
    }

    /** Runs the model over (b, t) new positions and keeps the updated cache; returns the last position's logits. */
    private float[] run(int[] tokens, int b, int t, float[] vectors, int[] matchLengths, long[] positions,
            float[] mask, int keys) {
        try (NDManager step = manager.newSubManager()) {
            BlockScopes.attachParameters(model, step);
            ParameterStore ps = new ParameterStore(step, false);
            NDArray ids = step.create(tokens, new Shape(b, t));
            NDArray x = table != null
                    ? ((TableEmbeddingBlock) embedding).embed(ps, ids, vectors, matchLengths)
                    : embedding.tokenEmbedding().embed(ps, ids, false);
            x = model.normalizeInput(ps, x);
            NDArray m = step.create(mask, new Shape(b, 1, t, keys));
            NDList out = model.forwardCached(ps, x, positions, cache, m);
            NDList updated = new NDList(out.size() - 2);
            for (int i = 2; i < out.size(); i++) {
                NDArray a = out.get(i);
                a.attach(manager);
                updated.add(a);
            }
            if (cache != null) {
                cache.close();
            }
            cache = updated;
            length = (int) updated.get(0).getShape().get(2);
            NDArray logits = out.get(0); // (B, t, V)
            NDArray last = t == 1 ? logits : logits.get(new NDIndex(":, {}", t - 1));
            return last.toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    private void remember(int row, int[] tokens, int from, int n) {
        int h = history;
        if (h == 0) {
            return;
        }
        int base = row * h;
        int take = Math.min(n, h);
        int keep = Math.min(recentLength[row], h - take);
        // Shift the kept tail left, then append the last `take` tokens.
        System.arraycopy(recent, base + h - keep, recent, base + h - keep - take, keep);
        System.arraycopy(tokens, from + n - take, recent, base + h - take, take);
        recentLength[row] = keep + take;
    }

    private void checkTokens(int[] tokens, String what) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocabularySize) {
                throw new IllegalArgumentException(what + ": token " + tokens[i] + " at " + i
                        + " is outside the vocabulary [0, " + vocabularySize + ")");
            }
        }
    }

    private void clearCache() {
        if (cache != null) {
            cache.close();
            cache = null;
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the decoder is closed");
        }
    }

    /** Frees the cache. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            clearCache();
            manager.close();
        }
    }
}

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
import dev.scone.core.TableEmbeddingBlock;
import dev.scone.core.TokenEmbeddingBlock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;

/**
 * Generates tokens for one or more prompts with an inference model: a baseline ({@link
 * TokenEmbeddingBlock}) or a SCONE model reading its f-gram vectors from a store ({@link
 * TableEmbeddingBlock}).
 *
 * <p>By default every batch is decoded incrementally over a key/value cache
 * ({@link IncrementalDecoder}): the prompts are prefilled once, then each step runs one position per
 * sequence. Without the cache ({@link Builder#optKvCache(boolean) optKvCache(false)}) each step
 * recomputes every sequence's whole window; both give the same logits (float32: to rounding).
 *
 * <p>The window, and what happens at the context limit C. Positions are learned and absolute, so
 * the model sees at most C tokens. Each sequence has a window: at first the last min(prompt, C)
 * tokens of its prompt; a generated token is appended while the window holds fewer than C tokens;
 * when it holds C, the window becomes the last {@code keep} tokens of (window + the new token)
 * ({@link Builder#optShift(int)}, default C / 2) and decoding continues from a fresh prefill of
 * that window, so the next logits are those of the model over exactly that window. A sequence ends
 * at one of its stop tokens (kept in its output) or after the maximum number of new tokens.
 * Finished sequences leave the batch.
 *
 * <p>Sampling is seeded: the same seed, prompts and model give the same tokens. Not thread-safe: one
 * generator per thread.
 */
public final class TextGenerator {

    /** Why a sequence ended. */
    public enum FinishReason {
        /** It produced one of the stop tokens (the last token of its output). */
        STOP_TOKEN,
        /** It reached the maximum number of new tokens. */
        MAX_TOKENS
    }

    /**
     * One sequence's continuation.
     *
     * @param tokens the generated token ids (without the prompt)
     * @param finishReason why it ended
     */
    public record Generation(int[] tokens, FinishReason finishReason) {}

    private final CausalLanguageModelBlock model;
    private final NDManager manager;
    private final Random random;
    private final int[] excluded;
    private final boolean[] stop;
    private final boolean kvCache;
    private final int keep;
    private final int vocabularySize;
    private final int contextLength;
    private long generated;
    private long nanos;
    private long lookupNanos;
    private long modelNanos;
    private int shifts;

    private TextGenerator(Builder b) {
        this.model = b.model;
        this.manager = b.manager;
        this.random = new Random(b.seed);
        this.excluded = b.excluded;
        this.vocabularySize = b.model.config().vocabularySize();
        this.contextLength = b.model.config().contextLength();
        this.stop = new boolean[vocabularySize];
        for (int s : b.stopTokens) {
            stop[s] = true;
        }
        this.kvCache = b.kvCache;
        this.keep = b.keep != null ? b.keep : Math.max(1, contextLength / 2);
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Continues one prompt.
     *
     * @param prompt token ids, at least one, each in the model's vocabulary
     * @param maxNewTokens the most tokens to generate, &gt;= 0
     * @param sampling how to choose each token
     * @return the generated tokens (without the prompt)
     */
    public int[] generate(int[] prompt, int maxNewTokens, Sampling sampling) {
        return generate(new int[][] {prompt}, maxNewTokens, sampling).get(0).tokens();
    }

    /**
     * Continues several prompts (of any lengths) in one batch.
     *
     * @param prompts one or more prompts of token ids, each at least one token in the model's vocabulary
     * @param maxNewTokens the most tokens to generate per prompt, &gt;= 0
     * @param sampling how to choose each token
     * @return one generation per prompt, in order
     * @throws IllegalArgumentException on an empty batch or prompt, or an id outside the vocabulary
     */
    public List<Generation> generate(int[][] prompts, int maxNewTokens, Sampling sampling) {
        Objects.requireNonNull(sampling, "sampling");
        if (prompts.length == 0) {
            throw new IllegalArgumentException("give at least one prompt");
        }
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must be >= 0, got " + maxNewTokens);
        }
        int b = prompts.length;
        int[][] window = new int[b][];
        for (int r = 0; r < b; r++) {
            int[] p = prompts[r];
            if (p.length == 0) {
                throw new IllegalArgumentException("prompt " + r + " is empty: it must hold at least one token");
            }
            for (int i = 0; i < p.length; i++) {
                if (p[i] < 0 || p[i] >= vocabularySize) {
                    throw new IllegalArgumentException("prompt " + r + ": token " + p[i] + " at position " + i
                            + " is outside the vocabulary [0, " + vocabularySize + ")");
                }
            }
            window[r] = Arrays.copyOfRange(p, Math.max(0, p.length - contextLength), p.length);
        }
        int[][] out = new int[b][maxNewTokens];
        int[] produced = new int[b];
        FinishReason[] reason = new FinishReason[b];
        if (maxNewTokens == 0) {
            return results(out, produced, reason, FinishReason.MAX_TOKENS);
        }
        long t0 = System.nanoTime();
        int[] active = new int[b];
        for (int r = 0; r < b; r++) {
            active[r] = r;
        }
        try (IncrementalDecoder decoder = kvCache ? new IncrementalDecoder(model, manager) : null) {
            float[] logits = kvCache ? decoder.prefill(select(window, active)) : fullLogits(select(window, active));
            while (true) {
                int[] next = new int[active.length];
                int still = 0;
                for (int i = 0; i < active.length; i++) {
                    int r = active[i];
                    int x = choose(logits, i * vocabularySize, sampling);
                    out[r][produced[r]++] = x;
                    generated++;
                    if (stop[x]) {
                        reason[r] = FinishReason.STOP_TOKEN;
                    } else if (produced[r] == maxNewTokens) {
                        reason[r] = FinishReason.MAX_TOKENS;
                    } else {
                        next[still++] = x;
                    }
                }
                if (still == 0) {
                    break;
                }
                int[] kept = new int[still]; // positions in `active` of the rows that go on
                int[] nextActive = new int[still];
                int[] nextTokens = Arrays.copyOf(next, still);
                for (int i = 0, k = 0; i < active.length; i++) {
                    if (reason[active[i]] == null) {
                        kept[k] = i;
                        nextActive[k++] = active[i];
                    }
                }
                boolean shifted = false;
                for (int k = 0; k < still; k++) {
                    int r = nextActive[k];
                    int[] w = window[r];
                    if (w.length < contextLength) {
                        w = Arrays.copyOf(w, w.length + 1);
                        w[w.length - 1] = nextTokens[k];
                    } else {
                        int[] longer = Arrays.copyOf(w, w.length + 1);
                        longer[w.length] = nextTokens[k];
                        w = Arrays.copyOfRange(longer, longer.length - keep, longer.length);
                        shifted = true;
                    }
                    window[r] = w;
                }
                if (kvCache) {
                    if (shifted) {
                        shifts++;
                        logits = decoder.prefill(select(window, nextActive));
                    } else {
                        if (still < active.length) {
                            decoder.retainRows(kept);
                        }
                        logits = decoder.step(nextTokens);
                    }
                } else {
                    logits = fullLogits(select(window, nextActive));
                }
                active = nextActive;
            }
            if (decoder != null) {
                lookupNanos += decoder.lookupNanos();
                modelNanos += decoder.totalNanos() - decoder.lookupNanos();
            }
        }
        nanos += System.nanoTime() - t0;
        return results(out, produced, reason, null);
    }

    private static List<Generation> results(int[][] out, int[] produced, FinishReason[] reason,
            FinishReason fallback) {
        List<Generation> list = new ArrayList<>(out.length);
        for (int r = 0; r < out.length; r++) {
            list.add(new Generation(Arrays.copyOf(out[r], produced[r]), reason[r] != null ? reason[r] : fallback));
        }
        return List.copyOf(list);
    }

    private static int[][] select(int[][] window, int[] rows) {
        int[][] s = new int[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            s[i] = window[rows[i]];
        }
        return s;
    }

    /** The last position's logits of every window, each recomputed in full; windows of one length share a pass. */
    private float[] fullLogits(int[][] windows) {
        long t0 = System.nanoTime();
        float[] all = new float[windows.length * vocabularySize];
        boolean[] done = new boolean[windows.length];
        for (int i = 0; i < windows.length; i++) {
            if (done[i]) {
                continue;
            }
            int len = windows[i].length;
            List<Integer> group = new ArrayList<>();
            for (int j = i; j < windows.length; j++) {
                if (!done[j] && windows[j].length == len) {
                    group.add(j);
                    done[j] = true;
                }
            }
            int[] ids = new int[group.size() * len];
            for (int g = 0; g < group.size(); g++) {
                System.arraycopy(windows[group.get(g)], 0, ids, g * len, len);
            }
            try (NDManager step = manager.newSubManager()) {
                BlockScopes.attachParameters(model, step);
                NDArray input = step.create(ids, new Shape(group.size(), len));
                NDArray logits = model.forward(new ParameterStore(step, false), new NDList(input), false)
                        .singletonOrThrow();
                float[] last = logits.get(new NDIndex(":, {}", len - 1)).toType(DataType.FLOAT32, false)
                        .toFloatArray();
                for (int g = 0; g < group.size(); g++) {
                    System.arraycopy(last, g * vocabularySize, all, group.get(g) * vocabularySize, vocabularySize);
                }
            }
        }
        modelNanos += System.nanoTime() - t0;
        return all;
    }

    /** @return tokens generated per second since the generator was built or its statistics reset */
    public double tokensPerSecond() {
        return nanos == 0 ? 0 : generated / (nanos / 1e9);
    }

    /** @return tokens generated since the generator was built or its statistics reset */
    public long generatedTokens() {
        return generated;
    }

    /** @return wall nanoseconds spent generating (sampling included) */
    public long totalNanos() {
        return nanos;
    }

    /** @return nanoseconds spent matching new tokens against the store and reading their vectors (cached decoding) */
    public long lookupNanos() {
        return lookupNanos;
    }

    /** @return nanoseconds spent in the model (cached decoding: prefills and steps, lookups excluded) */
    public long modelNanos() {
        return modelNanos;
    }

    /** @return how many times a window reached C and was shifted (each one a prefill) */
    public int shifts() {
        return shifts;
    }

    /** Forgets the statistics so far, e.g. after a warm-up run. */
    public void resetStatistics() {
        generated = 0;
        nanos = 0;
        lookupNanos = 0;
        modelNanos = 0;
        shifts = 0;
    }

    private int choose(float[] logits, int offset, Sampling s) {
        for (int x : excluded) {
            logits[offset + x] = Float.NEGATIVE_INFINITY;
        }
        int v = vocabularySize;
        if (s.isGreedy()) {
            int best = 0;
            for (int i = 1; i < v; i++) {
                if (logits[offset + i] > logits[offset + best]) {
                    best = i;
                }
            }
            return best;
        }
        int[] top;
        float[] val;
        if (s.topK() > 0 && s.topK() < v) {
            int k = s.topK();
            // The k largest logits by partial selection (k is small), in descending order.
            top = new int[k];
            val = new float[k];
            Arrays.fill(val, Float.NEGATIVE_INFINITY);
            for (int i = 0; i < v; i++) {
                float x = logits[offset + i];
                if (x > val[k - 1]) {
                    int j = k - 1;
                    while (j > 0 && val[j - 1] < x) {
                        val[j] = val[j - 1];
                        top[j] = top[j - 1];
                        j--;
                    }
                    val[j] = x;
                    top[j] = i;
                }
            }
        } else {
            // Every token, in descending order of logit: sort (order-preserving key, id) pairs.
            long[] keyed = new long[v];
            for (int i = 0; i < v; i++) {
                int bits = Float.floatToIntBits(logits[offset + i]);
                int ordered = bits >= 0 ? bits : bits ^ 0x7FFFFFFF; // floats ordered as ints
                keyed[i] = ((long) ordered << 32) | (v - 1 - i); // ties: lower id first after the reversal
            }
            Arrays.sort(keyed);
            top = new int[v];
            val = new float[v];
            for (int j = 0; j < v; j++) {
                long kv = keyed[v - 1 - j];
                top[j] = v - 1 - (int) (kv & 0xFFFFFFFFL);
                val[j] = logits[offset + top[j]];
            }
        }
        int k = top.length;
        double[] p = new double[k];
        double sum = 0;
        for (int j = 0; j < k; j++) {
            p[j] = Math.exp((val[j] - val[0]) / s.temperature());
            sum += p[j];
        }
        if (s.topP() < 1f) {
            // The smallest prefix (most likely first) whose probability reaches p.
            double mass = 0;
            int cut = k;
            for (int j = 0; j < k; j++) {
                mass += p[j] / sum;
                if (mass >= s.topP()) {
                    cut = j + 1;
                    break;
                }
            }
            k = cut;
            sum = 0;
            for (int j = 0; j < k; j++) {
                sum += p[j];
            }
        }
        double r = random.nextDouble() * sum;
        for (int j = 0; j < k; j++) {
            r -= p[j];
            if (r <= 0) {
                return top[j];
            }
        }
        return top[k - 1];
    }

    /** Builds a {@link TextGenerator}; the model, the manager and the seed are required. */
    public static final class Builder {
        private CausalLanguageModelBlock model;
        private NDManager manager;
        private Long seed;
        private int[] excluded = new int[0];
        private int[] stopTokens = new int[0];
        private boolean kvCache = true;
        private Integer keep;

        private Builder() {}

        /**
         * @param model an initialized inference model: its input embedding is a
         *     {@link TokenEmbeddingBlock} (baseline) or a {@link TableEmbeddingBlock} (SCONE through its store)
         * @return this builder
         */
        public Builder setModel(CausalLanguageModelBlock model) {
            this.model = Objects.requireNonNull(model, "model");
            return this;
        }

        /**
         * @param manager the manager the cache and each step's arrays hang from
         * @return this builder
         */
        public Builder setManager(NDManager manager) {
            this.manager = Objects.requireNonNull(manager, "manager");
            return this;
        }

        /**
         * @param seed the seed of sampling
         * @return this builder
         */
        public Builder setSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param tokenIds tokens never generated (e.g. a compacted vocabulary's unknown id)
         * @return this builder
         */
        public Builder optExcludedTokens(int... tokenIds) {
            this.excluded = tokenIds.clone();
            return this;
        }

        /**
         * @param tokenIds tokens that end a sequence (kept as its last token)
         * @return this builder
         */
        public Builder optStopTokens(int... tokenIds) {
            this.stopTokens = tokenIds.clone();
            return this;
        }

        /**
         * @param value whether to decode over a key/value cache (default) or recompute every window
         * @return this builder
         */
        public Builder optKvCache(boolean value) {
            this.kvCache = value;
            return this;
        }

        /**
         * @param tokens how many tokens a window keeps when it reaches C (1..C; default C / 2)
         * @return this builder
         */
        public Builder optShift(int tokens) {
            this.keep = tokens;
            return this;
        }

        /**
         * @return the generator
         * @throws IllegalStateException when a required setting is missing
         * @throws IllegalArgumentException when a token id or the shift is out of range, every token is
         *     excluded, or the model is not an inference model
         */
        public TextGenerator build() {
            if (model == null || manager == null || seed == null) {
                throw new IllegalStateException("model, manager and seed are required");
            }
            if (!(model.inputEmbedding() instanceof TokenEmbeddingBlock
                    || model.inputEmbedding() instanceof TableEmbeddingBlock)) {
                throw new IllegalArgumentException("generation needs an inference model: a baseline, or a SCONE model"
                        + " reading its f-gram vectors from a store (TableEmbeddingBlock); got an input embedding of"
                        + " type " + model.inputEmbedding().getClass().getSimpleName());
            }
            int v = model.config().vocabularySize();
            for (int[] ids : new int[][] {excluded, stopTokens}) {
                for (int x : ids) {
                    if (x < 0 || x >= v) {
                        throw new IllegalArgumentException("token " + x + " is outside the vocabulary [0, " + v + ")");
                    }
                }
            }
            if (java.util.stream.IntStream.of(excluded).distinct().count() >= v) {
                throw new IllegalArgumentException("every token of the vocabulary is excluded");
            }
            int c = model.config().contextLength();
            if (keep != null && (keep < 1 || keep > c)) {
                throw new IllegalArgumentException("the shift keeps 1 to " + c + " tokens (the context length), got "
                        + keep);
            }
            return new TextGenerator(this);
        }
    }
}

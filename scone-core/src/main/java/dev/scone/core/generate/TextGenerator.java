package dev.scone.core.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.scone.core.CausalLanguageModelBlock;
import dev.scone.core.SconeEmbeddingBlock;
import dev.scone.fgram.match.FgramMatcher;
import java.util.Arrays;
import java.util.Objects;
import java.util.Random;

/**
 * Generates tokens one at a time with a {@link CausalLanguageModelBlock}: at each step the model
 * reads the last {@code contextLength} tokens and the next token is chosen by a {@link Sampling}.
 *
 * <p>The input embedding decides where f-gram vectors come from. A SCONE model whose embedding
 * block reads an {@link dev.scone.core.FgramEmbeddingTable} (the inference store) needs nothing
 * more; a SCONE model in f-gram model mode needs the vocabulary's {@link FgramMatcher} to pre-scan
 * each window; a baseline needs neither. Not thread-safe: one generator per thread.
 */
public final class TextGenerator {

    private final CausalLanguageModelBlock model;
    private final FgramMatcher matcher;
    private final NDManager manager;
    private final Random random;
    private final int[] excluded;
    private long generated;
    private long nanos;

    private TextGenerator(Builder b) {
        this.model = b.model;
        this.matcher = b.matcher;
        this.manager = b.manager;
        this.random = new Random(b.seed);
        this.excluded = b.excluded;
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Continues {@code prompt} by {@code newTokens} tokens.
     *
     * @param prompt token ids, at least one, each in the model's vocabulary
     * @param newTokens how many tokens to generate, &gt;= 0
     * @param sampling how to choose each token
     * @return the generated tokens (without the prompt)
     * @throws IllegalArgumentException on an empty prompt or an id outside the vocabulary
     */
    public int[] generate(int[] prompt, int newTokens, Sampling sampling) {
        Objects.requireNonNull(sampling, "sampling");
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt must hold at least one token");
        }
        if (newTokens < 0) {
            throw new IllegalArgumentException("newTokens must be >= 0, got " + newTokens);
        }
        int v = model.config().vocabularySize();
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= v) {
                throw new IllegalArgumentException("prompt token " + prompt[i] + " at position " + i
                        + " is outside the vocabulary [0, " + v + ")");
            }
        }
        int c = model.config().contextLength();
        int[] all = Arrays.copyOf(prompt, prompt.length + newTokens);
        int length = prompt.length;
        long t0 = System.nanoTime();
        for (int step = 0; step < newTokens; step++) {
            int from = Math.max(0, length - c);
            float[] logits = nextLogits(all, from, length - from);
            for (int x : excluded) {
                logits[x] = Float.NEGATIVE_INFINITY;
            }
            all[length++] = choose(logits, sampling);
        }
        nanos += System.nanoTime() - t0;
        generated += newTokens;
        return Arrays.copyOfRange(all, prompt.length, length);
    }

    /** @return tokens generated per second since the generator was built or its statistics reset */
    public double tokensPerSecond() {
        return nanos == 0 ? 0 : generated / (nanos / 1e9);
    }

    /** Forgets the timing so far, e.g. after a warm-up run. */
    public void resetStatistics() {
        generated = 0;
        nanos = 0;
    }

    private float[] nextLogits(int[] tokens, int from, int len) {
        try (NDManager step = manager.newSubManager()) {
            int[] window = Arrays.copyOfRange(tokens, from, from + len);
            NDArray ids = step.create(window, new Shape(1, len));
            NDList input;
            boolean tableMode = model.inputEmbedding() instanceof SconeEmbeddingBlock
                    && ((SconeEmbeddingBlock) model.inputEmbedding()).table() != null;
            if (tableMode) {
                input = new NDList(ids);
            } else {
                int[] fgramIds = new int[len];
                if (matcher != null && model.config().isScone()) {
                    matcher.match(window, 0, len, fgramIds, 0);
                } else {
                    Arrays.fill(fgramIds, FgramMatcher.NO_MATCH);
                }
                input = new NDList(ids, step.create(fgramIds, new Shape(1, len)));
            }
            NDArray logits = model.forward(new ParameterStore(step, false), input, false).singletonOrThrow();
            return logits.get(0, len - 1).toFloatArray();
        }
    }

    private int choose(float[] logits, Sampling s) {
        if (s.isGreedy()) {
            int best = 0;
            for (int i = 1; i < logits.length; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
        int k = Math.min(s.topK(), logits.length);
        // The k largest logits by partial selection (k is small).
        int[] top = new int[k];
        float[] val = new float[k];
        Arrays.fill(val, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < logits.length; i++) {
            float x = logits[i];
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
        double[] p = new double[k];
        double sum = 0;
        for (int j = 0; j < k; j++) {
            p[j] = Math.exp((val[j] - val[0]) / s.temperature());
            sum += p[j];
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

    /** Builds a {@link TextGenerator}; the model and the seed are required. */
    public static final class Builder {
        private CausalLanguageModelBlock model;
        private FgramMatcher matcher;
        private NDManager manager;
        private Long seed;
        private int[] excluded = new int[0];

        private Builder() {}

        /**
         * @param tokenIds tokens never generated (e.g. a compacted vocabulary's unknown id)
         * @return this builder
         */
        public Builder optExcludedTokens(int... tokenIds) {
            this.excluded = tokenIds.clone();
            return this;
        }

        /**
         * @param model an initialized language model
         * @return this builder
         */
        public Builder setModel(CausalLanguageModelBlock model) {
            this.model = Objects.requireNonNull(model, "model");
            return this;
        }

        /**
         * @param manager the manager each step's sub-manager hangs from
         * @return this builder
         */
        public Builder setManager(NDManager manager) {
            this.manager = Objects.requireNonNull(manager, "manager");
            return this;
        }

        /**
         * @param seed the seed of top-k sampling
         * @return this builder
         */
        public Builder setSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param matcher pre-scans windows for a SCONE model in f-gram model mode
         * @return this builder
         */
        public Builder optMatcher(FgramMatcher matcher) {
            this.matcher = matcher;
            return this;
        }

        /**
         * @return the generator
         * @throws IllegalStateException when a required setting is missing, or a SCONE model in
         *     f-gram model mode has no matcher
         */
        public TextGenerator build() {
            if (model == null || manager == null || seed == null) {
                throw new IllegalStateException("model, manager and seed are required");
            }
            boolean tableMode = model.inputEmbedding() instanceof SconeEmbeddingBlock
                    && ((SconeEmbeddingBlock) model.inputEmbedding()).table() != null;
            if (model.config().isScone() && !tableMode && matcher == null) {
                throw new IllegalStateException("a SCONE model without a table needs a matcher to pre-scan windows");
            }
            int v = model.config().vocabularySize();
            for (int x : excluded) {
                if (x < 0 || x >= v) {
                    throw new IllegalArgumentException("excluded token " + x + " is outside the vocabulary [0, " + v
                            + ")");
                }
            }
            if (excluded.length >= v) {
                throw new IllegalArgumentException("every token of the vocabulary is excluded");
            }
            return new TextGenerator(this);
        }
    }
}

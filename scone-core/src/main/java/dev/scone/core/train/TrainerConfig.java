package dev.scone.core.train;

import dev.scone.fgram.io.KeyValueText;

/**
 * The training configuration. Build it with {@link #builder()}; {@link Builder#build()} checks
 * every value. {@link #toText()} and {@link #parse(String)} give a versioned text form that
 * checkpoints store.
 *
 * @param seed the seed of everything random in training (parameter initialization, dropout, window
 *     order); mandatory
 * @param batchSize B, windows per step
 * @param contextLength T, tokens per window
 * @param learningRate peak learning rate, reached at the end of warm-up
 * @param minLearningRate learning rate at the end of the cosine decay, in [0, learningRate]
 * @param warmupSteps steps of linear warm-up, in [0, totalSteps]
 * @param totalSteps the schedule's length and the step at which training stops
 * @param maxTokens stop once this many training tokens were seen (0 = no cap besides totalSteps)
 * @param weightDecay AdamW's decoupled weight decay, applied to parameters of rank &gt;= 2
 * @param beta1 AdamW's first-moment decay
 * @param beta2 AdamW's second-moment decay
 * @param epsilon AdamW's denominator term
 * @param clipNorm clip gradients to this global L2 norm (0 = no clipping)
 * @param evalEvery validate every this many steps (0 = only when asked)
 * @param evalMaxWindows cap on validation windows per evaluation (0 = all)
 */
public record TrainerConfig(long seed, int batchSize, int contextLength, float learningRate, float minLearningRate,
        int warmupSteps, int totalSteps, long maxTokens, float weightDecay, float beta1, float beta2, float epsilon,
        float clipNorm, int evalEvery, long evalMaxWindows) {

    /** The first line of {@link #toText()}; names the format version. */
    public static final String HEADER = "scone-trainer-config v1";

    /** Checks the values (the builder calls this). */
    public TrainerConfig {
        positive("batchSize", batchSize);
        positive("contextLength", contextLength);
        positive("totalSteps", totalSteps);
        if (!(learningRate > 0) || !Float.isFinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be a finite value > 0, got " + learningRate);
        }
        if (!(minLearningRate >= 0 && minLearningRate <= learningRate)) {
            throw new IllegalArgumentException("minLearningRate must be in [0, learningRate = " + learningRate
                    + "], got " + minLearningRate);
        }
        if (warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("warmupSteps must be in [0, totalSteps = " + totalSteps + "], got "
                    + warmupSteps);
        }
        if (maxTokens < 0) {
            throw new IllegalArgumentException("maxTokens must be >= 0 (0 = no cap), got " + maxTokens);
        }
        if (!(weightDecay >= 0) || !Float.isFinite(weightDecay)) {
            throw new IllegalArgumentException("weightDecay must be a finite value >= 0, got " + weightDecay);
        }
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        }
        if (!(epsilon > 0) || !Float.isFinite(epsilon)) {
            throw new IllegalArgumentException("epsilon must be a finite value > 0, got " + epsilon);
        }
        if (!(clipNorm >= 0) || !Float.isFinite(clipNorm)) {
            throw new IllegalArgumentException("clipNorm must be a finite value >= 0 (0 = off), got " + clipNorm);
        }
        if (evalEvery < 0) {
            throw new IllegalArgumentException("evalEvery must be >= 0 (0 = never), got " + evalEvery);
        }
        if (evalMaxWindows < 0) {
            throw new IllegalArgumentException("evalMaxWindows must be >= 0 (0 = all), got " + evalMaxWindows);
        }
    }

    private static void positive(String name, long v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + v);
        }
    }

    /** @return the learning-rate schedule this configuration describes */
    public WarmupCosineSchedule schedule() {
        return new WarmupCosineSchedule(learningRate, minLearningRate, warmupSteps, totalSteps);
    }

    /** @return B * T, the training tokens per step */
    public long tokensPerStep() {
        return (long) batchSize * contextLength;
    }

    /**
     * @return the versioned text form in scone's {@link KeyValueText} form: a header line, then
     *     one {@code key=value} line per field (no checksum: a checkpoint seals it)
     */
    public String toText() {
        return fields().toText(KeyValueText.Seal.NONE);
    }

    private KeyValueText.Builder fields() {
        return KeyValueText.builder(HEADER).put("seed", seed).put("batchSize", batchSize)
                .put("contextLength", contextLength).put("learningRate", learningRate)
                .put("minLearningRate", minLearningRate).put("warmupSteps", warmupSteps).put("totalSteps", totalSteps)
                .put("maxTokens", maxTokens).put("weightDecay", weightDecay).put("beta1", beta1).put("beta2", beta2)
                .put("epsilon", epsilon).put("clipNorm", clipNorm).put("evalEvery", evalEvery)
                .put("evalMaxWindows", evalMaxWindows);
    }

    /**
     * Reads the text form.
     *
     * @param text text written by {@link #toText()}
     * @return the configuration
     * @throws IllegalArgumentException when the header, a key or a value is wrong or missing
     */
    public static TrainerConfig parse(String text) {
        KeyValueText m;
        try {
            m = KeyValueText.parse(text, HEADER, KeyValueText.Seal.NONE);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("trainer configuration: " + e.getMessage(), e);
        }
        java.util.Set<String> expected = KeyValueText.parse(builder().setSeed(0).build().toText(), HEADER,
                KeyValueText.Seal.NONE).keys();
        for (String k : m.keys()) {
            if (!expected.contains(k)) {
                throw new IllegalArgumentException("unknown trainer configuration key '" + k + "'");
            }
        }
        try {
            return new TrainerConfig(m.longValue("seed"), m.integer("batchSize"), m.integer("contextLength"),
                    m.real("learningRate"), m.real("minLearningRate"), m.integer("warmupSteps"), m.integer("totalSteps"),
                    m.longValue("maxTokens"), m.real("weightDecay"), m.real("beta1"), m.real("beta2"),
                    m.real("epsilon"), m.real("clipNorm"), m.integer("evalEvery"), m.longValue("evalMaxWindows"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("trainer configuration: " + e.getMessage(), e);
        }
    }

    /** @return a builder with the defaults below; the seed must be set */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Builds a {@link TrainerConfig}. Defaults: B = 16, T = 128, learning rate 1e-3 decaying to
     * 1e-4, 200 warm-up steps of 2000, no token cap, weight decay 0.1, betas (0.9, 0.95), epsilon
     * 1e-8, clip norm 1.0, validation every 200 steps over at most 256 windows. The seed has no
     * default.
     */
    public static final class Builder {
        private Long seed;
        private int batchSize = 16;
        private int contextLength = 128;
        private float learningRate = 1e-3f;
        private float minLearningRate = 1e-4f;
        private int warmupSteps = 200;
        private int totalSteps = 2000;
        private long maxTokens;
        private float weightDecay = 0.1f;
        private float beta1 = 0.9f;
        private float beta2 = 0.95f;
        private float epsilon = 1e-8f;
        private float clipNorm = 1.0f;
        private int evalEvery = 200;
        private long evalMaxWindows = 256;

        private Builder() {}

        /**
         * @param seed the training seed (required)
         * @return this builder
         */
        public Builder setSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @param batchSize B
         * @return this builder
         */
        public Builder optBatchSize(int batchSize) {
            this.batchSize = batchSize;
            return this;
        }

        /**
         * @param contextLength T
         * @return this builder
         */
        public Builder optContextLength(int contextLength) {
            this.contextLength = contextLength;
            return this;
        }

        /**
         * @param peak the peak learning rate
         * @param min the final learning rate of the cosine decay
         * @return this builder
         */
        public Builder optLearningRate(float peak, float min) {
            this.learningRate = peak;
            this.minLearningRate = min;
            return this;
        }

        /**
         * @param warmupSteps linear warm-up steps
         * @param totalSteps the schedule's length (training stops there)
         * @return this builder
         */
        public Builder optSteps(int warmupSteps, int totalSteps) {
            this.warmupSteps = warmupSteps;
            this.totalSteps = totalSteps;
            return this;
        }

        /**
         * @param maxTokens stop after this many training tokens (0 = no cap)
         * @return this builder
         */
        public Builder optMaxTokens(long maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        /**
         * @param weightDecay decoupled weight decay
         * @return this builder
         */
        public Builder optWeightDecay(float weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /**
         * @param beta1 first-moment decay
         * @param beta2 second-moment decay
         * @param epsilon denominator term
         * @return this builder
         */
        public Builder optAdam(float beta1, float beta2, float epsilon) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            this.epsilon = epsilon;
            return this;
        }

        /**
         * @param clipNorm global-norm clipping threshold (0 = off)
         * @return this builder
         */
        public Builder optClipNorm(float clipNorm) {
            this.clipNorm = clipNorm;
            return this;
        }

        /**
         * @param evalEvery validate every this many steps (0 = never automatically)
         * @param evalMaxWindows windows per validation (0 = all)
         * @return this builder
         */
        public Builder optEvaluation(int evalEvery, long evalMaxWindows) {
            this.evalEvery = evalEvery;
            this.evalMaxWindows = evalMaxWindows;
            return this;
        }

        /**
         * @return the configuration
         * @throws IllegalArgumentException when the seed is missing or a value is out of range
         */
        public TrainerConfig build() {
            if (seed == null) {
                throw new IllegalArgumentException("the seed is mandatory: call setSeed(long)");
            }
            return new TrainerConfig(seed, batchSize, contextLength, learningRate, minLearningRate, warmupSteps,
                    totalSteps, maxTokens, weightDecay, beta1, beta2, epsilon, clipNorm, evalEvery, evalMaxWindows);
        }
    }
}

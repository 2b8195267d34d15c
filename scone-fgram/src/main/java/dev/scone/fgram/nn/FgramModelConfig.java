package dev.scone.fgram.nn;

import dev.scone.fgram.vocab.FgramVocabulary;

/**
 * The shape of the f-gram model A_fgram: a pre-LN causal decoder stack with its own learned
 * absolute position embedding of {@code maxN} (K) positions and no token embedding.
 *
 * <p>{@code embeddingSize} must equal the main model's: A_fgram reads the main model's token
 * embeddings and its output replaces them.
 *
 * @param embeddingSize E; a multiple of {@code heads}
 * @param layers decoder layers, at least 1
 * @param heads attention heads, at least 1
 * @param ffnSize feed-forward width, at least 1
 * @param maxN K, the longest f-gram the model reads (number of positions), at least 2
 * @param dropout dropout probability, in [0, 1)
 * @param output what the model returns, and so on what scale its vector replaces a token embedding
 */
public record FgramModelConfig(int embeddingSize, int layers, int heads, int ffnSize, int maxN, float dropout,
        FgramOutput output) {

    /**
     * The output of configurations that do not name one: the residual stream without a final norm,
     * chosen by the junction study (scone-core README, "The embedding junction"): it was the best of the
     * replacing outputs on both corpora of the experiment. Configuration files written before the
     * setting existed still read as {@link FgramOutput#LAYER_NORM}, the output they were trained with.
     */
    public static final FgramOutput DEFAULT_OUTPUT = FgramOutput.NONE;

    /** Checks every field. */
    public FgramModelConfig {
        DecoderConfig.check(embeddingSize, layers, heads, ffnSize, dropout);
        if (maxN < FgramVocabulary.MIN_N) {
            throw new IllegalArgumentException("maxN (K) must be >= " + FgramVocabulary.MIN_N + ", got " + maxN);
        }
        java.util.Objects.requireNonNull(output, "output");
    }

    /**
     * A configuration with the {@link #DEFAULT_OUTPUT default output}.
     *
     * @param embeddingSize E
     * @param layers decoder layers
     * @param heads attention heads
     * @param ffnSize feed-forward width
     * @param maxN K
     * @param dropout dropout probability
     */
    public FgramModelConfig(int embeddingSize, int layers, int heads, int ffnSize, int maxN, float dropout) {
        this(embeddingSize, layers, heads, ffnSize, maxN, dropout, DEFAULT_OUTPUT);
    }

    /**
     * A configuration without dropout, with the {@link #DEFAULT_OUTPUT default output}.
     *
     * @param embeddingSize E
     * @param layers decoder layers
     * @param heads attention heads
     * @param ffnSize feed-forward width
     * @param maxN K
     * @return the configuration
     */
    public static FgramModelConfig of(int embeddingSize, int layers, int heads, int ffnSize, int maxN) {
        return new FgramModelConfig(embeddingSize, layers, heads, ffnSize, maxN, 0f, DEFAULT_OUTPUT);
    }

    /** @return the decoder stack's configuration */
    public DecoderConfig decoder() {
        return new DecoderConfig(embeddingSize, layers, heads, ffnSize, dropout);
    }

    /**
     * @param dropout the new dropout probability
     * @return a copy with that dropout
     */
    public FgramModelConfig withDropout(float dropout) {
        return new FgramModelConfig(embeddingSize, layers, heads, ffnSize, maxN, dropout, output);
    }

    /**
     * @param maxN the new K
     * @return a copy with that K
     */
    public FgramModelConfig withMaxN(int maxN) {
        return new FgramModelConfig(embeddingSize, layers, heads, ffnSize, maxN, dropout, output);
    }

    /**
     * @param value the new output
     * @return a copy with that output
     */
    public FgramModelConfig withOutput(FgramOutput value) {
        return new FgramModelConfig(embeddingSize, layers, heads, ffnSize, maxN, dropout, value);
    }
}

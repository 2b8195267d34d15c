package dev.scone.fgram.nn;

/**
 * The shape of a pre-LN causal decoder stack: embedding size E, number of layers, attention
 * heads, feed-forward width and dropout probability.
 *
 * @param embeddingSize E, the width of the residual stream; a multiple of {@code heads}
 * @param layers number of decoder layers, at least 1
 * @param heads attention heads per layer, at least 1
 * @param ffnSize width of the GELU feed-forward layer, at least 1
 * @param dropout dropout probability on attention weights and residual branches, in [0, 1)
 */
public record DecoderConfig(int embeddingSize, int layers, int heads, int ffnSize, float dropout) {

    /** Checks every field. */
    public DecoderConfig {
        check(embeddingSize, layers, heads, ffnSize, dropout);
    }

    /**
     * A configuration without dropout.
     *
     * @param embeddingSize E
     * @param layers decoder layers
     * @param heads attention heads
     * @param ffnSize feed-forward width
     * @return the configuration
     */
    public static DecoderConfig of(int embeddingSize, int layers, int heads, int ffnSize) {
        return new DecoderConfig(embeddingSize, layers, heads, ffnSize, 0f);
    }

    /**
     * @param dropout the new dropout probability
     * @return a copy with that dropout
     */
    public DecoderConfig withDropout(float dropout) {
        return new DecoderConfig(embeddingSize, layers, heads, ffnSize, dropout);
    }

    static void check(int embeddingSize, int layers, int heads, int ffnSize, float dropout) {
        if (embeddingSize < 1) {
            throw new IllegalArgumentException("embeddingSize must be >= 1, got " + embeddingSize);
        }
        if (layers < 1) {
            throw new IllegalArgumentException("layers must be >= 1, got " + layers);
        }
        if (heads < 1) {
            throw new IllegalArgumentException("heads must be >= 1, got " + heads);
        }
        if (embeddingSize % heads != 0) {
            throw new IllegalArgumentException("embeddingSize " + embeddingSize + " is not a multiple of heads " + heads);
        }
        if (ffnSize < 1) {
            throw new IllegalArgumentException("ffnSize must be >= 1, got " + ffnSize);
        }
        if (!(dropout >= 0f && dropout < 1f)) {
            throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        }
    }
}

package dev.scone.core.generate;

/**
 * How the next token is chosen from the model's logits: greedy, or sampling after a temperature
 * among the k most likely tokens and/or the smallest set of most likely tokens whose probability
 * reaches p (nucleus sampling).
 *
 * @param topK 1 = greedy (the most likely token); 0 = no limit; otherwise sample among the k most likely
 * @param topP in (0, 1]: sample among the most likely tokens whose probabilities sum to at least p
 *     (after the top-k cut and the temperature); 1 = no cut
 * @param temperature divides the logits before sampling (&gt; 0; ignored when greedy)
 */
public record Sampling(int topK, float topP, float temperature) {

    /** Checks the arguments. */
    public Sampling {
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0 (0 = no limit, 1 = greedy), got " + topK);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (!(temperature > 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a positive finite number, got " + temperature);
        }
    }

    /**
     * Top-k sampling without a nucleus cut.
     *
     * @param topK 1 = greedy, 0 = no limit, else k
     * @param temperature softmax temperature
     */
    public Sampling(int topK, float temperature) {
        this(topK, 1f, temperature);
    }

    /** @return greedy decoding */
    public static Sampling greedy() {
        return new Sampling(1, 1f, 1f);
    }

    /**
     * @param k how many of the most likely tokens to sample among
     * @param temperature softmax temperature
     * @return top-k sampling
     */
    public static Sampling topK(int k, float temperature) {
        return new Sampling(k, 1f, temperature);
    }

    /**
     * @param p the probability mass to sample within
     * @param temperature softmax temperature
     * @return top-p (nucleus) sampling over the whole vocabulary
     */
    public static Sampling topP(float p, float temperature) {
        return new Sampling(0, p, temperature);
    }

    /** @return whether this is greedy decoding */
    public boolean isGreedy() {
        return topK == 1;
    }
}

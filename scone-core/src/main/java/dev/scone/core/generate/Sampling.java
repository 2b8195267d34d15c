package dev.scone.core.generate;

/**
 * How the next token is chosen from the model's logits.
 *
 * @param topK 1 = greedy (the most likely token); otherwise sample among the k most likely
 * @param temperature divides the logits before sampling (&gt; 0; ignored when greedy)
 */
public record Sampling(int topK, float temperature) {

    /** Checks the arguments. */
    public Sampling {
        if (topK < 1) {
            throw new IllegalArgumentException("topK must be >= 1, got " + topK);
        }
        if (!(temperature > 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a positive finite number, got " + temperature);
        }
    }

    /** @return greedy decoding */
    public static Sampling greedy() {
        return new Sampling(1, 1f);
    }

    /**
     * @param k how many of the most likely tokens to sample among
     * @param temperature softmax temperature
     * @return top-k sampling
     */
    public static Sampling topK(int k, float temperature) {
        return new Sampling(k, temperature);
    }

    /** @return whether this is greedy decoding */
    public boolean isGreedy() {
        return topK == 1;
    }
}

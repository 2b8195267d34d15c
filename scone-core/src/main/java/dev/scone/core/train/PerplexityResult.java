package dev.scone.core.train;

/**
 * Cross-entropy and perplexity of a model over a set of predicted tokens, in total and split by
 * whether the input position had an f-gram match (its fgramId was not -1). The prediction at input
 * position i is the label token i + 1; "matched" refers to position i's own f-gram id, which is
 * what a SCONE model's input embedding at i depends on.
 *
 * @param tokens predicted tokens
 * @param totalNll sum of the negative log-likelihoods (nats)
 * @param matchedTokens predicted tokens whose input position had an f-gram match
 * @param matchedNll sum of their negative log-likelihoods
 */
public record PerplexityResult(long tokens, double totalNll, long matchedTokens, double matchedNll) {

    /** Checks the counts. */
    public PerplexityResult {
        if (tokens < 0 || matchedTokens < 0 || matchedTokens > tokens) {
            throw new IllegalArgumentException("token counts must satisfy 0 <= matched <= total, got " + matchedTokens
                    + " of " + tokens);
        }
    }

    /** @return mean cross-entropy per token (nats), NaN when no token */
    public double loss() {
        return totalNll / tokens;
    }

    /** @return exp(loss) */
    public double perplexity() {
        return Math.exp(loss());
    }

    /** @return perplexity over the matched positions, NaN when none */
    public double matchedPerplexity() {
        return Math.exp(matchedNll / matchedTokens);
    }

    /** @return perplexity over the unmatched positions, NaN when none */
    public double unmatchedPerplexity() {
        return Math.exp((totalNll - matchedNll) / (tokens - matchedTokens));
    }

    /** @return the fraction of predicted tokens whose input position had a match */
    public double matchedFraction() {
        return tokens == 0 ? 0 : (double) matchedTokens / tokens;
    }
}

package dev.scone.core.train;

/**
 * One validation result during training, for plotting perplexity against training tokens.
 *
 * @param step updates taken when it was measured
 * @param tokensSeen training tokens consumed when it was measured
 * @param validation the validation result
 */
public record HistoryPoint(long step, long tokensSeen, PerplexityResult validation) {

    /** @return the validation perplexity */
    public double validationPerplexity() {
        return validation.perplexity();
    }
}

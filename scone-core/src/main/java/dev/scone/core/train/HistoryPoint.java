package dev.scone.core.train;

/**
 * One validation result during training, for plotting perplexity against training tokens and
 * time.
 *
 * @param step updates taken when it was measured
 * @param tokensSeen training tokens consumed when it was measured
 * @param validation the validation result
 * @param trainingLoss the mean training loss (nats per token) of the steps taken since the
 *     previous validation in the same process, NaN when none was
 * @param wallSeconds seconds the run had spent training and validating when this validation
 *     ended, carried across resumes (NaN when the run began in a checkpoint that did not record it)
 */
public record HistoryPoint(long step, long tokensSeen, PerplexityResult validation, double trainingLoss,
        double wallSeconds) {

    /**
     * A point that records no training loss and no time.
     *
     * @param step updates taken when it was measured
     * @param tokensSeen training tokens consumed when it was measured
     * @param validation the validation result
     */
    public HistoryPoint(long step, long tokensSeen, PerplexityResult validation) {
        this(step, tokensSeen, validation, Double.NaN, Double.NaN);
    }

    /** @return the validation perplexity */
    public double validationPerplexity() {
        return validation.perplexity();
    }
}

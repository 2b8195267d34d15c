package dev.scone.core.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs every n-th step and every validation through slf4j at INFO. */
public final class LoggingProgress implements TrainingProgress {

    private static final Logger LOG = LoggerFactory.getLogger(LoggingProgress.class);

    private final int every;

    /** @param every log one step in this many, &gt;= 1 */
    public LoggingProgress(int every) {
        if (every < 1) {
            throw new IllegalArgumentException("every must be >= 1, got " + every);
        }
        this.every = every;
    }

    @Override
    public void onStep(StepReport r) {
        if (r.step() % every == 0 || r.step() == r.totalSteps()) {
            LOG.info(String.format(java.util.Locale.ROOT,
                    "step %d/%d tokens %d loss %.4f lr %.3g grad-norm %.3f %.0f tok/s", r.step(), r.totalSteps(),
                    r.tokensSeen(), r.loss(), r.learningRate(), r.gradientNorm(), r.tokensPerSecond()));
        }
    }

    @Override
    public void onValidation(HistoryPoint p) {
        PerplexityResult v = p.validation();
        LOG.info(String.format(java.util.Locale.ROOT,
                "validation at step %d (%d tokens): ppl %.2f (matched %.2f on %.1f%%, unmatched %.2f)", p.step(),
                p.tokensSeen(), v.perplexity(), v.matchedPerplexity(), 100 * v.matchedFraction(),
                v.unmatchedPerplexity()));
    }
}

package dev.scone.core.train;

import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A console progress bar over training steps showing loss, tokens/s and the last validation
 * perplexity. Writes to the console; libraries and tests use {@link TrainingProgress#SILENT}.
 */
public final class ProgressBarDisplay implements TrainingProgress {

    private final String task;
    private ProgressBar bar;
    private double lastPerplexity = Double.NaN;

    /** @param task the label shown before the bar */
    public ProgressBarDisplay(String task) {
        this.task = task;
    }

    @Override
    public void onStart(long step, int totalSteps) {
        close();
        bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(totalSteps).setStyle(ProgressBarStyle.ASCII)
                .startsFrom(step, java.time.Duration.ZERO).build();
    }

    @Override
    public void onStep(StepReport r) {
        if (bar == null) {
            onStart(r.step() - 1, r.totalSteps());
        }
        String ppl = Double.isNaN(lastPerplexity) ? "-" : String.format(Locale.ROOT, "%.1f", lastPerplexity);
        bar.setExtraMessage(String.format(Locale.ROOT, "loss %.3f | %.0f tok/s | val ppl %s", r.loss(),
                r.tokensPerSecond(), ppl));
        bar.stepTo(r.step());
    }

    @Override
    public void onValidation(HistoryPoint point) {
        lastPerplexity = point.validationPerplexity();
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}

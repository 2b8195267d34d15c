package dev.scone.fgram.corpus;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

/** A {@link ProgressListener} that draws a console progress bar (on standard error). */
public final class ProgressBarListener implements ProgressListener {

    private final String unit;
    private ProgressBar bar;

    /** @param unit what one step is, e.g. "docs" (shown beside the counts) */
    public ProgressBarListener(String unit) {
        this.unit = unit;
    }

    @Override
    public void start(String task, long total) {
        finish();
        bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setUnit(" " + unit, 1)
                .setUpdateIntervalMillis(250).build();
    }

    @Override
    public void advance(long steps) {
        if (bar != null) {
            bar.stepBy(steps);
        }
    }

    @Override
    public void finish() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}

package dev.scone.fgram.progress;

import java.time.Duration;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A {@link ProgressListener} that draws a console progress bar on standard error. */
public final class ProgressBarListener implements ProgressListener {

    private final String unit;
    private final String label;
    private ProgressBar bar;

    /** @param unit what one step is, e.g. "docs" (shown beside the counts) */
    public ProgressBarListener(String unit) {
        this(unit, null);
    }

    /**
     * @param unit what one step is, e.g. "steps"
     * @param label shown before the bar instead of the task's name (e.g. which of two models
     *     trains), or null for the task's name
     */
    public ProgressBarListener(String unit, String label) {
        this.unit = unit;
        this.label = label;
    }

    @Override
    public void start(String task, long total, long done) {
        finish();
        bar = new ProgressBarBuilder().setTaskName(label != null ? label : task).setInitialMax(total).setUnit(" " + unit, 1)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).startsFrom(done, Duration.ZERO)
                .build();
    }

    @Override
    public void advance(long steps) {
        if (bar != null) {
            bar.stepBy(steps);
        }
    }

    @Override
    public void stepTo(long done, String status) {
        if (bar != null) {
            if (status != null) {
                bar.setExtraMessage(status);
            }
            bar.stepTo(done);
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

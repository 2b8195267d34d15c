package dev.scone.fgram.progress;

import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link ProgressListener} for runs without a console: logs through slf4j at INFO a line when
 * the task starts, one each time it crosses the next of {@code lines} equal parts of its total
 * (with the last status given), and one when it finishes.
 */
public final class LoggingProgressListener implements ProgressListener {

    private static final Logger LOG = LoggerFactory.getLogger(LoggingProgressListener.class);

    private final int lines;
    private String task;
    private long total;
    private long done;
    private long nextLine;
    private String status;
    private long startNanos;

    /** Logs about 20 lines per task. */
    public LoggingProgressListener() {
        this(20);
    }

    /** @param lines how many progress lines a task logs between its start and its end, &gt;= 1 */
    public LoggingProgressListener(int lines) {
        if (lines < 1) {
            throw new IllegalArgumentException("lines must be >= 1, got " + lines);
        }
        this.lines = lines;
    }

    @Override
    public void start(String task, long total, long done) {
        this.task = task;
        this.total = Math.max(total, 0);
        this.done = done;
        this.status = null;
        this.startNanos = System.nanoTime();
        this.nextLine = next(done);
        LOG.info("{}: started at {} of {}", task, done, this.total);
    }

    @Override
    public void advance(long steps) {
        moveTo(done + steps);
    }

    @Override
    public void stepTo(long done, String status) {
        if (status != null) {
            this.status = status;
        }
        moveTo(done);
    }

    @Override
    public void finish() {
        if (task != null) {
            LOG.info(line("finished at"));
            task = null;
        }
    }

    private void moveTo(long now) {
        done = now;
        if (task != null && done >= nextLine && done < total) {
            LOG.info(line("at"));
            nextLine = next(done);
        }
    }

    // The first step past the part that done is in.
    private long next(long at) {
        if (total == 0) {
            return Long.MAX_VALUE;
        }
        long part = Math.max(1, total / lines);
        return (at / part + 1) * part;
    }

    private String line(String what) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        String percent = total == 0 ? "" : String.format(Locale.ROOT, " (%.0f%%)", 100.0 * done / total);
        return String.format(Locale.ROOT, "%s: %s %d of %d%s after %.1f s%s", task, what, done, total, percent, seconds,
                status == null ? "" : " | " + status);
    }
}

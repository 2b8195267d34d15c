package dev.scone.fgram.progress;

/**
 * Hears how far a long task has come: tokenizing a corpus, training, precomputing a store. The
 * whole library reports through this one interface; {@link ProgressBarListener} draws a console
 * bar, {@link LoggingProgressListener} writes log lines (for runs without a console), and
 * {@link #NONE} hears nothing (tests, libraries).
 *
 * <p>A task is {@link #start started}, moves forward by {@link #advance} (steps done since the
 * last call) or {@link #stepTo} (steps done in all, with a short status such as the loss), and
 * is {@link #finish finished} whether or not it succeeded. Calls for one task come from one
 * thread; a listener may be started again for the next task.
 */
public interface ProgressListener {

    /** A listener that ignores everything. */
    ProgressListener NONE = new ProgressListener() {
        @Override
        public void start(String task, long total, long done) {}

        @Override
        public void advance(long steps) {}

        @Override
        public void stepTo(long done, String status) {}

        @Override
        public void finish() {}
    };

    /**
     * The task begins.
     *
     * @param task what is being done, e.g. "tokenize"
     * @param total the number of steps it will take
     * @param done steps already done (a resumed task), usually 0
     */
    void start(String task, long total, long done);

    /**
     * A new task begins with nothing done.
     *
     * @param task what is being done
     * @param total the number of steps it will take
     */
    default void start(String task, long total) {
        start(task, total, 0);
    }

    /**
     * Some steps are done.
     *
     * @param steps how many more
     */
    void advance(long steps);

    /**
     * The task has reached a step.
     *
     * @param done steps done in all
     * @param status a short line on where it stands (e.g. "loss 3.214 | 7,012 tok/s"), or null
     */
    void stepTo(long done, String status);

    /** The task ended, whether or not it succeeded. */
    void finish();
}

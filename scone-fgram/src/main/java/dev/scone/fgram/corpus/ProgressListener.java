package dev.scone.fgram.corpus;

/**
 * Hears how far a long task has come. {@link #NONE} hears nothing (tests, libraries);
 * {@link ProgressBarListener} draws a console progress bar. Calls come from one thread.
 */
public interface ProgressListener {

    /** A listener that ignores everything. */
    ProgressListener NONE = new ProgressListener() {
        @Override
        public void start(String task, long total) {}

        @Override
        public void advance(long steps) {}

        @Override
        public void finish() {}
    };

    /**
     * The task begins.
     *
     * @param task what is being done, e.g. "tokenize"
     * @param total the number of steps it will take
     */
    void start(String task, long total);

    /**
     * Some steps are done.
     *
     * @param steps how many more
     */
    void advance(long steps);

    /** The task ended, whether or not it succeeded. */
    void finish();
}

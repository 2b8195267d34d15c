package dev.scone.core.train;

/**
 * Receives training events: a progress display, a log, a test probe. Every method has a silent
 * default; {@link #SILENT} ignores everything.
 */
public interface TrainingProgress extends AutoCloseable {

    /** Ignores every event. */
    TrainingProgress SILENT = new TrainingProgress() {};

    /**
     * Called when a {@code train} call begins.
     *
     * @param step updates already taken (non-zero after a resume)
     * @param totalSteps the configured number of steps
     */
    default void onStart(long step, int totalSteps) {}

    /**
     * Called after every step.
     *
     * @param report the step's figures
     */
    default void onStep(StepReport report) {}

    /**
     * Called after every validation.
     *
     * @param point the result
     */
    default void onValidation(HistoryPoint point) {}

    /** Called when a {@code train} call ends; releases a display. */
    @Override
    default void close() {}
}

package dev.scone.core.train;

import ai.djl.training.tracker.Tracker;

/**
 * Learning rate with linear warm-up and cosine decay. For update {@code u} (0-based, the number of
 * updates already taken):
 * <ul>
 *   <li>{@code u < warmup}: {@code peak * (u + 1) / warmup} (the first update is not wasted at 0);
 *   <li>{@code warmup <= u < total}: {@code min + (peak - min) * (1 + cos(pi * (u - warmup) / (total - warmup))) / 2};
 *   <li>{@code u >= total}: {@code min}.
 * </ul>
 * It is a DJL {@link Tracker}, so DJL optimizers can use it too.
 */
public final class WarmupCosineSchedule implements Tracker {

    private final float peak;
    private final float min;
    private final int warmup;
    private final int total;

    /**
     * @param peak the peak learning rate, &gt; 0
     * @param min the final learning rate, in [0, peak]
     * @param warmup warm-up updates, in [0, total]
     * @param total the schedule's length, &gt;= 1
     * @throws IllegalArgumentException when a value is out of range
     */
    public WarmupCosineSchedule(float peak, float min, int warmup, int total) {
        if (!(peak > 0) || !Float.isFinite(peak)) {
            throw new IllegalArgumentException("peak learning rate must be a finite value > 0, got " + peak);
        }
        if (!(min >= 0 && min <= peak)) {
            throw new IllegalArgumentException("final learning rate must be in [0, " + peak + "], got " + min);
        }
        if (total < 1) {
            throw new IllegalArgumentException("total updates must be >= 1, got " + total);
        }
        if (warmup < 0 || warmup > total) {
            throw new IllegalArgumentException("warm-up updates must be in [0, " + total + "], got " + warmup);
        }
        this.peak = peak;
        this.min = min;
        this.warmup = warmup;
        this.total = total;
    }

    @Override
    public float getNewValue(int numUpdate) {
        if (numUpdate < 0) {
            throw new IllegalArgumentException("update number must be >= 0, got " + numUpdate);
        }
        if (numUpdate < warmup) {
            return (float) ((double) peak * (numUpdate + 1) / warmup);
        }
        if (numUpdate >= total) {
            return min;
        }
        double p = (double) (numUpdate - warmup) / (total - warmup);
        return (float) (min + (peak - (double) min) * 0.5 * (1 + Math.cos(Math.PI * p)));
    }

    @Override
    public String toString() {
        return "WarmupCosineSchedule[peak=" + peak + ", min=" + min + ", warmup=" + warmup + ", total=" + total + "]";
    }
}

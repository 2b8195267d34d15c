package dev.scone.fgram.count;

/**
 * What one scan of Algorithm 3 did.
 *
 * @param n the n-gram length counted by this scan
 * @param threshold the minimum count applied
 * @param tokens tokens of the corpus scanned
 * @param occurrencesCounted n-gram occurrences counted (those whose prefix and suffix survived)
 * @param distinctCandidates distinct n-grams counted
 * @param survivors distinct n-grams whose count reached the threshold
 * @param countNanos time spent reading the corpus and counting (including spills)
 * @param mergeNanos time spent merging partial counts and selecting survivors
 * @param bytesSpilled bytes written to disk by this scan (0 when it stayed in memory)
 * @param runs sorted runs spilled to disk (0 when it stayed in memory)
 * @param cpuNanos CPU time of the scan's threads (workers and merge) together; on a machine shared
 *     with other work this says more about the code's speed than the elapsed times
 */
public record ScanStats(int n, int threshold, long tokens, long occurrencesCounted, long distinctCandidates,
        long survivors, long countNanos, long mergeNanos, long bytesSpilled, int runs, long cpuNanos) {

    /** @return the scan's total time in nanoseconds */
    public long totalNanos() {
        return countNanos + mergeNanos;
    }

    /** @return corpus tokens per second over the whole scan (counting and merging) */
    public double tokensPerSecond() {
        return tokens / Math.max(1e-9, totalNanos() / 1e9);
    }

    /** @return corpus tokens per CPU-second: the speed of one core when the scan has it to itself */
    public double tokensPerCpuSecond() {
        return tokens / Math.max(1e-9, cpuNanos / 1e9);
    }

    @Override
    public String toString() {
        return String.format("scan n=%d (min %d): %,d occurrences, %,d distinct, %,d survivors, %.2f s"
                + " (merge %.2f s), %.1fM tokens/s (%.1fM per CPU-second), %,d bytes spilled in %d runs", n, threshold,
                occurrencesCounted, distinctCandidates, survivors, totalNanos() / 1e9, mergeNanos / 1e9,
                tokensPerSecond() / 1e6, tokensPerCpuSecond() / 1e6,
                bytesSpilled, runs);
    }
}

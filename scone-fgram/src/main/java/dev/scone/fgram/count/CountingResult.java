package dev.scone.fgram.count;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of counting: the f-gram vocabulary (top S, id = rank) and what each scan did.
 *
 * @param vocabulary the f-gram vocabulary
 * @param scans one entry per scan that ran, n = 2 upwards; shorter than K - 1 when a scan left
 *     no survivor (no longer n-gram can then be a candidate)
 * @param totalSurvivors n-grams of all lengths that reached their threshold, before the top-S cut
 * @param totalNanos time of the whole run, ranking included
 */
public record CountingResult(FgramVocabulary vocabulary, List<ScanStats> scans, long totalSurvivors,
        long totalNanos) {

    /** Checks and copies. */
    public CountingResult {
        Objects.requireNonNull(vocabulary, "vocabulary");
        scans = List.copyOf(scans);
    }

    /** @return bytes spilled to disk over all scans */
    public long bytesSpilled() {
        return scans.stream().mapToLong(ScanStats::bytesSpilled).sum();
    }

    /** @return runs spilled to disk over all scans */
    public int runs() {
        return scans.stream().mapToInt(ScanStats::runs).sum();
    }
}

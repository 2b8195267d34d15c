package dev.scone.spark.count;

import dev.scone.fgram.count.ScanStats;
import java.util.List;
import java.util.Objects;

/**
 * What a Spark count wrote: the vocabulary file (which no process of the job held whole) and
 * what each scan did.
 *
 * @param vocabularyFile the vocabulary file written (Hadoop path or URI)
 * @param size S, the f-grams it holds
 * @param fingerprint its fingerprint ({@code FgramVocabulary.fingerprint()})
 * @param scans one entry per scan that ran, n = 2 upwards (as {@code CountingResult.scans()})
 * @param totalSurvivors n-grams of all lengths that reached their threshold, before the top-S cut
 * @param totalNanos time of the whole run, the file's writing included
 */
public record SparkCountingResult(String vocabularyFile, int size, String fingerprint, List<ScanStats> scans,
        long totalSurvivors, long totalNanos) {

    /** Checks and copies. */
    public SparkCountingResult {
        Objects.requireNonNull(vocabularyFile, "vocabularyFile");
        Objects.requireNonNull(fingerprint, "fingerprint");
        scans = List.copyOf(scans);
    }
}

package dev.scone.spark.count;

import dev.scone.fgram.count.CountingConfig;
import java.util.Objects;

/**
 * Settings of {@link SparkFgramCounter}: the counting settings shared with the single-machine
 * counter (K, thresholds, S; its memory budget bounds each counting task's tables, beyond which a
 * task spills to its executor's temporary folder; its threads and spill folder do not apply:
 * Spark's executors take their place) and how the work is spread.
 *
 * @param counting K, the thresholds, S and the per-task memory budget
 * @param partitions shuffle partitions: every scan's n-grams are spread over this many
 *     partitions by n-gram hash, at least 1
 * @param splitTokens corpus tokens per input split (one task each), at least 1
 * @param pruning how a scan learns which (n-1)-grams survived the previous scan
 * @param broadcastLimit with {@link Pruning#AUTO}: the most survivors of a scan that are
 *     broadcast; more are joined, at least 0
 */
public record SparkCountingConfig(CountingConfig counting, int partitions, long splitTokens, Pruning pruning,
        long broadcastLimit) {

    /** Default tokens per split: 8 Mi (32 MiB of token ids). */
    public static final long DEFAULT_SPLIT_TOKENS = 1L << 23;
    /** Default broadcast limit for {@link Pruning#AUTO}: 20 million survivors (about 0.5 GB as 5-grams). */
    public static final long DEFAULT_BROADCAST_LIMIT = 20_000_000L;

    /** How the Apriori check of scan n meets the survivors of scan n - 1. */
    public enum Pruning {
        /**
         * The survivors are collected and broadcast; tasks skip pruned occurrences before
         * counting them (least shuffle; the survivors must fit in each executor's memory).
         */
        BROADCAST,
        /**
         * Every n-gram is counted, those reaching the threshold are joined against the survivors
         * by their prefix and then by their suffix (scales with the cluster; more shuffle).
         * Counting an n-gram whose prefix or suffix was pruned cannot change its count, so the
         * result is the same.
         */
        JOIN,
        /** {@link #BROADCAST} while the previous scan's survivors are at most the limit, else {@link #JOIN}. */
        AUTO
    }

    /**
     * Checks every value.
     *
     * @throws IllegalArgumentException naming the offending value
     */
    public SparkCountingConfig {
        Objects.requireNonNull(counting, "counting");
        Objects.requireNonNull(pruning, "pruning");
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be >= 1, got " + partitions);
        }
        if (splitTokens < 1) {
            throw new IllegalArgumentException("splitTokens must be >= 1, got " + splitTokens);
        }
        if (broadcastLimit < 0) {
            throw new IllegalArgumentException("broadcastLimit must be >= 0, got " + broadcastLimit);
        }
    }

    /**
     * @param counting K, the thresholds and S
     * @param partitions shuffle partitions
     * @return a configuration with the default split size and {@link Pruning#AUTO}
     */
    public static SparkCountingConfig of(CountingConfig counting, int partitions) {
        return new SparkCountingConfig(counting, partitions, DEFAULT_SPLIT_TOKENS, Pruning.AUTO,
                DEFAULT_BROADCAST_LIMIT);
    }

    /** @param v tokens per split @return a copy with that split size */
    public SparkCountingConfig withSplitTokens(long v) {
        return new SparkCountingConfig(counting, partitions, v, pruning, broadcastLimit);
    }

    /** @param v the pruning strategy @return a copy with it */
    public SparkCountingConfig withPruning(Pruning v) {
        return new SparkCountingConfig(counting, partitions, splitTokens, v, broadcastLimit);
    }

    /** @param v partitions @return a copy with that many shuffle partitions */
    public SparkCountingConfig withPartitions(int v) {
        return new SparkCountingConfig(counting, v, splitTokens, pruning, broadcastLimit);
    }

    /** @param v broadcast limit @return a copy with it */
    public SparkCountingConfig withBroadcastLimit(long v) {
        return new SparkCountingConfig(counting, partitions, splitTokens, pruning, v);
    }

    /** @return the threshold of the scan of length n */
    int thresholdFor(int n) {
        return n == 2 ? counting.firstScanMinCount() : counting.minCount();
    }
}

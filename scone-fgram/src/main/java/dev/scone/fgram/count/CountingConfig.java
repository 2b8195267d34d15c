package dev.scone.fgram.count;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Settings of the frequent n-gram counter ({@link FgramCounter}, the paper's Algorithm 3).
 *
 * @param maxN the longest n-gram length K counted (scans n = 2..K), at least 2; paper default 5
 * @param minCount the minimum count an n-gram needs to survive a scan for n &gt;= 3, at least 1;
 *     paper default 5
 * @param firstScanMinCount the minimum count a 2-gram needs to survive the first scan, at least 1;
 *     the paper counts and keeps every 2-gram, which is 1 (the default)
 * @param topS how many f-grams the vocabulary keeps (S), all lengths ranked together, at least 1
 * @param threads worker threads for each scan, at least 1; default 2
 * @param memoryBudgetBytes the heap the count tables of one scan may occupy, all threads together,
 *     at least {@link #MIN_MEMORY_BUDGET_BYTES}; when counts outgrow it they spill to disk as
 *     sorted runs. The survivors of earlier scans are held in memory on top of it.
 * @param spillDirectory where spilled runs are written (temporary files, deleted after each scan)
 */
public record CountingConfig(int maxN, int minCount, int firstScanMinCount, int topS, int threads,
        long memoryBudgetBytes, Path spillDirectory) {

    /** The paper's K. */
    public static final int DEFAULT_MAX_N = 5;
    /** The paper's threshold for scans after the first. */
    public static final int DEFAULT_MIN_COUNT = 5;
    /** The paper's first scan keeps every 2-gram. */
    public static final int DEFAULT_FIRST_SCAN_MIN_COUNT = 1;
    /** Default number of worker threads. */
    public static final int DEFAULT_THREADS = 2;
    /** Default budget for the count tables of one scan: 1 GiB. */
    public static final long DEFAULT_MEMORY_BUDGET_BYTES = 1L << 30;
    /** The smallest budget accepted (64 KiB): enough for a minimal table per thread. */
    public static final long MIN_MEMORY_BUDGET_BYTES = 1L << 16;

    /**
     * Checks every setting.
     *
     * @throws IllegalArgumentException naming the offending value
     */
    public CountingConfig {
        if (maxN < 2) {
            throw new IllegalArgumentException("maxN (K) must be >= 2, got " + maxN);
        }
        if (maxN > 64) {
            throw new IllegalArgumentException("maxN (K) must be <= 64, got " + maxN);
        }
        if (minCount < 1) {
            throw new IllegalArgumentException("minCount must be >= 1, got " + minCount);
        }
        if (firstScanMinCount < 1) {
            throw new IllegalArgumentException("firstScanMinCount must be >= 1, got " + firstScanMinCount);
        }
        if (topS < 1) {
            throw new IllegalArgumentException("topS (S) must be >= 1, got " + topS);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (memoryBudgetBytes < MIN_MEMORY_BUDGET_BYTES) {
            throw new IllegalArgumentException("memoryBudgetBytes must be >= " + MIN_MEMORY_BUDGET_BYTES + ", got "
                    + memoryBudgetBytes);
        }
        Objects.requireNonNull(spillDirectory, "spillDirectory");
    }

    /**
     * The paper's settings (K = 5, threshold 5 from the second scan on, every 2-gram kept by the
     * first scan) with two threads, a 1 GiB budget and the system temporary folder.
     *
     * @param topS how many f-grams to keep (S)
     * @return the configuration
     */
    public static CountingConfig defaults(int topS) {
        return builder().setTopS(topS).build();
    }

    /** @return a builder holding the defaults; {@link Builder#setTopS} is required */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the threshold applied in the scan of length {@code n} */
    int thresholdFor(int n) {
        return n == 2 ? firstScanMinCount : minCount;
    }

    /**
     * @param newBudget memory budget in bytes
     * @return a copy with that budget
     */
    public CountingConfig withMemoryBudgetBytes(long newBudget) {
        return new CountingConfig(maxN, minCount, firstScanMinCount, topS, threads, newBudget, spillDirectory);
    }

    /**
     * @param newThreads worker threads
     * @return a copy with that many threads
     */
    public CountingConfig withThreads(int newThreads) {
        return new CountingConfig(maxN, minCount, firstScanMinCount, topS, newThreads, memoryBudgetBytes,
                spillDirectory);
    }

    /** Builds a {@link CountingConfig}; {@link #build()} checks every value. */
    public static final class Builder {
        private int maxN = DEFAULT_MAX_N;
        private int minCount = DEFAULT_MIN_COUNT;
        private int firstScanMinCount = DEFAULT_FIRST_SCAN_MIN_COUNT;
        private int topS = -1;
        private int threads = DEFAULT_THREADS;
        private long memoryBudgetBytes = DEFAULT_MEMORY_BUDGET_BYTES;
        private Path spillDirectory = Path.of(System.getProperty("java.io.tmpdir"));

        private Builder() {}

        /**
         * @param v the longest n-gram length K (default 5)
         * @return this builder
         */
        public Builder optMaxN(int v) {
            maxN = v;
            return this;
        }

        /**
         * @param v the threshold for scans n &gt;= 3 (default 5)
         * @return this builder
         */
        public Builder optMinCount(int v) {
            minCount = v;
            return this;
        }

        /**
         * @param v the threshold for the 2-gram scan (default 1: keep every 2-gram)
         * @return this builder
         */
        public Builder optFirstScanMinCount(int v) {
            firstScanMinCount = v;
            return this;
        }

        /**
         * @param v how many f-grams to keep (S); required
         * @return this builder
         */
        public Builder setTopS(int v) {
            topS = v;
            return this;
        }

        /**
         * @param v worker threads (default 2)
         * @return this builder
         */
        public Builder optThreads(int v) {
            threads = v;
            return this;
        }

        /**
         * @param v budget in bytes for one scan's count tables (default 1 GiB)
         * @return this builder
         */
        public Builder optMemoryBudgetBytes(long v) {
            memoryBudgetBytes = v;
            return this;
        }

        /**
         * @param v folder for spilled runs (default: the system temporary folder)
         * @return this builder
         */
        public Builder optSpillDirectory(Path v) {
            spillDirectory = v;
            return this;
        }

        /**
         * @return the configuration
         * @throws IllegalArgumentException when a value is out of range or topS was not set
         */
        public CountingConfig build() {
            if (topS == -1) {
                throw new IllegalArgumentException("topS (S) is required");
            }
            return new CountingConfig(maxN, minCount, firstScanMinCount, topS, threads, memoryBudgetBytes,
                    spillDirectory);
        }
    }
}

package dev.scone.fgram.count;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * {@link FgramCounter}'s scan of one length, cut into the pieces that a distributed counter runs
 * on its workers (scone-spark runs them per partition), so that it counts with the same exact
 * long keys and the same inner loops and ends with the same survivors:
 *
 * <ul>
 *   <li>the key of an n-gram: its tokens packed when they fit in 63 bits, otherwise (survivor index
 *       of its (n-1)-prefix, last token); ascending key order is lexicographic token order, and
 *       {@link #decoder} turns a key back into tokens;
 *   <li>{@link Level}: the survivors of one scan as ascending keys (a survivor's index is its
 *       position), which the next scans need for Apriori pruning and unpacked keys;
 *   <li>{@link PartCounts}: the counts of part of a corpus (one split, one worker), Apriori
 *       pruning included, in cache-sized hash partitions that spill to disk beyond a budget;
 *   <li>{@link Merge}: the sum of partial counts of the same keys, and the keys that reach the
 *       scan's threshold, in key order.
 * </ul>
 *
 * <p>A distributed counter runs scan n as: every worker counts its part ({@link PartCounts}), the
 * partial counts are routed by {@link #partitionOf} and summed ({@link Merge}), the survivors'
 * keys of all partitions together form {@link Level} n. Instances are immutable and thread-safe.
 */
public final class DistributedScan {

    private final KeyScheme keys;

    /**
     * @param tokenVocabularySize V of the corpus: token ids are in [0, V)
     */
    public DistributedScan(int tokenVocabularySize) {
        if (tokenVocabularySize < 1) {
            throw new IllegalArgumentException("token vocabulary size must be >= 1, got " + tokenVocabularySize);
        }
        this.keys = new KeyScheme(tokenVocabularySize);
    }

    /**
     * @param n an n-gram length
     * @return whether n-grams of that length are keyed by their packed tokens (else by their
     *     prefix's survivor index and last token, which needs the levels below)
     */
    public boolean packed(int n) {
        return keys.packed(n);
    }

    /**
     * @param n a scan length, at least 3
     * @return the lowest level a pruned scan of length n (and {@link #decoder} of its keys) reads:
     *     the longest packed length at most n - 1; it reads every level from there to n - 1
     */
    public int lowestLevelRead(int n) {
        return packedBase(keys, n - 1);
    }

    /**
     * @param n a scan length
     * @param everyShorterSurvived whether every (n-1)-gram of the corpus (and so every shorter
     *     n-gram) reached its threshold
     * @return whether a scan of length n must read the previous levels: not when its keys are
     *     packed and nothing can be pruned
     */
    public boolean readsLevels(int n, boolean everyShorterSurvived) {
        return readsLevels(keys, n, everyShorterSurvived);
    }

    /** {@link #readsLevels(int, boolean)} under a key scheme (the single-machine counter asks it too). */
    static boolean readsLevels(KeyScheme keys, int n, boolean everyShorterSurvived) {
        return !(keys.packed(n) && (n == 2 || everyShorterSurvived));
    }

    /**
     * @param tok token ids
     * @param from the first
     * @param n how many: a length whose n-grams are {@link #packed}
     * @return the packed key of {@code tok[from .. from + n)}
     */
    public long pack(int[] tok, int from, int n) {
        if (!keys.packed(n)) {
            throw new IllegalArgumentException(n + "-grams of " + keys.bits + "-bit tokens are not packed");
        }
        return keys.pack(tok, from, n);
    }

    /**
     * The routing of a key to one of {@code partitions} partial-count partitions: well mixed, the
     * same everywhere.
     *
     * @param key an n-gram key
     * @param partitions how many partitions, at least 1
     * @return the partition, in [0, partitions)
     */
    public static int partitionOf(long key, int partitions) {
        return (int) Long.remainderUnsigned(CountTable.hash64(key) >>> 1, partitions);
    }

    /**
     * @param n a length
     * @param levels the levels by length; those from {@link #lowestLevelRead} to n - 1 are read
     *     when n-grams of length n are not packed (null entries elsewhere; may be null when they are)
     * @return what turns keys of length n back into tokens, with the levels it reads looked up once
     */
    public Decoder decoder(int n, Level[] levels) {
        SurvivorLevel[] raw = null;
        if (!keys.packed(n)) {
            raw = new SurvivorLevel[n];
            for (int m = packedBase(keys, n - 1); m < n; m++) {
                int length = m;
                raw[m] = Objects.requireNonNull(levels[m], () -> "level " + length).level;
            }
        }
        return new Decoder(keys, n, raw);
    }

    /** Writes the tokens of n-grams of one length given their keys ({@link #decoder}). Thread-safe. */
    public static final class Decoder {
        private final KeyScheme keys;
        private final int n;
        private final SurvivorLevel[] levels;

        private Decoder(KeyScheme keys, int n, SurvivorLevel[] levels) {
            this.keys = keys;
            this.n = n;
            this.levels = levels;
        }

        /**
         * @param key an n-gram's key
         * @param dst where to write its n tokens
         * @param offset where the first goes
         */
        public void decode(long key, int[] dst, int offset) {
            DistributedScan.decode(keys, levels, n, key, dst, offset);
        }
    }

    /**
     * @param n the length counted
     * @param levels the levels by length ({@code levels[m]} holds the m-gram survivors), from
     *     {@link #lowestLevelRead lowestLevelRead(n)} to n - 1; {@code null} when the scan reads no
     *     level ({@link #readsLevels} false): then every n-gram is counted
     * @param memoryBudgetBytes the heap its count tables may occupy; beyond it they spill, at least
     *     {@link CountingConfig#MIN_MEMORY_BUDGET_BYTES}
     * @param expectedPositions about how many positions will be counted (sizes the buffers)
     * @param spillDirectory where spilled runs go (scratch files, deleted by {@link PartCounts#close})
     * @return empty counts of length n
     */
    public PartCounts newPartCounts(int n, Level[] levels, long memoryBudgetBytes, long expectedPositions,
            Path spillDirectory) {
        if (n < 2) {
            throw new IllegalArgumentException("n must be >= 2, got " + n);
        }
        if (memoryBudgetBytes < CountingConfig.MIN_MEMORY_BUDGET_BYTES) {
            throw new IllegalArgumentException("memoryBudgetBytes must be >= " + CountingConfig.MIN_MEMORY_BUDGET_BYTES
                    + ", got " + memoryBudgetBytes);
        }
        Objects.requireNonNull(spillDirectory, "spillDirectory");
        SurvivorLevel[] raw = null;
        if (levels != null) {
            if (n == 2) {
                throw new IllegalArgumentException("the 2-gram scan reads no level");
            }
            raw = new SurvivorLevel[n];
            for (int m = packedBase(keys, n - 1); m < n; m++) {
                Level l = Objects.requireNonNull(levels[m], "level " + m);
                if (l.n() != m) {
                    throw new IllegalArgumentException("levels[" + m + "] holds " + l.n() + "-grams");
                }
                l.ensureIndex();
                raw[m] = l.level;
            }
        } else if (!keys.packed(n)) {
            throw new IllegalArgumentException(n + "-grams of " + keys.bits + "-bit tokens are not packed: their"
                    + " keys need the levels below");
        }
        List<SortedRuns.RunFile> files = new ArrayList<>();
        PartitionedCounts counts = PartitionedCounts.within(memoryBudgetBytes, expectedPositions, run -> {
            Files.createDirectories(spillDirectory);
            files.add(SortedRuns.write(run, spillDirectory));
        });
        return new PartCounts(keys, n, raw, counts, files, spillDirectory);
    }

    /** @return the longest length &lt;= m whose keys are packed tokens */
    static int packedBase(KeyScheme keys, int m) {
        int base = m;
        while (!keys.packed(base)) {
            base--;
        }
        return base;
    }

    /**
     * Fills {@code cur[i]} with the survivor index at level {@code m} of the m-gram starting at
     * {@code tok[from + i]}, or -1 when it did not survive, for every i with i + m &lt;= len.
     */
    static void survivorIds(KeyScheme keys, SurvivorLevel[] levels, int[] tok, int from, int len, int m, int[] cur) {
        int base = packedBase(keys, m);
        SurvivorLevel level = levels[base];
        int bits = keys.bits;
        long mask = base * bits == 63 ? Long.MAX_VALUE : (1L << (base * bits)) - 1;
        long key = keys.pack(tok, from, base - 1);
        for (int i = 0; i + base <= len; i++) {
            key = ((key << bits) | tok[from + i + base - 1]) & mask;
            cur[i] = level.indexOf(key);
        }
        for (int k = base + 1; k <= m; k++) {
            level = levels[k];
            for (int i = 0; i + k <= len; i++) {
                int c = cur[i];
                cur[i] = c < 0 ? -1 : level.indexOf(KeyScheme.composite(c, tok[from + i + k - 1]));
            }
        }
    }

    /**
     * Writes the n tokens of the n-gram with key {@code key} to {@code dst[offset .. offset + n)};
     * {@code levels[m]} for m from the packed base to n - 1 are read when n is not packed.
     */
    static void decode(KeyScheme keys, SurvivorLevel[] levels, int n, long key, int[] dst, int offset) {
        int pos = offset + n - 1;
        int level = n;
        while (!keys.packed(level)) {
            dst[pos--] = (int) key;
            int id = (int) (key >>> 32);
            level--;
            key = levels[level].keys[id];
        }
        long tokenMask = (1L << keys.bits) - 1;
        for (int j = 0; j < level; j++) {
            dst[pos--] = (int) (key & tokenMask);
            key >>>= keys.bits;
        }
    }

    /** Receives (key, count) pairs. */
    @FunctionalInterface
    public interface Sink {
        /**
         * @param key an n-gram key
         * @param count its count
         * @throws IOException when the receiver fails
         */
        void accept(long key, long count) throws IOException;
    }

    /**
     * The survivors of one scan: their keys in ascending order, so that a survivor's index (its id
     * in the unpacked keys of the next length) is its position. Lookups are thread-safe.
     */
    public static final class Level {
        private final SurvivorLevel level;
        private volatile boolean indexed;

        private Level(SurvivorLevel level) {
            this.level = level;
        }

        /**
         * @param n the length
         * @param keys the survivors' keys, distinct, in any order: sorted in place (taken, not copied;
         *     keys already in ascending order are only checked)
         * @param size how many of {@code keys} are used
         * @return the level
         * @throws IllegalArgumentException when a key is negative or appears twice
         */
        public static Level of(int n, long[] keys, int size) {
            if (size < 0 || size > keys.length) {
                throw new IllegalArgumentException("size " + size + " outside [0, " + keys.length + "]");
            }
            if (!ascendingNonNegative(keys, size)) {
                RadixSort.sort(keys, new int[size], size, new long[size], new int[size]);
                for (int i = 0; i < size; i++) {
                    if (keys[i] < 0 || (i > 0 && keys[i] == keys[i - 1])) {
                        throw new IllegalArgumentException("level " + n + ": key " + keys[i]
                                + (keys[i] < 0 ? " is negative" : " appears twice"));
                    }
                }
            }
            return new Level(new SurvivorLevel(n, keys, null, size));
        }

        /** @return whether {@code keys[0..size)} are strictly ascending and none is negative */
        private static boolean ascendingNonNegative(long[] keys, int size) {
            if (size > 0 && keys[0] < 0) {
                return false;
            }
            for (int i = 1; i < size; i++) {
                if (keys[i] <= keys[i - 1]) {
                    return false;
                }
            }
            return true;
        }

        /** @return the length of its n-grams */
        public int n() {
            return level.n;
        }

        /** @return how many survivors */
        public int size() {
            return level.size;
        }

        /** @param i an index in [0, size) @return the i-th smallest key */
        public long key(int i) {
            if (i < 0 || i >= level.size) {
                throw new IndexOutOfBoundsException(i);
            }
            return level.keys[i];
        }

        /** @param key a key @return its survivor index, or -1 */
        public int indexOf(long key) {
            ensureIndex();
            return level.indexOf(key);
        }

        void ensureIndex() {
            if (!indexed) {
                synchronized (this) {
                    if (!indexed) {
                        level.buildIndex();
                        indexed = true;
                    }
                }
            }
        }
    }

    /**
     * The counts of one scan over part of a corpus: {@link FgramCounter}'s per-worker counting
     * (cache-sized hash partitions, Apriori pruning through the survivor levels, spilling to
     * key-sorted runs beyond the budget). Not thread-safe; close it to delete spilled runs.
     */
    public static final class PartCounts implements AutoCloseable {
        private final KeyScheme keys;
        private final int n;
        private final SurvivorLevel[] levels;
        private final PartitionedCounts counts;
        private final List<SortedRuns.RunFile> files;
        private final Path spillDirectory;
        private final List<Path> scratch = new ArrayList<>();
        private int[] cur = new int[0];
        private long occurrences;
        private boolean drained;

        PartCounts(KeyScheme keys, int n, SurvivorLevel[] levels, PartitionedCounts counts,
                List<SortedRuns.RunFile> files, Path spillDirectory) {
            this.keys = keys;
            this.n = n;
            this.levels = levels;
            this.counts = counts;
            this.files = files;
            this.spillDirectory = spillDirectory;
        }

        /** @return n-gram occurrences counted so far (those that passed pruning) */
        public long occurrences() {
            return occurrences;
        }

        /** @return whether counts were spilled to disk */
        public boolean spilled() {
            return !files.isEmpty();
        }

        /**
         * Counts the n-grams starting at {@code tok[from .. from + positions)}; the array must
         * hold their tokens, up to {@code tok[from + positions + n - 2]}, all of one document.
         *
         * @param tok token ids
         * @param from the first n-gram's first token
         * @param positions how many n-grams
         * @throws IOException when spilling fails
         */
        public void count(int[] tok, int from, int positions) throws IOException {
            if (drained) {
                throw new IllegalStateException("counts already drained");
            }
            if (positions <= 0) {
                return;
            }
            if (from < 0 || (long) from + positions + n - 1 > tok.length) {
                throw new IndexOutOfBoundsException("positions " + from + "+" + positions + " of " + n
                        + "-grams in " + tok.length + " tokens");
            }
            for (int s = 0; s < positions; s += FgramCounter.CHUNK) {
                int p = Math.min(FgramCounter.CHUNK, positions - s);
                occurrences += countChunk(tok, from + s, p);
            }
        }

        /** Counts the n-grams at {@code tok[from .. from + positions)}; returns how many passed pruning. */
        int countChunk(int[] tok, int from, int positions) throws IOException {
            int len = positions + n - 1;
            int bits = keys.bits;
            if (levels == null) {
                // no level to read: every n-gram counts, under its packed tokens
                long mask = n * bits == 63 ? Long.MAX_VALUE : (1L << (n * bits)) - 1;
                long key = keys.pack(tok, from, n - 1);
                for (int i = 0; i < positions; i++) {
                    key = ((key << bits) | tok[from + i + n - 1]) & mask;
                    counts.add(key);
                }
                return positions;
            }
            if (cur.length < len) {
                cur = new int[Math.max(len, FgramCounter.CHUNK + n)];
            }
            int[] ids = cur;
            survivorIds(keys, levels, tok, from, len, n - 1, ids);
            int counted = 0;
            boolean packed = keys.packed(n);
            for (int i = 0; i < positions; i++) {
                int prefix = ids[i];
                if (prefix >= 0 && ids[i + 1] >= 0) {
                    counted++;
                    counts.add(packed ? keys.pack(tok, from + i, n) : KeyScheme.composite(prefix, tok[from + i + n - 1]));
                }
            }
            return counted;
        }

        /**
         * Hands every distinct key with its count to {@code sink} (in no particular order when
         * nothing spilled, else in key order); the counts are gone afterwards.
         *
         * @param sink the receiver
         * @throws IOException when reading spilled runs or the sink fails
         */
        public void drain(Sink sink) throws IOException {
            if (drained) {
                throw new IllegalStateException("counts already drained");
            }
            drained = true;
            if (files.isEmpty()) {
                counts.close();
                long[] k = new long[0];
                int[] c = new int[0];
                for (int p = 0; p < counts.partitions(); p++) {
                    CountTable t = counts.table(p);
                    if (k.length < t.size()) {
                        k = new long[t.size()];
                        c = new int[t.size()];
                    }
                    int m = t.copyTo(k, c, 0);
                    counts.release(p);
                    for (int i = 0; i < m; i++) {
                        sink.accept(k[i], c[i]);
                    }
                }
                return;
            }
            CountTable.SortedEntries rest = counts.finish();
            SortedRuns.merge(new ArrayList<>(files), List.of(rest), spillDirectory, scratch, new long[1], sink::accept);
        }

        /** Deletes spilled runs. */
        @Override
        public void close() {
            List<Path> all = new ArrayList<>(scratch);
            for (SortedRuns.RunFile f : files) {
                all.add(f.path());
            }
            for (Path p : all) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // a scratch file of the spill directory; removed with it
                }
            }
            files.clear();
            scratch.clear();
        }
    }

    /**
     * Adds up partial counts of one scan (from any number of {@link PartCounts}) and keeps those
     * reaching a threshold. Counts are summed in one open-addressing table while the total stays
     * below 2^31, else in key-sorted runs merged at the end with long sums. Not thread-safe.
     */
    public static final class Merge {
        private final long tableLimit;
        private CountTable table = new CountTable(CountTable.MIN_CAPACITY);
        private long tableTotal;
        private List<CountTable.SortedEntries> runs;

        /** Creates an empty sum. */
        public Merge() {
            this(Integer.MAX_VALUE);
        }

        /** @param tableLimit the total the table may reach before it becomes a sorted run (tests lower it) */
        Merge(long tableLimit) {
            this.tableLimit = tableLimit;
        }

        /**
         * Adds {@code count} occurrences of {@code key}.
         *
         * @param key an n-gram key (non-negative)
         * @param count a partial count, in [1, 2^31 - 1)
         */
        public void add(long key, int count) {
            if (key < 0 || count < 1 || count == Integer.MAX_VALUE) {
                throw new IllegalArgumentException("key " + key + " with count " + count);
            }
            if (tableTotal + count >= tableLimit && tableTotal > 0) {
                // an int count could overflow: keep what the table holds as a sorted run
                if (runs == null) {
                    runs = new ArrayList<>();
                }
                runs.add(sorted(table));
                table = new CountTable(CountTable.MIN_CAPACITY);
                tableTotal = 0;
            }
            tableTotal += count;
            if (table.add(key, count)) {
                table.grow();
            }
        }

        private static CountTable.SortedEntries sorted(CountTable t) {
            int m = t.size();
            long[] k = new long[m];
            int[] c = new int[m];
            t.copyTo(k, c, 0);
            RadixSort.sort(k, c, m, new long[m], new int[m]);
            return new CountTable.SortedEntries(k, c, m);
        }

        /**
         * Ends the sum.
         *
         * @param threshold the scan's minimum count
         * @return the keys whose summed count reaches it, ascending, with their counts
         */
        public Survivors survivors(int threshold) {
            if (runs == null) {
                it.unimi.dsi.fastutil.longs.LongArrayList k = new it.unimi.dsi.fastutil.longs.LongArrayList();
                it.unimi.dsi.fastutil.longs.LongArrayList c = new it.unimi.dsi.fastutil.longs.LongArrayList();
                long distinct = table.size();
                table.collect(threshold, k, c);
                table = null;
                int m = k.size();
                long[] keysOut = k.elements();
                int[] order = new int[m];
                for (int i = 0; i < m; i++) {
                    order[i] = i;
                }
                RadixSort.sort(keysOut, order, m, new long[m], new int[m]);
                long[] countsOut = new long[m];
                long[] unsorted = c.elements();
                for (int i = 0; i < m; i++) {
                    countsOut[i] = unsorted[order[i]];
                }
                return new Survivors(keysOut, countsOut, m, distinct);
            }
            runs.add(sorted(table));
            table = null;
            List<SortedRuns.Cursor> cursors = new ArrayList<>();
            for (CountTable.SortedEntries r : runs) {
                cursors.add(SortedRuns.memory(r));
            }
            runs = null;
            it.unimi.dsi.fastutil.longs.LongArrayList k = new it.unimi.dsi.fastutil.longs.LongArrayList();
            it.unimi.dsi.fastutil.longs.LongArrayList c = new it.unimi.dsi.fastutil.longs.LongArrayList();
            long[] distinct = new long[1];
            try {
                SortedRuns.mergeCursors(cursors, (key, count) -> {
                    distinct[0]++;
                    if (count >= threshold) {
                        k.add(key);
                        c.add(count);
                    }
                });
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e); // in-memory cursors do not fail
            }
            return new Survivors(k.elements(), c.elements(), k.size(), distinct[0]);
        }
    }

    /**
     * The outcome of a {@link Merge}.
     *
     * @param keys the surviving keys, ascending, in {@code [0, size)}
     * @param counts their summed counts
     * @param size how many survived
     * @param distinct how many distinct keys were summed
     */
    public record Survivors(long[] keys, long[] counts, int size, long distinct) {}
}

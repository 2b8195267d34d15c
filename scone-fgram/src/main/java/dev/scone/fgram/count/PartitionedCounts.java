package dev.scone.fgram.count;

import java.io.IOException;

/**
 * One worker's counts: keys are buffered in a batch, then scattered by hash into partitions and
 * counted in per-partition open-addressing tables ({@link CountTable}) small enough to stay in
 * the processor's cache, instead of missing the cache on every key of one big table. The tables
 * together never exceed a capacity limit (the worker's share of the memory budget); when they
 * would, everything counted so far is handed to a {@link Spiller} as one key-sorted run and the
 * tables start empty.
 */
final class PartitionedCounts {

    /** Receives a key-sorted run (valid only during the call). */
    interface Spiller {
        void spill(CountTable.SortedEntries run) throws IOException;
    }

    /** Slots a partition should have at least when the budget allows. */
    private static final int MIN_PARTITION_SLOTS = 1 << 12;
    private static final int MAX_PARTITION_BITS = 8;
    /** Bytes of the budget per slot: the slot itself plus drain and sort buffers for its share. */
    static final double BYTES_PER_SLOT = CountTable.SLOT_BYTES * (1 + 2 * 0.7);

    private final CountTable[] tables;
    private final int partitionBits;
    private final long capacityLimit;
    private final Spiller spiller;
    private long[] batch;
    private int batchSize;
    private final int[] bucketStart;
    private long[] scattered;
    private long totalCapacity;
    private long sinceSpill;
    private boolean spilled;
    private long[] drainKeys = new long[0];
    private int[] drainCounts = new int[0];
    private long[] auxKeys = new long[0];
    private int[] auxCounts = new int[0];

    /**
     * @param capacityLimit the most slots all partitions may hold together
     * @param batchSize keys buffered before they are counted
     * @param spiller where runs go when the limit is reached
     */
    PartitionedCounts(long capacityLimit, int batchSize, Spiller spiller) {
        int bits = 0;
        while (bits < MAX_PARTITION_BITS && (capacityLimit >> (bits + 1)) >= MIN_PARTITION_SLOTS) {
            bits++;
        }
        this.partitionBits = bits;
        this.capacityLimit = capacityLimit;
        this.spiller = spiller;
        int partitions = 1 << bits;
        this.tables = new CountTable[partitions];
        int initial = (int) Math.max(CountTable.MIN_CAPACITY / 8,
                Math.min(capacityLimit / partitions, (1 << 16) / partitions));
        initial = Integer.highestOneBit(Math.max(16, initial));
        for (int p = 0; p < partitions; p++) {
            tables[p] = new CountTable(initial);
            totalCapacity += initial;
        }
        this.batch = new long[batchSize];
        this.scattered = partitions > 1 ? new long[batchSize] : null;
        this.bucketStart = new int[partitions + 1];
    }

    /**
     * @param memoryBudgetBytes the heap the counts may occupy (batch buffer included)
     * @param expectedPositions about how many keys will be counted (caps the batch)
     * @param spiller where runs go when the budget is reached
     * @return empty counts sized for the budget
     */
    static PartitionedCounts within(long memoryBudgetBytes, long expectedPositions, Spiller spiller) {
        int batch = (int) Math.max(1024, Math.min(Math.min(1 << 21, memoryBudgetBytes / 64), expectedPositions));
        long capacityLimit = Math.max(CountTable.MIN_CAPACITY,
                (long) ((memoryBudgetBytes - 16L * batch) / BYTES_PER_SLOT));
        return new PartitionedCounts(capacityLimit, batch, spiller);
    }

    /** Counts one occurrence of {@code key} (buffered). */
    void add(long key) throws IOException {
        batch[batchSize++] = key;
        if (batchSize == batch.length) {
            flush();
        }
    }

    /** @return the number of hash partitions (equal for equal capacity limits) */
    int partitions() {
        return tables.length;
    }

    /** @return partition {@code p}'s table; the partition of a key is the top bits of its hash */
    CountTable table(int p) {
        return tables[p];
    }

    /** @return whether any run has been spilled */
    boolean hasSpilled() {
        return spilled;
    }

    /** Counts the buffered keys and frees the batch buffers; afterwards only the tables are used. */
    void close() throws IOException {
        flush();
        batch = null;
        scattered = null;
        drainKeys = null;
        drainCounts = null;
        auxKeys = null;
        auxCounts = null;
    }

    /** Lets the garbage collector take partition {@code p}'s table. */
    void release(int p) {
        tables[p] = null;
    }

    /** Counts every buffered key. */
    void flush() throws IOException {
        int n = batchSize;
        batchSize = 0;
        if (n == 0) {
            return;
        }
        if (sinceSpill + n > Integer.MAX_VALUE - 1) {
            // counts are ints: spill before one could overflow
            spillAll();
        }
        sinceSpill += n;
        if (partitionBits == 0) {
            insert(0, batch, 0, n);
            return;
        }
        int shift = 64 - partitionBits;
        int[] start = bucketStart;
        java.util.Arrays.fill(start, 0);
        for (int i = 0; i < n; i++) {
            start[(int) (CountTable.hash64(batch[i]) >>> shift) + 1]++;
        }
        for (int p = 0; p < tables.length; p++) {
            start[p + 1] += start[p];
        }
        int[] fill = start.clone();
        long[] out = scattered;
        for (int i = 0; i < n; i++) {
            long k = batch[i];
            out[fill[(int) (CountTable.hash64(k) >>> shift)]++] = k;
        }
        for (int p = 0; p < tables.length; p++) {
            insert(p, out, start[p], start[p + 1]);
        }
    }

    private void insert(int p, long[] keys, int from, int to) throws IOException {
        CountTable t = tables[p];
        for (int i = from; i < to; i++) {
            if (t.increment(keys[i])) {
                if (totalCapacity + t.capacity() <= capacityLimit) {
                    totalCapacity += t.capacity();
                    t.grow();
                } else {
                    spillAll();
                }
            }
        }
    }

    /**
     * Hands everything counted so far to the spiller and empties the tables, giving every
     * partition the same share of the capacity (keys spread evenly over partitions, so the next
     * spill comes when the tables are nearly full, not when the smallest partition is).
     */
    private void spillAll() throws IOException {
        spiller.spill(drainSorted());
        spilled = true;
        int equal = Integer.highestOneBit((int) Math.min(1 << 30, Math.max(16, capacityLimit / tables.length)));
        totalCapacity = 0;
        for (CountTable t : tables) {
            t.reset(equal);
            totalCapacity += equal;
        }
        sinceSpill = 0;
    }

    /** @return every count so far as one key-sorted run, backed by this object's buffers */
    private CountTable.SortedEntries drainSorted() {
        int n = 0;
        for (CountTable t : tables) {
            n += t.size();
        }
        if (drainKeys.length < n) {
            drainKeys = new long[n];
            drainCounts = new int[n];
            auxKeys = new long[n];
            auxCounts = new int[n];
        }
        int pos = 0;
        for (CountTable t : tables) {
            pos = t.copyTo(drainKeys, drainCounts, pos);
        }
        RadixSort.sort(drainKeys, drainCounts, n, auxKeys, auxCounts);
        return new CountTable.SortedEntries(drainKeys, drainCounts, n);
    }

    /**
     * Counts the buffered keys and returns what remains in memory as a key-sorted run; the object
     * must not be used afterwards.
     */
    CountTable.SortedEntries finish() throws IOException {
        flush();
        CountTable.SortedEntries rest = drainSorted();
        for (int p = 0; p < tables.length; p++) {
            tables[p] = null;
        }
        auxKeys = null;
        auxCounts = null;
        scattered = null;
        return rest;
    }
}

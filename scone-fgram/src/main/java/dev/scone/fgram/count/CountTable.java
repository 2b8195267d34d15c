package dev.scone.fgram.count;

import java.util.Arrays;

/**
 * A growable open-addressing table from non-negative long keys to int counts (linear probing,
 * -1 marks an empty slot): one partition of a worker's {@link PartitionedCounts}. Not thread-safe.
 */
final class CountTable {

    static final long EMPTY = -1L;
    /** Bytes per slot: a long key and an int count. */
    static final int SLOT_BYTES = 12;
    static final int MIN_CAPACITY = 1 << 10;
    private static final int LOAD_NUM = 7;
    private static final int LOAD_DEN = 10;

    private long[] keys;
    private int[] counts;
    private int mask;
    private int size;
    private int maxFill;

    CountTable(int capacity) {
        allocate(capacity);
    }

    private void allocate(int capacity) {
        keys = new long[capacity];
        Arrays.fill(keys, EMPTY);
        counts = new int[capacity];
        mask = capacity - 1;
        maxFill = (int) ((long) capacity * LOAD_NUM / LOAD_DEN);
        size = 0;
    }

    /** @return a well-mixed 64-bit hash of the key */
    static long hash64(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        h ^= h >>> 32;
        h *= 0xD6E8FEB86659FD93L;
        h ^= h >>> 29;
        return h;
    }

    /** @return the low 32 bits of {@link #hash64} */
    static int mix(long key) {
        return (int) hash64(key);
    }

    /**
     * Adds one to the key's count.
     *
     * @return true when the table has reached its fill limit and must grow or be flushed
     */
    boolean increment(long key) {
        int slot = mix(key) & mask;
        long[] k = keys;
        while (true) {
            long e = k[slot];
            if (e == key) {
                counts[slot]++;
                return false;
            }
            if (e == EMPTY) {
                k[slot] = key;
                counts[slot] = 1;
                return ++size >= maxFill;
            }
            slot = (slot + 1) & mask;
        }
    }

    /**
     * Adds {@code count} to the key's count.
     *
     * @return true when the table has reached its fill limit and must grow
     */
    boolean add(long key, int count) {
        int slot = mix(key) & mask;
        long[] k = keys;
        while (true) {
            long e = k[slot];
            if (e == key) {
                counts[slot] += count;
                return false;
            }
            if (e == EMPTY) {
                k[slot] = key;
                counts[slot] = count;
                return ++size >= maxFill;
            }
            slot = (slot + 1) & mask;
        }
    }

    /** Adds every count of {@code other} to this table, growing it as needed. */
    void addAll(CountTable other) {
        long[] ok = other.keys;
        int[] oc = other.counts;
        for (int i = 0; i < ok.length; i++) {
            if (ok[i] != EMPTY && add(ok[i], oc[i])) {
                grow();
            }
        }
    }

    /**
     * Appends the entries whose count is at least {@code threshold} to the lists.
     *
     * @return the number of entries appended
     */
    int collect(int threshold, it.unimi.dsi.fastutil.longs.LongArrayList keysOut,
            it.unimi.dsi.fastutil.longs.LongArrayList countsOut) {
        int added = 0;
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != EMPTY && counts[i] >= threshold) {
                keysOut.add(keys[i]);
                countsOut.add(counts[i]);
                added++;
            }
        }
        return added;
    }

    int size() {
        return size;
    }

    int capacity() {
        return keys.length;
    }

    /** Doubles the capacity, rehashing every entry. */
    void grow() {
        long[] oldKeys = keys;
        int[] oldCounts = counts;
        allocate(oldKeys.length * 2);
        int n = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            long key = oldKeys[i];
            if (key != EMPTY) {
                int slot = mix(key) & mask;
                while (keys[slot] != EMPTY) {
                    slot = (slot + 1) & mask;
                }
                keys[slot] = key;
                counts[slot] = oldCounts[i];
                n++;
            }
        }
        size = n;
    }

    /**
     * Copies the entries (in table order) to {@code keysOut}/{@code countsOut} from {@code pos}.
     *
     * @return the position after the last entry copied
     */
    int copyTo(long[] keysOut, int[] countsOut, int pos) {
        for (int i = 0; i < keys.length; i++) {
            long key = keys[i];
            if (key != EMPTY) {
                keysOut[pos] = key;
                countsOut[pos] = counts[i];
                pos++;
            }
        }
        return pos;
    }

    /** Empties the table and gives it {@code capacity} slots (a power of two). */
    void reset(int capacity) {
        if (capacity == keys.length) {
            clearAfterDrain();
        } else {
            allocate(capacity);
        }
    }

    /** Empties the table, keeping its capacity. */
    void clearAfterDrain() {
        Arrays.fill(keys, EMPTY);
        size = 0;
    }

    /** Key-sorted entries: keys[0..size) ascending, counts alongside. */
    record SortedEntries(long[] keys, int[] counts, int size) {}
}

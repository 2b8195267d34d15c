package dev.scone.fgram.count;

import java.util.Arrays;

/**
 * A growable open-addressing table from non-negative long keys to int counts (linear probing,
 * -1 marks an empty slot). One per worker thread; not thread-safe. Its entries can be compacted
 * and sorted by key in place to become a sorted run.
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

    static int mix(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        h ^= h >>> 32;
        h *= 0xD6E8FEB86659FD93L;
        h ^= h >>> 29;
        return (int) h;
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

    int size() {
        return size;
    }

    int capacity() {
        return keys.length;
    }

    /** @return bytes a table of this capacity uses together with the sort buffer of a flush */
    static long footprint(int capacity) {
        return (long) capacity * SLOT_BYTES + (long) capacity * LOAD_NUM / LOAD_DEN * SLOT_BYTES;
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
     * Moves the entries to the front of the table's arrays and sorts them by key, using
     * {@code auxKeys}/{@code auxCounts} (at least {@link #size()} long) as scratch. The result is
     * backed by the table's arrays: valid until the table is cleared or used again.
     */
    SortedEntries drainSorted(long[] auxKeys, int[] auxCounts) {
        int n = 0;
        for (int i = 0; i < keys.length; i++) {
            long key = keys[i];
            if (key != EMPTY) {
                keys[n] = key;
                counts[n] = counts[i];
                n++;
            }
        }
        RadixSort.sort(keys, counts, n, auxKeys, auxCounts);
        return new SortedEntries(keys, counts, n);
    }

    /** Empties the table, keeping its capacity; call after the drained entries were consumed. */
    void clearAfterDrain() {
        Arrays.fill(keys, EMPTY);
        size = 0;
    }

    /** Key-sorted entries: keys[0..size) ascending, counts alongside. */
    record SortedEntries(long[] keys, int[] counts, int size) {}
}

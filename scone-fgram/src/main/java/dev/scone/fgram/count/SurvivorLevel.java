package dev.scone.fgram.count;

import java.util.Arrays;

/**
 * The n-grams of one length that survived their scan, in ascending key order. A survivor's index
 * in this order is its id at this level; because keys are (prefix id, last token) and prefix ids
 * are themselves in token-lexicographic order, index order is lexicographic order of the
 * n-grams' tokens. The lookup table (key to index) is built only when a later scan needs it.
 */
final class SurvivorLevel {

    final int n;
    final long[] keys;
    final long[] counts;
    final int size;
    private long[] tableKeys;
    private int[] tableIndex;
    private int mask;

    SurvivorLevel(int n, long[] keys, long[] counts, int size) {
        this.n = n;
        this.keys = keys;
        this.counts = counts;
        this.size = size;
    }

    /** Builds the key-to-index table (load at most 1/2). */
    void buildIndex() {
        if (tableKeys != null) {
            return;
        }
        int cap = Integer.highestOneBit(Math.max(16, size) - 1) << 2;
        tableKeys = new long[cap];
        Arrays.fill(tableKeys, CountTable.EMPTY);
        tableIndex = new int[cap];
        mask = cap - 1;
        for (int i = 0; i < size; i++) {
            int slot = CountTable.mix(keys[i]) & mask;
            while (tableKeys[slot] != CountTable.EMPTY) {
                slot = (slot + 1) & mask;
            }
            tableKeys[slot] = keys[i];
            tableIndex[slot] = i;
        }
    }

    /** Drops the lookup table once no later scan needs it. */
    void dropIndex() {
        tableKeys = null;
        tableIndex = null;
    }

    /** @return the survivor index of {@code key}, or -1 */
    int indexOf(long key) {
        long[] tk = tableKeys;
        int slot = CountTable.mix(key) & mask;
        while (true) {
            long e = tk[slot];
            if (e == key) {
                return tableIndex[slot];
            }
            if (e == CountTable.EMPTY) {
                return -1;
            }
            slot = (slot + 1) & mask;
        }
    }

    long heapBytes() {
        long b = 16L * keys.length;
        if (tableKeys != null) {
            b += 12L * tableKeys.length;
        }
        return b;
    }
}

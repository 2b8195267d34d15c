package dev.scone.spark.count;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;

/**
 * An open-addressing table from n-grams of one length (n token ids each, stored flat) to counts,
 * growing as needed: the counts of the join strategy's scans whose n-grams have no packed key,
 * and the n-gram sets its joins probe. Not thread-safe.
 */
final class TupleTable {

    private final int n;
    private int[] tokens;
    private long[] counts; // 0 = empty slot
    private int mask;
    private int size;
    private int maxFill;

    TupleTable(int n, int expected) {
        this.n = n;
        allocate(Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1);
    }

    private void allocate(int capacity) {
        tokens = new int[Math.multiplyExact(capacity, n)];
        counts = new long[capacity];
        mask = capacity - 1;
        maxFill = (int) (capacity * 0.7);
        size = 0;
    }

    int size() {
        return size;
    }

    /** Adds {@code count} (at least 1) to the n-gram {@code seq[from .. from + n)}. */
    void add(int[] seq, int from, long count) {
        int slot = (int) FgramVocabulary.hash(seq, from, n) & mask;
        while (true) {
            long c = counts[slot];
            if (c == 0) {
                System.arraycopy(seq, from, tokens, slot * n, n);
                counts[slot] = count;
                if (++size >= maxFill) {
                    grow();
                }
                return;
            }
            if (Arrays.equals(tokens, slot * n, slot * n + n, seq, from, from + n)) {
                counts[slot] = c + count;
                return;
            }
            slot = (slot + 1) & mask;
        }
    }

    /** Adds every n-gram of a tuple-form block. */
    void addAll(GramBlock b) {
        for (int i = 0; i < b.size; i++) {
            add(b.tokens, i * n, b.counts[i]);
        }
    }

    /** @return whether {@code seq[from .. from + n)} is in the table */
    boolean contains(int[] seq, int from) {
        int slot = (int) FgramVocabulary.hash(seq, from, n) & mask;
        while (true) {
            if (counts[slot] == 0) {
                return false;
            }
            if (Arrays.equals(tokens, slot * n, slot * n + n, seq, from, from + n)) {
                return true;
            }
            slot = (slot + 1) & mask;
        }
    }

    private void grow() {
        int[] oldTokens = tokens;
        long[] oldCounts = counts;
        allocate(oldCounts.length * 2);
        for (int s = 0; s < oldCounts.length; s++) {
            if (oldCounts[s] != 0) {
                add(oldTokens, s * n, oldCounts[s]);
            }
        }
    }

    /** @return the n-grams counted at least {@code threshold} times, as a tuple-form block (unsorted) */
    GramBlock atLeast(long threshold) {
        int m = 0;
        for (long c : counts) {
            if (c >= threshold) {
                m++;
            }
        }
        int[] t = new int[m * n];
        long[] c = new long[m];
        int k = 0;
        for (int s = 0; s < counts.length; s++) {
            if (counts[s] >= threshold && counts[s] != 0) {
                System.arraycopy(tokens, s * n, t, k * n, n);
                c[k++] = counts[s];
            }
        }
        return GramBlock.ofTuples(n, t, c, k);
    }
}

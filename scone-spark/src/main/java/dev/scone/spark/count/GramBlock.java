package dev.scone.spark.count;

import dev.scone.fgram.count.DistributedScan;
import dev.scone.fgram.vocab.FgramVocabulary;
import it.unimi.dsi.fastutil.ints.IntArrays;
import java.io.Serializable;
import java.util.Arrays;

/**
 * A block of n-grams of one length with counts: the unit the counting job shuffles and persists
 * (one block per task and target partition, or per level partition), never one object per n-gram.
 * Either in key form ({@link DistributedScan}'s long keys: packed tokens, or (prefix survivor
 * index, last token)) or in tuple form (n token ids each).
 */
final class GramBlock implements Serializable {

    private static final long serialVersionUID = 1L;

    final int n;
    final int size;
    /** Key form: the keys; null in tuple form. */
    final long[] keys;
    /** Tuple form: size * n token ids; null in key form. */
    final int[] tokens;
    final long[] counts;

    private GramBlock(int n, int size, long[] keys, int[] tokens, long[] counts) {
        this.n = n;
        this.size = size;
        this.keys = keys;
        this.tokens = tokens;
        this.counts = counts;
    }

    /** @return a key-form block over {@code keys[0..size)} (arrays taken, not copied) */
    static GramBlock ofKeys(int n, long[] keys, long[] counts, int size) {
        return new GramBlock(n, size, keys, null, counts);
    }

    /** @return a tuple-form block over {@code tokens[0..size * n)} (arrays taken, not copied) */
    static GramBlock ofTuples(int n, int[] tokens, long[] counts, int size) {
        return new GramBlock(n, size, null, tokens, counts);
    }

    boolean keyForm() {
        return keys != null;
    }

    /**
     * @param levels the levels that unpacked keys of this length need (from {@link LevelHandles}),
     *     or null for packed keys and tuple-form blocks
     * @return the same n-grams in tuple form (this block when it is already)
     */
    GramBlock toTuples(DistributedScan scan, DistributedScan.Level[] levels) {
        if (!keyForm()) {
            return this;
        }
        int[] t = new int[size * n];
        DistributedScan.Decoder decoder = size == 0 ? null : scan.decoder(n, levels);
        for (int i = 0; i < size; i++) {
            decoder.decode(keys[i], t, i * n);
        }
        return ofTuples(n, t, counts, size);
    }

    /** @return a copy in tuple form sorted lexicographically (this block when it has at most one entry) */
    GramBlock sortedTuples() {
        if (size < 2) {
            return this;
        }
        int[] order = new int[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        IntArrays.quickSort(order, (a, b) -> Arrays.compare(tokens, a * n, a * n + n, tokens, b * n, b * n + n));
        int[] t = new int[size * n];
        long[] c = new long[size];
        for (int i = 0; i < size; i++) {
            System.arraycopy(tokens, order[i] * n, t, i * n, n);
            c[i] = counts[order[i]];
        }
        return ofTuples(n, t, c, size);
    }

    /** @return the partition of {@code len} tokens from {@code seq[from]} among {@code partitions} */
    static int partitionOf(int[] seq, int from, int len, int partitions) {
        return (int) ((FgramVocabulary.hash(seq, from, len) >>> 1) % partitions);
    }

    /** Growable per-partition blocks of one length, in key or tuple form, for routing. */
    static final class Router {
        private final int n;
        private final boolean tuples;
        private final long[][] keys;
        private final int[][] toks;
        private final long[][] counts;
        private final int[] sizes;

        Router(int n, int partitions, boolean tuples) {
            this.n = n;
            this.tuples = tuples;
            this.keys = tuples ? null : new long[partitions][];
            this.toks = tuples ? new int[partitions][] : null;
            this.counts = new long[partitions][];
            this.sizes = new int[partitions];
        }

        private int room(int p) {
            int s = sizes[p];
            if (counts[p] == null || s == counts[p].length) {
                int cap = counts[p] == null ? 64 : Math.toIntExact(Math.min(Integer.MAX_VALUE - 8L, 2L * s));
                counts[p] = counts[p] == null ? new long[cap] : Arrays.copyOf(counts[p], cap);
                if (tuples) {
                    toks[p] = toks[p] == null ? new int[cap * n] : Arrays.copyOf(toks[p], Math.multiplyExact(cap, n));
                } else {
                    keys[p] = keys[p] == null ? new long[cap] : Arrays.copyOf(keys[p], cap);
                }
            }
            return s;
        }

        void addKey(int p, long key, long count) {
            int s = room(p);
            keys[p][s] = key;
            counts[p][s] = count;
            sizes[p] = s + 1;
        }

        void addTuple(int p, int[] seq, int from, long count) {
            int s = room(p);
            System.arraycopy(seq, from, toks[p], s * n, n);
            counts[p][s] = count;
            sizes[p] = s + 1;
        }

        /** @return the non-empty blocks as (partition, block) */
        java.util.List<scala.Tuple2<Integer, GramBlock>> blocks() {
            java.util.List<scala.Tuple2<Integer, GramBlock>> out = new java.util.ArrayList<>();
            for (int p = 0; p < sizes.length; p++) {
                if (sizes[p] > 0) {
                    out.add(new scala.Tuple2<>(p, tuples ? ofTuples(n, toks[p], counts[p], sizes[p])
                            : ofKeys(n, keys[p], counts[p], sizes[p])));
                }
            }
            return out;
        }
    }
}

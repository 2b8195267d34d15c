package dev.scone.spark.count;

import it.unimi.dsi.fastutil.longs.Long2LongOpenHashMap;
import java.io.Serializable;

/**
 * What the driver learns from one block of a pass's survivors in the pass's one action: how many,
 * their count histogram (for the top-S cut), and their keys when a later pass may broadcast them.
 */
final class LevelSummary implements Serializable {

    private static final long serialVersionUID = 1L;

    final long size;
    /** (count, how many) pairs. */
    final long[] histogram;
    /** The block's keys (packed when in tuple form), or null when not sent. */
    final long[] keys;

    private LevelSummary(long size, long[] histogram, long[] keys) {
        this.size = size;
        this.histogram = histogram;
        this.keys = keys;
    }

    static LevelSummary of(GramBlock b, long[] keys) {
        Long2LongOpenHashMap h = new Long2LongOpenHashMap();
        for (int i = 0; i < b.size; i++) {
            h.addTo(b.counts[i], 1);
        }
        long[] out = new long[2 * h.size()];
        int k = 0;
        for (Long2LongOpenHashMap.Entry e : h.long2LongEntrySet()) {
            out[k++] = e.getLongKey();
            out[k++] = e.getLongValue();
        }
        return new LevelSummary(b.size, out, keys);
    }
}

package dev.scone.spark.count;

import java.io.Serializable;
import java.util.Arrays;

/**
 * One selected f-gram on its way to its rank: its tokens and its count, ordered as the
 * single-machine counter ranks f-grams (count descending, then length ascending, then token ids
 * lexicographically), so that sorting the selection gives the vocabulary's id order.
 */
final class RankedFgram implements Comparable<RankedFgram>, Serializable {

    private static final long serialVersionUID = 1L;

    final long count;
    final int[] tokens;

    RankedFgram(long count, int[] tokens) {
        this.count = count;
        this.tokens = tokens;
    }

    @Override
    public int compareTo(RankedFgram o) {
        int c = Long.compare(o.count, count);
        if (c != 0) {
            return c;
        }
        c = Integer.compare(tokens.length, o.tokens.length);
        return c != 0 ? c : Arrays.compare(tokens, o.tokens);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RankedFgram r && r.count == count && Arrays.equals(r.tokens, tokens);
    }

    @Override
    public int hashCode() {
        return 31 * Long.hashCode(count) + Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return Arrays.toString(tokens) + " x" + count;
    }
}

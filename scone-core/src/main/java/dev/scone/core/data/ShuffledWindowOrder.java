package dev.scone.core.data;

import java.util.Random;

/**
 * A deterministic, seeded order over the windows of a dataset, epoch after epoch: position
 * {@code p} of the stream is window {@code perm_e[p mod W]} of epoch {@code e = p / W}, where
 * {@code perm_e} is a shuffle drawn from a {@link Random} seeded by the seed and {@code e}. The
 * order depends only on (seed, W), so a training run resumed at position p sees the same windows
 * as one that never stopped; the position is all the state there is.
 */
public final class ShuffledWindowOrder {

    private final int windowCount;
    private final long seed;
    private long cachedEpoch = -1;
    private int[] permutation;

    /**
     * @param windowCount W, in [1, Integer.MAX_VALUE]
     * @param seed the shuffling seed
     * @throws IllegalArgumentException when W is out of range
     */
    public ShuffledWindowOrder(long windowCount, long seed) {
        if (windowCount < 1 || windowCount > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("windowCount must be in [1, " + Integer.MAX_VALUE + "], got " + windowCount);
        }
        this.windowCount = (int) windowCount;
        this.seed = seed;
    }

    /** @return W */
    public int windowCount() {
        return windowCount;
    }

    /**
     * @param position a stream position, &gt;= 0
     * @return the window at that position
     */
    public long windowAt(long position) {
        if (position < 0) {
            throw new IllegalArgumentException("position must be >= 0, got " + position);
        }
        long epoch = position / windowCount;
        if (epoch != cachedEpoch) {
            permutation = permutation(epoch);
            cachedEpoch = epoch;
        }
        return permutation[(int) (position % windowCount)];
    }

    /**
     * @param position the first stream position
     * @param count how many consecutive positions
     * @return their windows
     */
    public long[] windows(long position, int count) {
        long[] out = new long[count];
        for (int i = 0; i < count; i++) {
            out[i] = windowAt(position + i);
        }
        return out;
    }

    private int[] permutation(long epoch) {
        int[] p = new int[windowCount];
        for (int i = 0; i < windowCount; i++) {
            p[i] = i;
        }
        Random rnd = new Random(seed * 0x9E3779B97F4A7C15L + epoch);
        for (int i = windowCount - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}

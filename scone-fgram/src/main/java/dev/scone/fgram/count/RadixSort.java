package dev.scone.fgram.count;

/** LSD radix sort of non-negative long keys with int values alongside, 8 or 16 bits a pass. */
final class RadixSort {

    private RadixSort() {}

    /**
     * Sorts {@code keys[0..n)} ascending, moving {@code values} alongside. Keys must be distinct or
     * not: the sort is stable. {@code auxKeys}/{@code auxValues} must hold at least n entries.
     */
    static void sort(long[] keys, int[] values, int n, long[] auxKeys, int[] auxValues) {
        if (n < 2) {
            return;
        }
        long or = 0;
        long and = -1L;
        for (int i = 0; i < n; i++) {
            or |= keys[i];
            and &= keys[i];
        }
        long varying = or ^ and; // bits that differ between some keys
        long[] srcK = keys;
        int[] srcV = values;
        long[] dstK = auxKeys;
        int[] dstV = auxValues;
        int digitBits = n >= (1 << 17) ? 16 : 8; // wide digits halve the passes once n dwarfs the histogram
        int digitMask = (1 << digitBits) - 1;
        int[] count = new int[1 << digitBits];
        for (int shift = 0; shift < 64; shift += digitBits) {
            if (((varying >>> shift) & digitMask) == 0) {
                continue;
            }
            java.util.Arrays.fill(count, 0);
            for (int i = 0; i < n; i++) {
                count[(int) (srcK[i] >>> shift) & digitMask]++;
            }
            int sum = 0;
            for (int b = 0; b < count.length; b++) {
                int c = count[b];
                count[b] = sum;
                sum += c;
            }
            for (int i = 0; i < n; i++) {
                long k = srcK[i];
                int pos = count[(int) (k >>> shift) & digitMask]++;
                dstK[pos] = k;
                dstV[pos] = srcV[i];
            }
            long[] tk = srcK;
            srcK = dstK;
            dstK = tk;
            int[] tv = srcV;
            srcV = dstV;
            dstV = tv;
        }
        if (srcK != keys) {
            System.arraycopy(srcK, 0, keys, 0, n);
            System.arraycopy(srcV, 0, values, 0, n);
        }
    }
}

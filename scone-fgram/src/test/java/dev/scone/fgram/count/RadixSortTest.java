package dev.scone.fgram.count;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RadixSortTest {

    @Test
    void sortsKeysAndCarriesValues() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int trial = 0; trial < 50; trial++) {
            int n = trial % 10 == 9 ? 200_000 + rnd.nextInt(1000) : rnd.nextInt(3000); // both digit widths
            long bound = trial % 3 == 0 ? 100 : trial % 3 == 1 ? Long.MAX_VALUE : 1L << 40;
            long[] keys = rnd.longs(n, 0, bound).distinct().toArray();
            n = keys.length;
            int[] values = new int[n];
            for (int i = 0; i < n; i++) {
                values[i] = (int) (keys[i] * 31 + 7);
            }
            long[] expected = keys.clone();
            Arrays.sort(expected);
            RadixSort.sort(keys, values, n, new long[n], new int[n]);
            assertArrayEquals(expected, keys);
            for (int i = 0; i < n; i++) {
                values[i] -= (int) (keys[i] * 31 + 7);
            }
            assertArrayEquals(new int[n], values);
        }
    }
}

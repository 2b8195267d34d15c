package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The store's parts without Chronicle Map: dtype codecs, key codec, filter. */
class StorePartsTest {

    @Test
    void bfloat16RoundsToNearestEven() {
        // 1 + 2^-8 is exactly half way between bf16 1.0 and 1 + 2^-7: ties to even (1.0)
        assertEquals(1.0f, VectorDtype.fromBfloat16(VectorDtype.toBfloat16(1f + 0x1p-8f)));
        // 1 + 3 * 2^-8 is half way between 1 + 2^-7 (odd) and 1 + 2^-6 (even)
        assertEquals(1f + 0x1p-6f, VectorDtype.fromBfloat16(VectorDtype.toBfloat16(1f + 3 * 0x1p-8f)));
        assertEquals(1f + 0x1p-7f, VectorDtype.fromBfloat16(VectorDtype.toBfloat16(1f + 0x1p-8f + 0x1p-20f)));
        assertEquals(-2.5f, VectorDtype.fromBfloat16(VectorDtype.toBfloat16(-2.5f)));
        assertTrue(Float.isNaN(VectorDtype.fromBfloat16(VectorDtype.toBfloat16(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, VectorDtype.fromBfloat16(VectorDtype.toBfloat16(Float.MAX_VALUE)));
    }

    @Test
    void dtypesRoundTripWithinTheirBounds() {
        Random r = new Random(3);
        int d = 37;
        for (VectorDtype dtype : VectorDtype.values()) {
            ByteBuffer b = ByteBuffer.allocate(dtype.vectorBytes(d) + 3).order(ByteOrder.LITTLE_ENDIAN);
            for (int trial = 0; trial < 200; trial++) {
                float[] v = new float[d];
                double scale = Math.pow(10, r.nextInt(9) - 4);
                for (int k = 0; k < d; k++) {
                    v[k] = (float) (r.nextGaussian() * scale);
                }
                float[] out = new float[d + 1];
                dtype.encode(v, 0, d, b, 3);
                dtype.decode(b, 3, d, out, 1);
                float max = 0;
                for (float x : v) {
                    max = Math.max(max, Math.abs(x));
                }
                for (int k = 0; k < d; k++) {
                    float err = Math.abs(out[k + 1] - v[k]);
                    float bound = switch (dtype) {
                        case FLOAT32 -> 0f;
                        case BFLOAT16 -> Math.scalb(Math.abs(v[k]), -8);
                        case INT8 -> max / 127f / 2 + Math.scalb(max, -22);
                    };
                    assertTrue(err <= bound, dtype + " element " + k + ": " + v[k] + " -> " + out[k + 1]);
                }
            }
        }
    }

    @Test
    void keyEncodingIsInjectiveAcrossLengthsAndDecodes() {
        Random r = new Random(4);
        for (int vocabSize : new int[] {2, 3, 255, 256, 5000, 50257, Integer.MAX_VALUE}) {
            FgramKeyCodec codec = new FgramKeyCodec(vocabSize, 6);
            Map<String, int[]> seen = new HashMap<>();
            for (int trial = 0; trial < 3000; trial++) {
                int n = 2 + r.nextInt(5);
                int[] g = new int[n];
                for (int k = 0; k < n; k++) {
                    g[k] = trial % 3 == 0 ? r.nextInt(Math.min(vocabSize, 3)) : r.nextInt(vocabSize);
                }
                byte[] key = new byte[codec.keyBytes(n)];
                codec.encode(g, 0, n, key);
                int[] prev = seen.put(Arrays.toString(key), g);
                if (prev != null) {
                    assertArrayEquals(prev, g, "two f-grams share key " + Arrays.toString(key));
                }
                assertArrayEquals(g, codec.decode(key));
            }
        }
        FgramKeyCodec codec = new FgramKeyCodec(5000, 4);
        assertNull(codec.decode(new byte[] {0, 0, 0, 0})); // zero digits are never a key
    }

    @Test
    void filterHasNoFalseNegativesAndFewFalsePositives() {
        int n = 50_000;
        FgramBloomFilter f = FgramBloomFilter.forEntries(n);
        Random r = new Random(5);
        long[] keys = new long[n];
        int[] g = new int[3];
        for (int i = 0; i < n; i++) {
            g[0] = i;
            g[1] = r.nextInt(1000);
            g[2] = 7;
            keys[i] = FgramVocabulary.hash(g, 0, 3);
            f.add(keys[i]);
        }
        for (long k : keys) {
            assertTrue(f.mightContain(k));
        }
        int fp = 0;
        for (int i = 0; i < 100_000; i++) {
            g[0] = n + i;
            if (f.mightContain(FgramVocabulary.hash(g, 0, 3))) {
                fp++;
            }
        }
        assertTrue(fp < 2000, "false positive rate " + fp / 1e5);
        assertNotEquals(0, fp + 1);
    }
}

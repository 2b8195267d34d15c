package dev.scone.fgram.vocab;

import static dev.scone.fgram.vocab.FgramVocabularyFileTest.reference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FgramVocabularyTest {

    /**
     * The builder's small-scale settings drive the same code as 2^31 - 1 f-grams would: blocks of
     * one f-gram and more, buffers of a few bytes (one per block) and index arrays of four slots.
     */
    @Test
    void everyLayoutSettingHoldsTheSameVocabulary() {
        SplittableRandom r = new SplittableRandom(1);
        for (int trial = 0; trial < 10; trial++) {
            FgramVocabularyFileTest.Reference ref = reference(200 + trial, trial == 0 ? 0 : 1 + r.nextInt(2000));
            FgramVocabulary expected = ref.vocabulary();
            for (int bits : new int[] {0, 1, 5, BlockLayout.DEFAULT_BLOCK_BITS}) {
                for (long segment : new long[] {1, 64, 1 << 12}) {
                    FgramVocabulary.Builder b = new FgramVocabulary.Builder(ref.tokenVocabularySize(), ref.maxN(), bits,
                            segment, 2);
                    for (int id = 0; id < ref.fgrams().size(); id++) {
                        b.add(ref.fgrams().get(id), ref.counts()[id]);
                    }
                    FgramVocabulary v = b.build();
                    String what = "trial " + trial + " bits " + bits + " segment " + segment;
                    ref.assertHeldBy(v, 0, v.size(), what);
                    assertEquals(expected, v, what);
                    assertEquals(expected.fingerprint(), v.fingerprint(), what);
                    for (int id = 0; id < v.size(); id++) {
                        assertEquals(id, v.find(ref.fgrams().get(id)), what);
                    }
                    for (int k = 0; k < 50; k++) { // absent sequences, against brute force
                        int[] g = r.ints(2 + r.nextInt(ref.maxN() - 1), 0, ref.tokenVocabularySize()).toArray();
                        int brute = -1;
                        for (int id = 0; id < ref.fgrams().size() && brute < 0; id++) {
                            brute = Arrays.equals(g, ref.fgrams().get(id)) ? id : -1;
                        }
                        assertEquals(brute, v.find(g), what);
                    }
                }
            }
        }
    }

    @Test
    void anFgramTwiceIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FgramVocabulary.of(10, 3,
                List.of(new int[] {1, 2}, new int[] {2, 3, 4}, new int[] {1, 2}), new long[] {3, 2, 1}));
        assertEquals("f-gram [1, 2] appears twice (ids 0 and 2)", e.getMessage());
    }

    @Test
    void badRecordsAreRefusedNamingTheFgram() {
        assertEquals("f-gram 1 has length 1, outside [2, 3]", assertThrows(IllegalArgumentException.class,
                () -> FgramVocabulary.of(10, 3, List.of(new int[] {1, 2}, new int[] {2}), new long[] {3, 2}))
                .getMessage());
        assertEquals("f-gram 0 has negative count -1", assertThrows(IllegalArgumentException.class,
                () -> FgramVocabulary.of(10, 3, List.of(new int[] {1, 2}), new long[] {-1})).getMessage());
        assertEquals("f-gram 0 has token id -4 outside the token vocabulary [0, 10)",
                assertThrows(IllegalArgumentException.class,
                        () -> FgramVocabulary.of(10, 3, List.of(new int[] {1, -4}), new long[] {1})).getMessage());
        assertEquals("offsets do not describe 1 f-grams over 3 tokens", assertThrows(IllegalArgumentException.class,
                () -> FgramVocabulary.of(10, 3, new int[] {0, 2}, new int[] {1, 2, 3}, new long[] {1})).getMessage());
        assertEquals("offsets decrease at f-gram 1 (3, then 2)", assertThrows(IllegalArgumentException.class,
                () -> FgramVocabulary.of(10, 3, new int[] {0, 3, 2, 2}, new int[] {1, 2}, new long[] {1, 1, 1}))
                .getMessage());
        assertEquals("maxN (K) must be >= 2, got 1",
                assertThrows(IllegalArgumentException.class, () -> FgramVocabulary.builder(10, 1)).getMessage());
        assertEquals("token vocabulary size must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> FgramVocabulary.builder(0, 3)).getMessage());
        FgramVocabulary.Builder b = FgramVocabulary.builder(10, 3).add(new int[] {1, 2}, 1);
        assertEquals(1, b.size());
        b.build();
        assertThrows(IllegalStateException.class, () -> b.add(new int[] {2, 3}, 1));
        assertThrows(IllegalStateException.class, b::build);
    }

    @Test
    void accessorsCheckTheirArguments() {
        FgramVocabulary v = FgramVocabulary.of(10, 3, List.of(new int[] {1, 2}, new int[] {2, 3, 4}), new long[] {3, 2});
        assertThrows(IndexOutOfBoundsException.class, () -> v.length(2));
        assertThrows(IndexOutOfBoundsException.class, () -> v.count(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> v.token(1, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> v.token(0, -1));
        assertThrows(IndexOutOfBoundsException.class, () -> v.copyTokens(1, new int[4], 2));
        assertThrows(IndexOutOfBoundsException.class, () -> v.cursor(1, 3));
        assertEquals(-1, v.find(1));
        assertEquals(-1, v.find(1, 2, 3, 4));
        assertEquals(1, v.find(new int[] {9, 2, 3, 4}, 1, 3));
        FgramVocabulary.Cursor c = v.cursor();
        assertThrows(IllegalStateException.class, c::id);
        assertTrue(c.next());
        assertTrue(c.next());
        assertEquals(1, c.id());
        assertFalse(c.next());
        assertThrows(IllegalStateException.class, c::length);
        assertTrue(v.isWhole());
        assertFalse(v.isMapped());
        assertEquals("FgramVocabulary[size=2, maxN=3, tokenVocabularySize=10]", v.toString());
    }

    @Test
    void equalityIsByContent() {
        FgramVocabulary a = FgramVocabulary.of(10, 3, List.of(new int[] {1, 2}, new int[] {2, 3, 4}), new long[] {3, 2});
        FgramVocabulary b = FgramVocabulary.of(10, 3, List.of(new int[] {1, 2}, new int[] {2, 3, 4}), new long[] {3, 2});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, FgramVocabulary.of(10, 3, List.of(new int[] {1, 2}, new int[] {2, 3, 4}), new long[] {3, 1}));
        assertNotEquals(a, FgramVocabulary.of(11, 3, List.of(new int[] {1, 2}, new int[] {2, 3, 4}), new long[] {3, 2}));
        assertNotEquals(a, FgramVocabulary.of(10, 3, List.of(new int[] {2, 3, 4}, new int[] {1, 2}), new long[] {3, 2}));
    }
}

package dev.scone.fgram.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PositionEmbeddingBlockTest {

    @Test
    void addsRowTOfTheTableAtPositionT() {
        try (NDManager m = NDManager.newBaseManager()) {
            PositionEmbeddingBlock b = new PositionEmbeddingBlock(5, 4);
            b.initialize(m, DataType.FLOAT32, new Shape(2, 3, 4));
            ParameterStore ps = new ParameterStore(m, false);
            float[] table = b.positions().getArray().toFloatArray();
            assertEquals(20, table.length);
            float std = (float) Math.sqrt(Arrays.stream(toDouble(table)).map(v -> v * v).sum() / table.length);
            assertTrue(std > 0.005f && std < 0.05f, "initialised from N(0, 0.02): RMS " + std);

            float[] x = new float[2 * 3 * 4];
            for (int i = 0; i < x.length; i++) {
                x[i] = i;
            }
            float[] y = b.forward(ps, new NDList(m.create(x, new Shape(2, 3, 4))), false).singletonOrThrow()
                    .toFloatArray();
            for (int row = 0; row < 2; row++) {
                for (int t = 0; t < 3; t++) {
                    for (int e = 0; e < 4; e++) {
                        int i = (row * 3 + t) * 4 + e;
                        assertEquals(x[i] + table[t * 4 + e], y[i], 0f, "row " + row + ", position " + t);
                    }
                }
            }
            assertArrayEquals(new Shape[] {new Shape(2, 3, 4)}, b.getOutputShapes(new Shape[] {new Shape(2, 3, 4)}));

            NDArray tooLong = m.zeros(new Shape(1, 6, 4));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> b.forward(ps, new NDList(tooLong), false));
            assertEquals("sequence length 6 is outside [1, 5] (the position table's length)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> b.forward(ps, new NDList(m.zeros(new Shape(1, 2, 3))), false));
            assertEquals("expected (..., T, 4) vectors, got (1, 2, 3)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new PositionEmbeddingBlock(0, 4));
            assertEquals("a position table needs L >= 1 and E >= 1, got (0, 4)", e.getMessage());
        }
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }
}

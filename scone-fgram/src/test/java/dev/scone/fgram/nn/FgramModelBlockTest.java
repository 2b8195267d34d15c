package dev.scone.fgram.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Test;

class FgramModelBlockTest {

    private static final int E = 16;

    private static FgramModelBlock model(NDManager m, int maxN) {
        Engine.getInstance().setRandomSeed(7);
        FgramModelBlock block = new FgramModelBlock(FgramModelConfig.of(E, 2, 4, 32, maxN));
        block.initialize(m, DataType.FLOAT32, new Shape(1, maxN, E), new Shape(1));
        return block;
    }

    @Test
    void decoderStackIsCausal() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(3);
            DecoderStackBlock stack = new DecoderStackBlock(DecoderConfig.of(E, 2, 2, 24));
            stack.initialize(m, DataType.FLOAT32, new Shape(2, 6, E));
            ParameterStore ps = new ParameterStore(m, false);
            NDArray x = m.randomNormal(new Shape(2, 6, E));
            float[][] base = rows(stack.forward(ps, new NDList(x), false).singletonOrThrow());
            for (int t = 0; t < 6; t++) {
                NDArray changed = x.duplicate();
                changed.set(new NDIndex(":, {}, :", t), m.randomNormal(new Shape(2, E)));
                float[][] out = rows(stack.forward(ps, new NDList(changed), false).singletonOrThrow());
                for (int p = 0; p < 6; p++) {
                    boolean same = java.util.Arrays.equals(base[p], out[p]);
                    // Positions before t never change; t itself always does.
                    if (p < t) {
                        assertTrue(same, "changing position " + t + " changed output " + p);
                    } else if (p == t) {
                        assertTrue(!same, "changing position " + t + " did not change its own output");
                    }
                }
            }
        }
    }

    @Test
    void treeAttentionIsCausalAttentionPositionByPosition() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(5);
            DecoderStackBlock stack = new DecoderStackBlock(DecoderConfig.of(E, 2, 4, 24), true);
            int b = 3;
            int t = 5;
            stack.initialize(m, DataType.FLOAT32, new Shape(b, t, E));
            ParameterStore ps = new ParameterStore(m, false);
            NDArray x = m.randomNormal(new Shape(b, t, E));
            float[] sequential = stack.forward(ps, new NDList(x), false).singletonOrThrow().toFloatArray();
            // Position p of row r as a tree node whose path is positions 0..p of its row.
            long[] paths = new long[b * t * t];
            float[] mask = new float[b * t * t];
            for (int r = 0; r < b; r++) {
                for (int p = 0; p < t; p++) {
                    for (int j = 0; j < t; j++) {
                        int at = (r * t + p) * t + j;
                        paths[at] = j <= p ? r * t + j : r * t + p;
                        mask[at] = j <= p ? 0f : CausalSelfAttentionBlock.MASKED;
                    }
                }
            }
            float[] tree = stack.forwardTree(ps, x.reshape(b * t, 1, E), m.create(paths, new Shape(b * t, t)),
                    m.create(mask, new Shape(b * t, t, 1)), false).toFloatArray();
            assertArrayEquals(sequential, tree, 1e-5f);
        }
    }

    @Test
    void sharedPrefixesGiveEachFgramItsOwnVector() {
        try (NDManager m = NDManager.newBaseManager()) {
            FgramModelBlock block = model(m, 4);
            ParameterStore ps = new ParameterStore(m, false);
            int v = 9;
            NDArray table = m.randomNormal(new Shape(v, E)); // token embeddings
            // Sequences sharing prefixes, a repeat, and one that is a prefix of another.
            int[][] seqs = {{1, 2}, {1, 2, 3}, {1, 2, 3, 4}, {1, 5}, {6, 2, 3}, {1, 2}, {7}};
            int[] tokens = new int[seqs.length * 4];
            int[] lengths = new int[seqs.length];
            for (int i = 0; i < seqs.length; i++) {
                System.arraycopy(seqs[i], 0, tokens, i * 4, seqs[i].length);
                lengths[i] = seqs[i].length;
            }
            FgramPrefixTree tree = FgramPrefixTree.ofSequences(tokens, lengths, 4, v);
            assertEquals(9, tree.nodeCount(), "distinct prefixes: 1, 12, 123, 1234, 15, 6, 62, 623, 7");
            NDArray nodes = table.get(m.create(tree.nodeTokens()));
            float[] states = block.forwardTree(ps, nodes, tree, false).toFloatArray();
            float[] viaArrays = block.forward(ps, new NDList(nodes, m.create(tree.paths(), new Shape(9, 4))), false)
                    .singletonOrThrow().toFloatArray();
            assertArrayEquals(states, viaArrays, 0f);
            for (int i = 0; i < seqs.length; i++) {
                NDArray alone = table.get(m.create(seqs[i])).reshape(1, seqs[i].length, E);
                float[] want = block.forward(ps, new NDList(alone, m.create(new int[] {seqs[i].length})), false)
                        .singletonOrThrow().toFloatArray();
                int node = (int) tree.fgramNodes()[i];
                assertArrayEquals(want, java.util.Arrays.copyOfRange(states, node * E, (node + 1) * E), 1e-5f,
                        "sequence " + i);
            }
        }
    }

    @Test
    void badTreesAreRejectedPrecisely() {
        try (NDManager m = NDManager.newBaseManager()) {
            FgramModelBlock block = model(m, 3);
            ParameterStore ps = new ParameterStore(m, false);
            NDArray nodes = m.randomNormal(new Shape(2, E));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> block.forward(ps,
                    new NDList(nodes, m.create(new long[] {0, -1, 1, 0}, new Shape(2, 2))), false));
            assertTrue(e.getMessage().contains("path of node 1 does not end in the node itself"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> block.forward(ps,
                    new NDList(nodes, m.create(new long[] {0, -1, -1, 5, 1, -1}, new Shape(2, 3))), false));
            assertTrue(e.getMessage().contains("path of node 1 names node 5 of 2"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> block.forward(ps,
                    new NDList(nodes, m.create(new long[] {0, -1, -1, 1, -1, 1}, new Shape(2, 3))), false));
            assertTrue(e.getMessage().contains("path of node 1 continues after a -1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> block.forward(ps,
                    new NDList(nodes, m.zeros(new Shape(2, 4), DataType.INT64)), false));
            assertTrue(e.getMessage().contains("1 <= W <= 3 (K)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> block.forward(ps,
                    new NDList(nodes, m.zeros(new Shape(2, 2), DataType.FLOAT32)), false));
            assertTrue(e.getMessage().contains("paths must be int32 or int64"), e.getMessage());
        }
    }

    /** @return per position t, the (B * E) outputs concatenated */
    private static float[][] rows(NDArray y) {
        int b = (int) y.getShape().get(0);
        int t = (int) y.getShape().get(1);
        float[] all = y.toFloatArray();
        float[][] r = new float[t][b * E];
        for (int i = 0; i < b; i++) {
            for (int p = 0; p < t; p++) {
                System.arraycopy(all, (i * t + p) * E, r[p], i * E, E);
            }
        }
        return r;
    }

    @Test
    void outputIsLastRealPositionAndIgnoresPadding() {
        try (NDManager m = NDManager.newBaseManager()) {
            FgramModelBlock block = model(m, 4);
            ParameterStore ps = new ParameterStore(m, false);
            NDArray x = m.randomNormal(new Shape(3, 4, E));
            NDArray lengths = m.create(new int[] {2, 4, 3});
            float[] padded = block.forward(ps, new NDList(x, lengths), false).singletonOrThrow().toFloatArray();
            // Each f-gram alone, unpadded, gives the same vector (within float noise of other shapes).
            int[] len = {2, 4, 3};
            for (int u = 0; u < 3; u++) {
                NDArray alone = x.get(new NDIndex("{}:{}, 0:{}, :", u, u + 1, len[u]));
                float[] y = block.forward(ps, new NDList(alone, m.create(new int[] {len[u]})), false)
                        .singletonOrThrow().toFloatArray();
                assertArrayEquals(y, java.util.Arrays.copyOfRange(padded, u * E, (u + 1) * E), 1e-5f);
            }
            // Changing the padding changes nothing.
            NDArray repadded = x.duplicate();
            repadded.set(new NDIndex("0, 2:, :"), m.randomNormal(new Shape(2, E)));
            repadded.set(new NDIndex("2, 3:, :"), m.randomNormal(new Shape(1, E)));
            float[] again = block.forward(ps, new NDList(repadded, lengths), false).singletonOrThrow().toFloatArray();
            assertArrayEquals(padded, again, 0f);
            // Changing a real position that is not the last changes the output (it is read).
            NDArray earlier = x.duplicate();
            earlier.set(new NDIndex("1, 0, :"), m.randomNormal(new Shape(E)));
            float[] changed = block.forward(ps, new NDList(earlier, lengths), false).singletonOrThrow().toFloatArray();
            assertTrue(!java.util.Arrays.equals(java.util.Arrays.copyOfRange(padded, E, 2 * E),
                    java.util.Arrays.copyOfRange(changed, E, 2 * E)));
        }
    }

    @Test
    void outputShapeAndParameters() {
        try (NDManager m = NDManager.newBaseManager()) {
            FgramModelBlock block = model(m, 5);
            assertArrayEquals(new Shape[] {new Shape(7, E)},
                    block.getOutputShapes(new Shape[] {new Shape(7, 3, E), new Shape(7)}));
            assertEquals(new Shape(5, E), block.getParameters().get("positions").getArray().getShape());
            // The default output is the residual stream: no final norm.
            assertTrue(block.getParameters().keys().stream().noneMatch(k -> k.contains("finalNorm")));
            FgramModelBlock normed = new FgramModelBlock(FgramModelConfig.of(E, 2, 4, 32, 5)
                    .withOutput(FgramOutput.LAYER_NORM));
            normed.initialize(m, DataType.FLOAT32, new Shape(1, 5, E), new Shape(1));
            assertTrue(normed.getParameters().keys().stream().anyMatch(k -> k.contains("finalNorm")));
        }
    }

    @Test
    void initialisationFollowsGpt2() {
        try (NDManager m = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(9);
            DecoderStackBlock stack = new DecoderStackBlock(DecoderConfig.of(64, 2, 2, 256));
            stack.initialize(m, DataType.FLOAT32, new Shape(1, 4, 64));
            float residual = (float) (0.02 / Math.sqrt(4));
            for (var p : stack.getParameters()) {
                NDArray a = p.getValue().getArray();
                String name = p.getKey();
                if (name.endsWith("bias") || name.endsWith("beta")) {
                    assertEquals(0f, a.abs().max().getFloat(), name);
                } else if (name.endsWith("gamma")) {
                    assertEquals(1f, a.min().getFloat(), name);
                } else {
                    float std = a.sub(a.mean()).square().mean().sqrt().getFloat();
                    float expected = name.contains("output") || name.contains("feedForwardOut") ? residual : 0.02f;
                    assertEquals(expected, std, expected * 0.1f, name);
                }
            }
        }
    }

    @Test
    void badInputIsRejectedPrecisely() {
        try (NDManager m = NDManager.newBaseManager()) {
            FgramModelBlock block = model(m, 3);
            ParameterStore ps = new ParameterStore(m, false);
            NDArray tooLong = m.zeros(new Shape(2, 4, E));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> block.forward(ps, new NDList(tooLong, m.create(new int[] {2, 2})), false));
            assertTrue(e.getMessage().contains("L = 4") && e.getMessage().contains("K = 3"), e.getMessage());
            NDArray x = m.zeros(new Shape(2, 3, E));
            e = assertThrows(IllegalArgumentException.class,
                    () -> block.forward(ps, new NDList(x, m.create(new int[] {2, 4})), false));
            assertTrue(e.getMessage().contains("length 4 of f-gram 1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> block.forward(ps, new NDList(x, m.create(new int[] {2})), false));
            assertTrue(e.getMessage().contains("lengths must have shape (2)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> block.forward(ps, new NDList(m.zeros(new Shape(2, 3, E + 1)), m.create(new int[] {1, 1})),
                            false));
            assertTrue(e.getMessage().contains("(U, L, " + E + ")"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> block.forward(ps, new NDList(x), false));
            assertTrue(e.getMessage().contains("got 1 arrays"), e.getMessage());
        }
    }

    @Test
    void configurationsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> DecoderConfig.of(10, 1, 3, 8));
        assertThrows(IllegalArgumentException.class, () -> DecoderConfig.of(8, 0, 2, 8));
        assertThrows(IllegalArgumentException.class, () -> new DecoderConfig(8, 1, 2, 8, 1f));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FgramModelConfig.of(8, 1, 2, 8, 1));
        assertTrue(e.getMessage().contains("maxN"), e.getMessage());
        assertEquals(DecoderConfig.of(8, 1, 2, 16), FgramModelConfig.of(8, 1, 2, 16, 4).decoder());
    }
}

package dev.scone.core;

import dev.scone.fgram.testing.BruteForceMatcher;
import static dev.scone.core.Fixtures.E;
import static dev.scone.core.Fixtures.V;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SconeEmbeddingBlockTest {

    private final FgramVocabulary vocabulary = Fixtures.vocabulary();

    private SconeEmbeddingBlock block(NDManager m) {
        SconeEmbeddingBlock b = new SconeEmbeddingBlock(V, Fixtures.fgramConfig(), vocabulary);
        return Fixtures.initialize(b, m, 11, 3, 10);
    }

    /** A_fgram run alone over one f-gram's T embeddings. */
    private static float[] fgramAlone(SconeEmbeddingBlock b, NDManager m, ParameterStore ps, int[] fgramTokens) {
        NDArray t = b.tokenEmbedding().weight().getArray();
        NDArray x = t.get(m.create(fgramTokens)).expandDims(0); // (1, n, E)
        return b.fgramModel().forward(ps, new NDList(x, m.create(new int[] {fgramTokens.length})), false)
                .singletonOrThrow().toFloatArray();
    }

    @Test
    void matchedPositionsAreReplacedByFgramVectorsComputedOncePerFgram() {
        try (NDManager m = NDManager.newBaseManager()) {
            SconeEmbeddingBlock b = block(m);
            ParameterStore ps = new ParameterStore(m, false);
            int[][] tokens = Fixtures.tokens();
            int[][] fgrams = Fixtures.prescan(vocabulary, tokens);
            float[] out = b.forward(ps, Fixtures.input(m, vocabulary, tokens), false).singletonOrThrow().toFloatArray();
            float[] table = b.tokenEmbedding().weight().getArray().toFloatArray();
            int length = tokens[0].length;
            int matched = 0;
            Map<Integer, float[]> seen = new HashMap<>();
            for (int r = 0; r < tokens.length; r++) {
                for (int t = 0; t < length; t++) {
                    int p = r * length + t;
                    float[] got = Arrays.copyOfRange(out, p * E, (p + 1) * E);
                    int f = fgrams[r][t];
                    if (f < 0) {
                        // Unmatched: exactly T(token).
                        int tok = tokens[r][t];
                        assertArrayEquals(Arrays.copyOfRange(table, tok * E, (tok + 1) * E), got, 0f,
                                "unmatched (" + r + ", " + t + ")");
                    } else {
                        matched++;
                        // Matched: A_fgram over the T embeddings of the f-gram's tokens, run per position
                        // here, once per distinct f-gram inside the block.
                        float[] expected = fgramAlone(b, m, ps, vocabulary.tokens(f));
                        assertTrue(Fixtures.maxAbsDiff(expected, got) < 1e-5f, "matched (" + r + ", " + t + ")");
                        int tok = tokens[r][t];
                        assertNotEquals(Arrays.toString(Arrays.copyOfRange(table, tok * E, (tok + 1) * E)),
                                Arrays.toString(got), "replaced, not kept");
                        // Every position with the same f-gram gets the identical vector (one A_fgram run).
                        float[] before = seen.putIfAbsent(f, got);
                        if (before != null) {
                            assertArrayEquals(before, got, 0f, "f-gram " + f + " at (" + r + ", " + t + ")");
                        }
                    }
                }
            }
            assertTrue(matched >= 10, "fixture must match many positions, matched " + matched);
            assertTrue(seen.size() < matched, "fixture must repeat an f-gram");
        }
    }

    @Test
    void noMatchGivesTokenEmbeddingsOnly() {
        try (NDManager m = NDManager.newBaseManager()) {
            SconeEmbeddingBlock b = block(m);
            ParameterStore ps = new ParameterStore(m, false);
            NDArray tokens = m.create(new int[] {0, 9, 1, 14}, new Shape(2, 2));
            NDArray none = m.create(new int[] {-1, -1, -1, -1}, new Shape(2, 2));
            NDArray got = b.forward(ps, new NDList(tokens, none), false).singletonOrThrow();
            NDArray expected = b.tokenEmbedding().weight().getArray().get(tokens.flatten()).reshape(2, 2, E);
            assertArrayEquals(expected.toFloatArray(), got.toFloatArray(), 0f);
        }
    }

    @Test
    void gradientsReachTokenEmbeddingThroughFgramModelAndEveryFgramParameter() {
        try (NDManager m = NDManager.newBaseManager()) {
            SconeEmbeddingBlock b = block(m);
            ParameterStore ps = new ParameterStore(m, false);
            // Tokens 8 and 9 appear only at matched positions ([7, 8] and [8, 9]): their T rows can
            // only get a gradient through A_fgram. Token 20 does not appear at all.
            int[][] tokens = {{7, 8, 9, 4, 5, 0}};
            NDList input = Fixtures.input(m, vocabulary, tokens);
            assertArrayEquals(new int[] {-1, 6, 7, -1, 3, -1}, input.get(1).toIntArray());
            Engine.getInstance().setRandomSeed(5);
            NDArray weights = m.randomNormal(new Shape(1, 6, E));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = b.forward(ps, input, true).singletonOrThrow();
                gc.backward(out.mul(weights).sum());
            }
            float[] grad = b.tokenEmbedding().weight().getArray().getGradient().toFloatArray();
            for (int tok : new int[] {7, 8, 9, 4, 5, 0}) {
                assertTrue(rowNorm(grad, tok) > 0f, "token " + tok + " got no gradient");
            }
            assertEquals(0f, rowNorm(grad, 20), "token 20 is not in the batch");
            for (Pair<String, Parameter> p : b.fgramModel().getParameters()) {
                NDArray g = p.getValue().getArray().getGradient();
                assertTrue(g.abs().sum().getFloat() > 0f, "A_fgram parameter " + p.getKey() + " got no gradient");
            }
        }
    }

    @Test
    void backwardAfterGarbageCollectionGivesTheSameGradients() throws Exception {
        // Arrays built inside the forward pass that autograd keeps (gather indices, scalars) must not
        // borrow Java memory that the garbage collector can free before the backward pass reads it.
        try (NDManager m = NDManager.newBaseManager()) {
            int[][] tokens = Fixtures.tokens();
            float[] reference = tokenGradient(m, tokens, false);
            float[] afterChurn = tokenGradient(m, tokens, true);
            assertArrayEquals(reference, afterChurn, 1e-6f);
        }
    }

    private float[] tokenGradient(NDManager m, int[][] tokens, boolean churn) throws InterruptedException {
        try (NDManager scope = m.newSubManager()) {
            SconeEmbeddingBlock b = block(scope);
            ParameterStore ps = new ParameterStore(scope, false);
            NDList input = Fixtures.input(scope, vocabulary, tokens);
            Engine.getInstance().setRandomSeed(5);
            NDArray weights = scope.randomNormal(new Shape(tokens.length, tokens[0].length, E));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = b.forward(ps, input, true).singletonOrThrow();
                NDArray loss = out.mul(weights).sum();
                if (churn) {
                    java.nio.ByteBuffer[] junk = new java.nio.ByteBuffer[256];
                    for (int round = 0; round < 3; round++) {
                        System.gc();
                        Thread.sleep(20);
                        for (int i = 0; i < junk.length; i++) {
                            junk[i] = java.nio.ByteBuffer.allocateDirect(64 + 8 * i);
                            while (junk[i].hasRemaining()) {
                                junk[i].put((byte) 0x7F);
                            }
                        }
                    }
                }
                gc.backward(loss);
            }
            return b.tokenEmbedding().weight().getArray().getGradient().toFloatArray();
        }
    }

    private static float rowNorm(float[] table, int row) {
        float s = 0;
        for (int i = row * E; i < (row + 1) * E; i++) {
            s += Math.abs(table[i]);
        }
        return s;
    }

    @Test
    void aTableEmbeddingGivesTheTrainedBlocksVectors() {
        for (FgramCombine combine : FgramCombine.values()) {
            try (NDManager m = NDManager.newBaseManager()) {
                SconeEmbeddingBlock b = Fixtures.initialize(new SconeEmbeddingBlock(V, Fixtures.fgramConfig(),
                        vocabulary, combine), m, 11, 3, 10);
                ParameterStore ps = new ParameterStore(m, false);
                NDList input = Fixtures.input(m, vocabulary, Fixtures.tokens());
                float[] trained = b.forward(ps, input, false).singletonOrThrow().toFloatArray();
                try (InMemoryFgramEmbeddingTable table = InMemoryFgramEmbeddingTable.precompute(b, 4)) {
                    // T shared with the trained block; no A_fgram, no vocabulary.
                    TableEmbeddingBlock served = new TableEmbeddingBlock(b.tokenEmbedding(), table, combine);
                    float[] looked = served.forward(ps, input, false).singletonOrThrow().toFloatArray();
                    assertTrue(Fixtures.maxAbsDiff(trained, looked) < 1e-5f, combine + ": diff "
                            + Fixtures.maxAbsDiff(trained, looked));
                    // The table matches the tokens itself: pre-scanned ids are not needed.
                    float[] tokensOnly = served.forward(ps, new NDList(input.get(0)), false).singletonOrThrow()
                            .toFloatArray();
                    assertArrayEquals(looked, tokensOnly, 0f);
                    assertTrue(served.getChildren().values().stream()
                            .noneMatch(c -> c instanceof dev.scone.fgram.nn.FgramModelBlock));
                    IllegalStateException e = assertThrows(IllegalStateException.class,
                            () -> served.forward(ps, new NDList(input.get(0)), true));
                    assertTrue(e.getMessage().contains("inference only"), e.getMessage());
                }
            }
        }
    }

    @Test
    void givenTokenIdsAloneTheBlockMatchesThemItselfAndAgreesWithThePrescan() {
        try (NDManager m = NDManager.newBaseManager()) {
            SconeEmbeddingBlock b = block(m);
            ParameterStore ps = new ParameterStore(m, false);
            NDList prescanned = Fixtures.input(m, vocabulary, Fixtures.tokens());
            int[][] fgrams = Fixtures.prescan(vocabulary, Fixtures.tokens());
            assertTrue(Arrays.stream(fgrams).flatMapToInt(Arrays::stream).anyMatch(f -> f >= 0), "some positions match");
            for (boolean training : new boolean[] {false, true}) {
                float[] withIds = b.forward(ps, prescanned, training).singletonOrThrow().toFloatArray();
                float[] alone = b.forward(ps, new NDList(prescanned.get(0)), training).singletonOrThrow()
                        .toFloatArray();
                assertArrayEquals(withIds, alone, 0f, training ? "training" : "inference");
            }
        }
    }

    @Test
    void aTokenEmbeddingOfTheUsersOwnGivesTheSameVectorsAndGetsGradients() {
        try (NDManager m = NDManager.newBaseManager()) {
            List<String> words = new java.util.ArrayList<>();
            for (int i = 0; i < V; i++) {
                words.add("w" + i);
            }
            ai.djl.modality.nlp.embedding.TrainableWordEmbedding djl = ai.djl.modality.nlp.embedding.TrainableWordEmbedding
                    .builder().setVocabulary(new ai.djl.modality.nlp.DefaultVocabulary(words)).optNumEmbeddings(V)
                    .setEmbeddingSize(E).build();
            SconeEmbeddingBlock wrapped = new SconeEmbeddingBlock(TokenEmbeddingBlock.wrap(djl, V, E),
                    new dev.scone.fgram.nn.FgramModelBlock(Fixtures.fgramConfig()), vocabulary);
            Fixtures.initialize(wrapped, m, 11, 3, 10);
            // scone's own T with the same table, and the same A_fgram.
            TokenEmbeddingBlock own = new TokenEmbeddingBlock(V, E);
            own.initialize(m, ai.djl.ndarray.types.DataType.FLOAT32, new Shape(3, 10));
            Parameter table = wrapped.tokenEmbedding().weight();
            assertEquals(new Shape(V, E), table.getArray().getShape());
            own.weight().getArray().set(table.getArray().toFloatArray());
            SconeEmbeddingBlock reference = new SconeEmbeddingBlock(own, wrapped.fgramModel(), vocabulary);

            ParameterStore ps = new ParameterStore(m, false);
            NDList input = Fixtures.input(m, vocabulary, Fixtures.tokens());
            assertArrayEquals(reference.forward(ps, input, false).singletonOrThrow().toFloatArray(),
                    wrapped.forward(ps, input, false).singletonOrThrow().toFloatArray(), 1e-6f);

            try (ai.djl.training.GradientCollector c = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                NDArray out = wrapped.forward(ps, new NDList(input.get(0)), true).singletonOrThrow();
                c.backward(out.sum());
            }
            assertTrue(table.getArray().getGradient().abs().sum().getFloat() > 0, "gradients reach the user's table");

            TokenEmbeddingBlock noTable = TokenEmbeddingBlock.wrap(new ai.djl.nn.SequentialBlock(), V, E);
            IllegalStateException e = assertThrows(IllegalStateException.class, noTable::weight);
            assertTrue(e.getMessage().contains("has no initialized (" + V + ", " + E + ") parameter"), e.getMessage());
        }
    }

    @Test
    void hostCopiesOfAPrescannedBatchGiveTheSameVectorsAndForeignOnesAreNotTrusted() {
        try (NDManager m = NDManager.newBaseManager()) {
            SconeEmbeddingBlock b = block(m);
            ParameterStore ps = new ParameterStore(m, false);
            int[][] tokens = Fixtures.tokens();
            NDList input = Fixtures.input(m, vocabulary, tokens);
            Shape shape = input.get(0).getShape();
            int[] flatTokens = input.get(0).toIntArray();
            int[] flatFgrams = input.get(1).toIntArray();
            float[] expected = b.forward(ps, input, false).singletonOrThrow().toFloatArray();
            HostIds own = new HostIds(flatTokens, flatFgrams, shape, vocabulary.fingerprint());
            assertArrayEquals(expected, b.forward(ps, input, false, own.asParams()).singletonOrThrow().toFloatArray(),
                    0f);
            // Ids claimed for another vocabulary are not trusted: the arrays are read and checked.
            int[] wrong = flatFgrams.clone();
            int at = java.util.stream.IntStream.range(0, wrong.length).filter(i -> wrong[i] >= 0).findFirst().orElseThrow();
            wrong[at] = -1;
            HostIds foreign = new HostIds(flatTokens, wrong, shape, "another vocabulary");
            assertArrayEquals(expected, b.forward(ps, input, false, foreign.asParams()).singletonOrThrow()
                    .toFloatArray(), 0f);
            // Host ids of another shape are ignored.
            HostIds otherShape = new HostIds(new int[2], new int[] {-1, -1}, new Shape(1, 2), vocabulary.fingerprint());
            assertArrayEquals(expected, b.forward(ps, input, false, otherShape.asParams()).singletonOrThrow()
                    .toFloatArray(), 0f);
            // Their token ids are still range-checked.
            int[] outOfRange = flatTokens.clone();
            outOfRange[0] = V;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.forward(ps, input, false,
                    new HostIds(outOfRange, flatFgrams, shape, vocabulary.fingerprint()).asParams()));
            assertTrue(e.getMessage().contains("token id " + V + " at (row 0, position 0)"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new HostIds(new int[3], new int[3], shape, null));
        }
    }

    @Test
    void badInputIsRejectedPrecisely() {
        try (NDManager m = NDManager.newBaseManager()) {
            SconeEmbeddingBlock b = block(m);
            ParameterStore ps = new ParameterStore(m, false);
            NDArray tokens = m.create(new int[] {1, 2, 3, 4}, new Shape(1, 4));
            assertMessage(b, ps, new NDList(m.create(new int[] {1, V, 3, 4}, new Shape(1, 4)), m.create(
                    new int[] {-1, -1, -1, -1}, new Shape(1, 4))), "token id 24 at (row 0, position 1) is outside");
            assertMessage(b, ps, new NDList(tokens, m.create(new int[] {-1, 0, 9, -1}, new Shape(1, 4))),
                    "f-gram id 9 at (row 0, position 2) is outside [-1, 9)");
            assertMessage(b, ps, new NDList(tokens, m.create(new int[] {-2, 0, -1, -1}, new Shape(1, 4))),
                    "f-gram id -2 at (row 0, position 0)");
            assertMessage(b, ps, new NDList(tokens, m.create(new int[] {-1, -1, 0, -1}, new Shape(1, 4))),
                    "f-gram id 0 at (row 0, position 2) is [1, 2] but the tokens ending there are [2, 3]");
            assertMessage(b, ps, new NDList(m.create(new int[] {2, 3}, new Shape(1, 2)),
                    m.create(new int[] {2, -1}, new Shape(1, 2))), "would reach before the start of its row");
            assertMessage(b, ps, new NDList(tokens, m.create(new int[] {-1, -1, -1}, new Shape(1, 3))),
                    "fgramIds shape (1, 3) differs from tokenIds shape (1, 4)");
            assertMessage(b, ps, new NDList(), "expected NDList(tokenIds (B, T), fgramIds (B, T)), got 0");
            assertMessage(b, ps, new NDList(tokens, tokens, tokens),
                    "expected NDList(tokenIds (B, T), fgramIds (B, T)), got 3");
            assertMessage(b, ps, new NDList(m.create(new float[] {1, 2}, new Shape(1, 2)),
                    m.create(new int[] {-1, -1}, new Shape(1, 2))), "tokenIds must be int32 or int64");
            assertMessage(b, ps, new NDList(m.create(new int[] {1, 2}), m.create(new int[] {-1, -1})),
                    "tokenIds must have shape (B, T), got (2)");
        }
    }

    private static void assertMessage(SconeEmbeddingBlock b, ParameterStore ps, NDList input, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.forward(ps, input, false));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    @Test
    void mismatchedPartsAreRejected() {
        FgramVocabulary other = FgramVocabulary.of(V + 1, 3, java.util.List.of(new int[] {1, 2}), new long[] {5});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SconeEmbeddingBlock(V, Fixtures.fgramConfig(), other));
        assertTrue(e.getMessage().contains("over 25 tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new SconeEmbeddingBlock(V, FgramModelConfig.of(E, 1, 2, 8, 2), vocabulary));
        assertTrue(e.getMessage().contains("K = 2"), e.getMessage());
        try (NDManager m = NDManager.newBaseManager()) {
            SconeEmbeddingBlock b = block(m);
            try (InMemoryFgramEmbeddingTable t = InMemoryFgramEmbeddingTable.of(vocabulary,
                    new BruteForceMatcher(vocabulary), 4, new float[vocabulary.size() * 4])) {
                e = assertThrows(IllegalArgumentException.class,
                        () -> new TableEmbeddingBlock(b.tokenEmbedding(), t, FgramCombine.REPLACE));
                assertTrue(e.getMessage().contains("table embedding size 4 differs from the model's 16"),
                        e.getMessage());
            }
        }
    }
}

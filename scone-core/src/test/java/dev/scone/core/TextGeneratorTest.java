package dev.scone.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.scone.core.generate.Sampling;
import dev.scone.core.generate.TextGenerator;
import dev.scone.fgram.match.FgramMatcher;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Greedy and top-k generation, in f-gram model mode and through a precomputed table. */
class TextGeneratorTest {

    private final FgramVocabulary vocabulary = Fixtures.vocabulary();
    private final FgramMatcher matcher = new ProbingFgramMatcher(vocabulary);

    @Test
    void greedyPicksTheArgmaxOfTheLastPositionEachStep() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = Fixtures.initialize(
                    CausalLanguageModelBlock.of(Fixtures.config(true, true), vocabulary), m, 7, 1, 4);
            TextGenerator g = TextGenerator.builder().setModel(lm).setManager(m).setSeed(1).optMatcher(matcher).build();
            int[] prompt = {1, 2, 3};
            int[] out = g.generate(prompt, 15, Sampling.greedy()); // runs past the context length (12)
            assertEquals(15, out.length);
            // Recompute each step by hand: the window is the last CONTEXT tokens, pre-scanned within itself.
            int[] all = new int[prompt.length + out.length];
            System.arraycopy(prompt, 0, all, 0, prompt.length);
            System.arraycopy(out, 0, all, prompt.length, out.length);
            for (int len = prompt.length; len < all.length; len++) {
                int from = Math.max(0, len - Fixtures.CONTEXT);
                int[] window = Arrays.copyOfRange(all, from, len);
                float[] logits = lastLogits(m, lm, window, matcher.match(window));
                int best = 0;
                for (int i = 1; i < logits.length; i++) {
                    if (logits[i] > logits[best]) {
                        best = i;
                    }
                }
                assertEquals(best, all[len], "step " + (len - prompt.length));
            }
            assertTrue(g.tokensPerSecond() > 0);
        }
    }

    @Test
    void tableModeGeneratesWhatTrainingModeGenerates() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = Fixtures.initialize(
                    CausalLanguageModelBlock.of(Fixtures.config(true, false), vocabulary), m, 11, 1, 4);
            SconeEmbeddingBlock emb = (SconeEmbeddingBlock) lm.inputEmbedding();
            int[] prompt = {5, 6, 7, 8};
            int[] viaModel = TextGenerator.builder().setModel(lm).setManager(m).setSeed(3).optMatcher(matcher).build()
                    .generate(prompt, 20, Sampling.topK(5, 0.8f));
            try (FgramEmbeddingTable table = InMemoryFgramEmbeddingTable.precompute(emb, 4)) {
                emb.useTable(table);
                int[] viaTable = TextGenerator.builder().setModel(lm).setManager(m).setSeed(3).build()
                        .generate(prompt, 20, Sampling.topK(5, 0.8f));
                assertArrayEquals(viaModel, viaTable);
            } finally {
                emb.useFgramModel();
            }
        }
    }

    @Test
    void topKSamplesOnlyAmongTheKMostLikelyAndIsSeeded() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = Fixtures.initialize(
                    CausalLanguageModelBlock.of(Fixtures.config(false, true), vocabulary), m, 5, 1, 4);
            int[] prompt = {4, 5};
            int[] a = TextGenerator.builder().setModel(lm).setManager(m).setSeed(9).build()
                    .generate(prompt, 1, Sampling.topK(3, 1f));
            float[] logits = lastLogits(m, lm, prompt, new int[] {-1, -1});
            Integer[] order = new Integer[logits.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> Float.compare(logits[y], logits[x]));
            assertTrue(Arrays.asList(order).subList(0, 3).contains(a[0]), "sampled outside the top 3");
            int[] b = TextGenerator.builder().setModel(lm).setManager(m).setSeed(9).build()
                    .generate(prompt, 12, Sampling.topK(3, 1f));
            int[] c = TextGenerator.builder().setModel(lm).setManager(m).setSeed(9).build()
                    .generate(prompt, 12, Sampling.topK(3, 1f));
            assertArrayEquals(b, c);
        }
    }

    @Test
    void badInputIsRefused() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock scone = Fixtures.initialize(
                    CausalLanguageModelBlock.of(Fixtures.config(true, true), vocabulary), m, 7, 1, 4);
            assertThrows(IllegalStateException.class,
                    () -> TextGenerator.builder().setModel(scone).setManager(m).setSeed(1).build());
            TextGenerator g = TextGenerator.builder().setModel(scone).setManager(m).setSeed(1).optMatcher(matcher)
                    .build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> g.generate(new int[] {1, Fixtures.V}, 2, Sampling.greedy()));
            assertTrue(e.getMessage().contains("position 1"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> g.generate(new int[0], 2, Sampling.greedy()));
            assertThrows(IllegalArgumentException.class, () -> Sampling.topK(0, 1f));
            assertThrows(IllegalArgumentException.class, () -> Sampling.topK(3, 0f));
        }
    }

    private static float[] lastLogits(NDManager m, CausalLanguageModelBlock lm, int[] window, int[] fgramIds) {
        try (NDManager s = m.newSubManager()) {
            NDList in = new NDList(s.create(window, new Shape(1, window.length)),
                    s.create(fgramIds, new Shape(1, window.length)));
            NDArray logits = lm.forward(new ParameterStore(s, false), in, false).singletonOrThrow();
            return logits.get(0, window.length - 1).toFloatArray();
        }
    }
}

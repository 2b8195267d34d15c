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
import dev.scone.core.generate.IncrementalDecoder;
import dev.scone.core.generate.Sampling;
import dev.scone.core.generate.TextGenerator;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Incremental decoding over a key/value cache against full recomputation, for a baseline and a
 * SCONE model served from a float32 table, single and batched; and generation on top of it.
 */
class TextGeneratorTest {

    private static final float TOLERANCE = 1e-5f;

    private final FgramVocabulary vocabulary = Fixtures.vocabulary();

    /** A trained model's inference model: the baseline, or SCONE through an in-memory float32 table. */
    private InferenceModel served(NDManager m, boolean scone, boolean inputNorm, long seed) {
        LanguageModel trained = LanguageModel.of(Fixtures.config(scone, false).withInputNorm(inputNorm), vocabulary);
        Fixtures.initialize(trained.block(), m, seed, 1, 4);
        FgramEmbeddingTable table = scone ? InMemoryFgramEmbeddingTable.precompute(trained.sconeEmbedding(), 4) : null;
        return InferenceModel.fromTrained(trained, table, "test", m);
    }

    /** The logits after the last token of a window, by a full forward pass over it alone. */
    private static float[] full(NDManager m, CausalLanguageModelBlock lm, int[] window) {
        try (NDManager s = m.newSubManager()) {
            NDList in = new NDList(s.create(window, new Shape(1, window.length)));
            NDArray logits = lm.forward(new ParameterStore(s, false), in, false).singletonOrThrow();
            return logits.get(0, window.length - 1).toFloatArray();
        }
    }

    private static float[] row(float[] logits, int r) {
        return Arrays.copyOfRange(logits, r * Fixtures.V, (r + 1) * Fixtures.V);
    }

    @Test
    void incrementalLogitsEqualFullRecomputationSingleAndBatched() {
        for (boolean scone : new boolean[] {false, true}) {
            for (boolean inputNorm : new boolean[] {false, true}) {
                try (NDManager m = NDManager.newBaseManager()) {
                    InferenceModel model = served(m, scone, inputNorm, 7);
                    CausalLanguageModelBlock lm = model.block();
                    // Rows of different lengths (left-padded in the batch), with f-grams of lengths 2 and 3
                    // inside the prompts and across the prompt/step boundary (1 2 | 3, 5 6 | 7, 8 | 9).
                    int[][] prompts = {{4, 1, 2}, {5, 6}, {9, 10, 11, 12, 3, 3, 7}, {1}};
                    int[][] steps = {{3, 7, 4, 5, 6}, {7, 8, 9, 1, 2}, {8, 9, 5, 6, 7}, {2, 3, 3, 3, 0}};
                    for (int batch : new int[] {1, 4}) {
                        int[][] rows = Arrays.copyOf(prompts, batch);
                        try (IncrementalDecoder d = new IncrementalDecoder(lm, m)) {
                            float[] logits = d.prefill(rows);
                            int[][] seq = new int[batch][];
                            for (int r = 0; r < batch; r++) {
                                seq[r] = rows[r].clone();
                                assertClose(full(m, lm, seq[r]), row(logits, r), scone + "/" + inputNorm + " prefill "
                                        + r);
                            }
                            for (int s = 0; s < steps[0].length; s++) {
                                int[] next = new int[batch];
                                for (int r = 0; r < batch; r++) {
                                    next[r] = steps[r][s];
                                    seq[r] = Arrays.copyOf(seq[r], seq[r].length + 1);
                                    seq[r][seq[r].length - 1] = next[r];
                                }
                                logits = d.step(next);
                                for (int r = 0; r < batch; r++) {
                                    assertClose(full(m, lm, seq[r]), row(logits, r), scone + "/" + inputNorm
                                            + " batch " + batch + " step " + s + " row " + r);
                                }
                            }
                            assertEquals(batch == 1 ? 8 : 12, d.cacheLength());
                            assertEquals(scone, d.lookupNanos() > 0);
                        }
                    }
                }
            }
        }
    }

    @Test
    void droppingRowsKeepsTheOthersExactAndTheCacheShort() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = served(m, true, false, 3).block();
            int[][] seq = {{1, 2, 3, 4, 5, 6, 7}, {7, 8}, {10, 11, 12}};
            try (IncrementalDecoder d = new IncrementalDecoder(lm, m)) {
                d.prefill(seq);
                d.retainRows(new int[] {2, 1}); // the longest row leaves: its padding columns go too
                assertEquals(3, d.cacheLength());
                float[] logits = d.step(new int[] {1, 9});
                assertClose(full(m, lm, new int[] {10, 11, 12, 1}), row(logits, 0), "row 2");
                assertClose(full(m, lm, new int[] {7, 8, 9}), row(logits, 1), "row 1");
                assertEquals(3, d.sequenceLength(1));
            }
        }
    }

    @Test
    void aSequenceNeverPassesTheContextLength() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = served(m, false, false, 3).block();
            try (IncrementalDecoder d = new IncrementalDecoder(lm, m)) {
                int[] full = new int[Fixtures.CONTEXT];
                d.prefill(new int[][] {full});
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> d.step(new int[] {1}));
                assertTrue(e.getMessage().contains("already holds 12 tokens"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> d.prefill(new int[][] {new int[13]}));
                assertTrue(e.getMessage().contains("1 to 12"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> d.prefill(new int[][] {{1, Fixtures.V}}));
                assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
            }
            LanguageModel trained = LanguageModel.scone(Fixtures.config(true, false), vocabulary);
            Fixtures.initialize(trained.block(), m, 1, 1, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new IncrementalDecoder(trained.block(), m));
            assertTrue(e.getMessage().contains("needs an inference model"), e.getMessage());
        }
    }

    @Test
    void greedyFollowsTheDocumentedWindowPastTheContextLength() {
        for (boolean scone : new boolean[] {false, true}) {
            try (NDManager m = NDManager.newBaseManager()) {
                CausalLanguageModelBlock lm = served(m, scone, false, 5).block();
                int[] prompt = {1, 2, 3, 7, 8};
                int keep = 5;
                TextGenerator g = TextGenerator.builder().setModel(lm).setManager(m).setSeed(1).optShift(keep).build();
                int[] out = g.generate(prompt, 30, Sampling.greedy()); // passes C = 12 several times
                assertEquals(30, out.length);
                assertTrue(g.shifts() >= 3, "shifts: " + g.shifts());
                // The rule, by hand: append while the window holds < C tokens, else keep the last `keep`.
                int[] window = prompt.clone();
                for (int i = 0; i < out.length; i++) {
                    float[] logits = full(m, lm, window);
                    int best = 0;
                    for (int x = 1; x < logits.length; x++) {
                        if (logits[x] > logits[best]) {
                            best = x;
                        }
                    }
                    assertEquals(best, out[i], "token " + i);
                    int[] longer = Arrays.copyOf(window, window.length + 1);
                    longer[window.length] = out[i];
                    window = window.length < Fixtures.CONTEXT ? longer
                            : Arrays.copyOfRange(longer, longer.length - keep, longer.length);
                }
            }
        }
    }

    @Test
    void cachedAndRecomputedGenerationAgreeForABatchWithStopTokens() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = served(m, true, false, 9).block();
            int[][] prompts = {{1, 2}, {5, 6, 7, 8, 9, 10}, {3}};
            for (Sampling s : List.of(Sampling.greedy(), Sampling.topK(5, 0.8f), Sampling.topP(0.9f, 1f),
                    new Sampling(4, 0.7f, 1.2f))) {
                List<TextGenerator.Generation> cached = TextGenerator.builder().setModel(lm).setManager(m).setSeed(4)
                        .optStopTokens(0).build().generate(prompts, 20, s);
                List<TextGenerator.Generation> recomputed = TextGenerator.builder().setModel(lm).setManager(m)
                        .setSeed(4).optStopTokens(0).optKvCache(false).build().generate(prompts, 20, s);
                for (int r = 0; r < prompts.length; r++) {
                    assertArrayEquals(recomputed.get(r).tokens(), cached.get(r).tokens(), s + " row " + r);
                    assertEquals(recomputed.get(r).finishReason(), cached.get(r).finishReason());
                    int[] t = cached.get(r).tokens();
                    if (cached.get(r).finishReason() == TextGenerator.FinishReason.STOP_TOKEN) {
                        assertEquals(0, t[t.length - 1]);
                        assertTrue(Arrays.stream(t, 0, t.length - 1).noneMatch(x -> x == 0));
                    } else {
                        assertEquals(20, t.length);
                        assertTrue(Arrays.stream(t).noneMatch(x -> x == 0));
                    }
                }
                // Seeded: the same again.
                List<TextGenerator.Generation> again = TextGenerator.builder().setModel(lm).setManager(m).setSeed(4)
                        .optStopTokens(0).build().generate(prompts, 20, s);
                for (int r = 0; r < prompts.length; r++) {
                    assertArrayEquals(cached.get(r).tokens(), again.get(r).tokens());
                }
            }
        }
    }

    @Test
    void topKAndTopPSampleOnlyAmongTheMostLikely() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = served(m, false, false, 5).block();
            int[] prompt = {4, 5};
            float[] logits = full(m, lm, prompt);
            Integer[] order = new Integer[logits.length];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> Float.compare(logits[y], logits[x]));
            // The nucleus of p = 0.5 at temperature 1: the most likely tokens until their mass reaches 0.5.
            double max = logits[order[0]];
            double sum = 0;
            for (float l : logits) {
                sum += Math.exp(l - max);
            }
            int nucleus = 0;
            for (double mass = 0; mass < 0.5; nucleus++) {
                mass += Math.exp(logits[order[nucleus]] - max) / sum;
            }
            Random seeds = new Random(1);
            boolean[] seenTopK = new boolean[logits.length];
            for (int i = 0; i < 60; i++) {
                long seed = seeds.nextLong();
                int k = TextGenerator.builder().setModel(lm).setManager(m).setSeed(seed).build()
                        .generate(prompt, 1, Sampling.topK(3, 1f))[0];
                assertTrue(Arrays.asList(order).subList(0, 3).contains(k), "top-k sampled " + k);
                seenTopK[k] = true;
                int p = TextGenerator.builder().setModel(lm).setManager(m).setSeed(seed).build()
                        .generate(prompt, 1, Sampling.topP(0.5f, 1f))[0];
                assertTrue(Arrays.asList(order).subList(0, nucleus).contains(p), "top-p sampled " + p);
                int tiny = TextGenerator.builder().setModel(lm).setManager(m).setSeed(seed).build()
                        .generate(prompt, 1, Sampling.topP(1e-6f, 1f))[0];
                assertEquals((int) order[0], tiny, "a tiny nucleus is the most likely token");
            }
            int distinct = 0;
            for (boolean b : seenTopK) {
                distinct += b ? 1 : 0;
            }
            assertTrue(distinct > 1, "sampling picked one token in 60 draws");
        }
    }

    @Test
    void badInputIsRefused() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = served(m, true, false, 7).block();
            TextGenerator g = TextGenerator.builder().setModel(lm).setManager(m).setSeed(1).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> g.generate(new int[] {1, Fixtures.V}, 2, Sampling.greedy()));
            assertTrue(e.getMessage().contains("position 1"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> g.generate(new int[0], 2, Sampling.greedy()));
            assertThrows(IllegalArgumentException.class, () -> g.generate(new int[][] {}, 2, Sampling.greedy()));
            assertEquals(0, g.generate(new int[] {1}, 0, Sampling.greedy()).length);
            assertThrows(IllegalArgumentException.class, () -> Sampling.topK(-1, 1f));
            assertThrows(IllegalArgumentException.class, () -> Sampling.topK(3, 0f));
            assertThrows(IllegalArgumentException.class, () -> Sampling.topP(0f, 1f));
            assertThrows(IllegalArgumentException.class, () -> Sampling.topP(1.5f, 1f));
            assertThrows(IllegalArgumentException.class,
                    () -> TextGenerator.builder().setModel(lm).setManager(m).setSeed(1).optShift(13).build());
            assertThrows(IllegalStateException.class, () -> TextGenerator.builder().setModel(lm).build());
            LanguageModel trained = LanguageModel.scone(Fixtures.config(true, false), vocabulary);
            Fixtures.initialize(trained.block(), m, 1, 1, 4);
            e = assertThrows(IllegalArgumentException.class,
                    () -> TextGenerator.builder().setModel(trained.block()).setManager(m).setSeed(1).build());
            assertTrue(e.getMessage().contains("inference model"), e.getMessage());
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        float diff = Fixtures.maxAbsDiff(expected, actual);
        assertTrue(diff <= TOLERANCE, what + ": logits differ by " + diff);
    }
}

package dev.scone.core;

import static dev.scone.core.Fixtures.CONTEXT;
import static dev.scone.core.Fixtures.V;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class CausalLanguageModelBlockTest {

    private final FgramVocabulary vocabulary = Fixtures.vocabulary();

    private CausalLanguageModelBlock model(NDManager m, boolean scone, boolean tied, long seed) {
        CausalLanguageModelBlock lm = CausalLanguageModelBlock.of(Fixtures.config(scone, tied), vocabulary);
        return Fixtures.initialize(lm, m, seed, 3, 10);
    }

    private float[] logits(CausalLanguageModelBlock lm, NDManager m, int[][] tokens) {
        ParameterStore ps = new ParameterStore(m, false);
        try (NDManager scope = m.newSubManager()) {
            NDArray out = lm.forward(ps, Fixtures.input(scope, vocabulary, tokens), false).singletonOrThrow();
            assertEquals(new Shape(tokens.length, tokens[0].length, V), out.getShape());
            return out.toFloatArray();
        }
    }

    @Test
    void changingTokenTChangesNoLogitBeforeT() {
        for (boolean scone : new boolean[] {false, true}) {
            try (NDManager m = NDManager.newBaseManager()) {
                CausalLanguageModelBlock lm = model(m, scone, true, 21);
                int[][] tokens = Fixtures.tokens();
                float[] base = logits(lm, m, tokens);
                int length = tokens[0].length;
                for (int t = 0; t < length; t++) {
                    int[][] changed = Arrays.stream(tokens).map(int[]::clone).toArray(int[][]::new);
                    for (int[] row : changed) {
                        row[t] = (row[t] + 5) % V; // re-scanned below: matches at t.. may change
                    }
                    float[] out = logits(lm, m, changed);
                    for (int r = 0; r < tokens.length; r++) {
                        for (int p = 0; p < length; p++) {
                            int from = (r * length + p) * V;
                            // Changing token t changes the batch's set of distinct f-grams, so A_fgram's
                            // batched matrix products may round differently (seen: 1.5e-8); a causal leak
                            // would move logits by orders of magnitude more than 1e-6.
                            boolean same = Fixtures.maxAbsDiff(Arrays.copyOfRange(base, from, from + V),
                                    Arrays.copyOfRange(out, from, from + V)) <= 1e-6f;
                            if (p < t) {
                                assertTrue(same, (scone ? "SCONE" : "baseline") + ": token " + t
                                        + " changed the logits at " + p);
                            } else if (p == t) {
                                assertTrue(!same, "token " + t + " did not change its own logits");
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void theInferenceModelsLogitsEqualTheTrainedModels() {
        for (boolean tied : new boolean[] {false, true}) {
            try (NDManager m = NDManager.newBaseManager()) {
                LanguageModel trained = LanguageModel.scone(Fixtures.config(true, tied), vocabulary);
                Fixtures.initialize(trained.block(), m, 23, 3, 10);
                float[] expected = logits(trained.block(), m, Fixtures.tokens());
                try (InMemoryFgramEmbeddingTable table = InMemoryFgramEmbeddingTable.precompute(
                        trained.sconeEmbedding(), 3)) {
                    InferenceModel served = InferenceModel.fromTrained(trained, table, "test", m);
                    float[] looked = logits(served.block(), m, Fixtures.tokens());
                    float diff = Fixtures.maxAbsDiff(expected, looked);
                    assertTrue(diff < 1e-5f, "logits differ by " + diff);
                    assertEquals(InferenceModel.mainModelFingerprint(trained.block()),
                            InferenceModel.mainModelFingerprint(served.block()));
                    assertTrue(served.block().getParameters().keys().stream().noneMatch(k -> k.contains("fgramModel")),
                            served.block().getParameters().keys().toString());
                }
            }
        }
    }

    @Test
    void savedParametersLoadIntoAFreshModelWithIdenticalLogits() throws Exception {
        for (boolean scone : new boolean[] {false, true}) {
            for (boolean tied : new boolean[] {false, true}) {
                try (NDManager m = NDManager.newBaseManager()) {
                    CausalLanguageModelBlock lm = model(m, scone, tied, 31);
                    float[] before = logits(lm, m, Fixtures.tokens());
                    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                    lm.saveParameters(new DataOutputStream(bytes));
                    LanguageModelConfig config = LanguageModelConfig.fromText(lm.config().toText());
                    CausalLanguageModelBlock fresh = CausalLanguageModelBlock.of(config, vocabulary);
                    Fixtures.initialize(fresh, m, 32, 3, 10);
                    float[] other = logits(fresh, m, Fixtures.tokens());
                    assertTrue(Fixtures.maxAbsDiff(before, other) > 1e-3f, "different seeds give different models");
                    fresh.loadParameters(m, new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
                    assertArrayEquals(before, logits(fresh, m, Fixtures.tokens()), 0f,
                            "scone=" + scone + " tied=" + tied);
                }
            }
        }
    }

    @Test
    void baselineAndSconeShareEverythingButTheInputEmbedding() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, Shape> baseline = shapes(model(m, false, false, 1));
            Map<String, Shape> scone = shapes(model(m, true, false, 1));
            baseline.keySet().removeIf(k -> k.contains("inputEmbedding_"));
            Map<String, Shape> sconeRest = new TreeMap<>(scone);
            sconeRest.keySet().removeIf(k -> k.contains("inputEmbedding_"));
            assertEquals(baseline, sconeRest);
            assertEquals(new Shape(V, Fixtures.E), scone.get("01inputEmbedding_01tokenEmbedding_weight"));
            assertTrue(scone.keySet().stream().anyMatch(k -> k.startsWith("01inputEmbedding_02fgramModel_")));
        }
    }

    private static Map<String, Shape> shapes(CausalLanguageModelBlock lm) {
        Map<String, Shape> m = new TreeMap<>();
        for (Pair<String, Parameter> p : lm.getParameters()) {
            m.put(p.getKey(), p.getValue().getArray().getShape());
        }
        return m;
    }

    /** Sequences that repeat a pattern: a tiny model learns them quickly. */
    private static int[][] patternBatch(int batch, int length, int offset) {
        int[] pattern = {1, 2, 3, 9, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0};
        int[][] rows = new int[batch][length + 1];
        for (int r = 0; r < batch; r++) {
            for (int t = 0; t <= length; t++) {
                rows[r][t] = pattern[(r + offset + t) % pattern.length];
            }
        }
        return rows;
    }

    @Test
    void lossFallsWithDjlTrainerAndNativeMemoryStaysFlat() {
        Engine.getInstance().setRandomSeed(41);
        CausalLanguageModelBlock lm = CausalLanguageModelBlock.scone(Fixtures.config(true, true), vocabulary);
        try (Model model = Model.newInstance("scone-lm-test")) {
            model.setBlock(lm);
            DefaultTrainingConfig tc = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-2f)).build());
            int batch = 4;
            int length = CONTEXT;
            try (Trainer trainer = model.newTrainer(tc)) {
                trainer.initialize(new Shape(batch, length), new Shape(batch, length));
                BaseNDManager root = (BaseNDManager) trainer.getManager();
                int steps = 80;
                float first = 0;
                float lastTen = 0; // mean of the last ten losses: single batches are noisy
                int countAfterWarmUp = -1;
                for (int step = 0; step < steps; step++) {
                    int[][] rows = patternBatch(batch, length, step);
                    int[][] in = Arrays.stream(rows).map(r -> Arrays.copyOf(r, length)).toArray(int[][]::new);
                    int[][] labels = Arrays.stream(rows).map(r -> Arrays.copyOfRange(r, 1, length + 1))
                            .toArray(int[][]::new);
                    try (NDManager scope = trainer.getManager().newSubManager()) {
                        NDList input = Fixtures.input(scope, vocabulary, in);
                        NDArray y = Fixtures.ints(scope, labels).reshape(batch * length);
                        float loss;
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray logits = trainer.forward(input).singletonOrThrow().reshape(batch * length, V);
                            NDArray l = trainer.getLoss().evaluate(new NDList(y), new NDList(logits));
                            gc.backward(l);
                            loss = l.getFloat();
                        }
                        trainer.step();
                        if (step == 0) {
                            first = loss;
                        }
                        if (step >= steps - 10) {
                            lastTen += loss / 10;
                        }
                    }
                    if (step == 10) {
                        countAfterWarmUp = root.getManagedArrays().size();
                    } else if (step > 10) {
                        assertEquals(countAfterWarmUp, root.getManagedArrays().size(),
                                "NDArrays accumulate in the trainer's manager at step " + step);
                    }
                }
                assertTrue(Math.abs(first - Math.log(V)) < 0.5, "initial loss " + first + " should be near ln V");
                assertTrue(lastTen < first * 0.4, "loss fell only from " + first + " to " + lastTen);
            }
        }
    }

    @Test
    void manualStepsDoNotGrowTheParameterManager() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = model(m, true, false, 51);
            ParameterStore ps = new ParameterStore(m, false);
            int before = -1;
            for (int step = 0; step < 30; step++) {
                try (NDManager scope = m.newSubManager()) {
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray out = lm.forward(ps, Fixtures.input(scope, vocabulary, Fixtures.tokens()), true)
                                .singletonOrThrow();
                        gc.backward(out.square().mean());
                    }
                    for (Pair<String, Parameter> p : lm.getParameters()) {
                        try (NDArray g = p.getValue().getArray().getGradient(); NDArray d = g.mul(0.01f)) {
                            p.getValue().getArray().subi(d);
                        }
                    }
                }
                int count = ((BaseNDManager) m).getManagedArrays().size();
                if (step == 2) {
                    before = count;
                } else if (step > 2) {
                    assertEquals(before, count, "NDArrays accumulate at step " + step);
                }
            }
        }
    }

    @Test
    void badInputAndMismatchesAreRejectedPrecisely() {
        try (NDManager m = NDManager.newBaseManager()) {
            CausalLanguageModelBlock lm = model(m, false, true, 61);
            ParameterStore ps = new ParameterStore(m, false);
            int[][] tooLong = {new int[CONTEXT + 1]};
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> lm.forward(ps, Fixtures.input(m, vocabulary, tooLong), false));
            assertTrue(e.getMessage().contains("sequence length 13 is outside [1, 12]"), e.getMessage());
            // The baseline ignores f-gram ids but still range-checks tokens.
            e = assertThrows(IllegalArgumentException.class, () -> lm.forward(ps,
                    new NDList(m.create(new int[] {-3, 1}, new Shape(1, 2))), false));
            assertTrue(e.getMessage().contains("token id -3 at (row 0, position 0)"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CausalLanguageModelBlock(Fixtures.config(false, true), new TokenEmbeddingBlock(V, 8)));
        assertTrue(e.getMessage().contains("input embedding size 8 differs from the model's 16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new CausalLanguageModelBlock(Fixtures.config(false, true), new TokenEmbeddingBlock(V + 1, 16)));
        assertTrue(e.getMessage().contains("over 25 tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CausalLanguageModelBlock.scone(Fixtures.config(false, true), vocabulary));
        assertTrue(e.getMessage().contains("needs an f-gram model"), e.getMessage());
    }
}

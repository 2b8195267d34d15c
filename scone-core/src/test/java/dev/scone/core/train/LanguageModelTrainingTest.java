package dev.scone.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.scone.core.InMemoryFgramEmbeddingTable;
import dev.scone.core.InferenceModel;
import dev.scone.core.LanguageModel;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.data.WindowDataset;
import dev.scone.core.testing.Fixtures;
import dev.scone.core.testing.RecordingProgress;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.progress.ProgressListener;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real baseline and SCONE models trained, checkpointed, resumed and evaluated through the trainer. */
class LanguageModelTrainingTest {

    private static final int V = 24;
    private static final int T = 12;
    private static final int E = 16;

    private static final TokenCorpus TRAIN = Fixtures.markovCorpus(21, 8, 40, 90, V);
    private static final TokenCorpus HELD_OUT = Fixtures.markovCorpus(21, 11, 40, 60, V);
    private static final FgramVocabulary VOCABULARY = Fixtures.countVocabulary(TRAIN, 3, 4);

    private static LanguageModelConfig config(boolean scone, float dropout) {
        LanguageModelConfig base = new LanguageModelConfig(V, T, E, 1, 2, 2 * E, false, dropout, null);
        return scone ? base.withFgramModel(FgramModelConfig.of(E, 1, 2, 2 * E, 3).withDropout(dropout)) : base;
    }

    private static TrainerConfig.Builder trainerConfig() {
        return TrainerConfig.builder().setSeed(42).optBatchSize(4).optContextLength(T).optLearningRate(1e-2f, 1e-3f)
                .optSteps(4, 40).optWeightDecay(0.01f).optClipNorm(1f).optEvaluation(20, 0);
    }

    private static List<float[]> parameters(LanguageModelTrainer t) {
        List<float[]> out = new ArrayList<>();
        for (Pair<String, Parameter> p : t.model().block().getParameters()) {
            out.add(p.getValue().getArray().toFloatArray());
        }
        return out;
    }

    private static float mean(List<Float> xs, int from, int to) {
        float s = 0;
        for (int i = from; i < to; i++) {
            s += xs.get(i);
        }
        return s / (to - from);
    }

    @Test
    void baselineAndSconeTrainAndTheSconeTableGivesTheSamePerplexity() {
        WindowDataset train = LanguageModel.windows(TRAIN, T, VOCABULARY);
        WindowDataset held = LanguageModel.windows(HELD_OUT, T, VOCABULARY);
        for (boolean scone : new boolean[] {false, true}) {
            try (NDManager parameters = NDManager.newBaseManager()) {
                LanguageModel model = LanguageModel.of(config(scone, 0f), VOCABULARY);
                model.requireCompatible("training", train);
                RecordingProgress progress = new RecordingProgress();
                try (LanguageModelTrainer trainer = LanguageModelTrainer.builder().setModel(model)
                        .setConfig(trainerConfig().build()).setTrainingData(train).optValidationData(held)
                        .optParameterManager(parameters).optProgress(progress).build()) {
                    trainer.train();
                    assertEquals(2, trainer.history().size());
                }
                List<Float> losses = progress.losses();
                String what = scone ? "SCONE" : "baseline";
                assertEquals(40, losses.size());
                assertTrue(losses.get(0) > 0.8 * Math.log(V), what + " starts near ln V: " + losses.get(0));
                assertTrue(mean(losses, 35, 40) < mean(losses, 0, 5) - 0.5f,
                        what + " loss falls: " + mean(losses, 0, 5) + " -> " + mean(losses, 35, 40));

                PerplexityResult r = Evaluation.perplexity(model.block(), held, 3, 0);
                assertEquals(held.windowCount() * T, r.tokens());
                assertTrue(r.matchedTokens() > 0 && r.matchedTokens() < r.tokens(), "split " + r.matchedTokens());
                assertTrue(r.perplexity() > 1 && r.perplexity() < V, what + " perplexity " + r.perplexity());
                assertTrue(Double.isFinite(r.matchedPerplexity()) && Double.isFinite(r.unmatchedPerplexity()));
                double recombined = (Math.log(r.matchedPerplexity()) * r.matchedTokens()
                        + Math.log(r.unmatchedPerplexity()) * (r.tokens() - r.matchedTokens())) / r.tokens();
                assertEquals(r.loss(), recombined, 1e-9);

                if (scone) {
                    // The inference path: A_fgram precomputed into a table, looked up by the block.
                    try (InMemoryFgramEmbeddingTable table = InMemoryFgramEmbeddingTable.precompute(
                            model.sconeEmbedding(), 64, LanguageModel.matcherFor(VOCABULARY));
                            NDManager serving = NDManager.newBaseManager()) {
                        InferenceModel inference = InferenceModel.fromTrained(model, table, "test", serving);
                        PerplexityResult served = Evaluation.perplexity(inference.block(), held, 3, 0);
                        assertEquals(r.tokens(), served.tokens());
                        assertEquals(r.matchedTokens(), served.matchedTokens());
                        assertEquals(r.perplexity(), served.perplexity(), 1e-5 * r.perplexity());
                        assertEquals(r.matchedPerplexity(), served.matchedPerplexity(), 1e-5 * r.matchedPerplexity());
                    }
                }
            }
        }
    }

    @Test
    void sconeCheckpointResumesExactlyAndRefusesAnotherVocabulary(@TempDir Path tmp) throws Exception {
        WindowDataset train = LanguageModel.windows(TRAIN, T, VOCABULARY);
        TrainerConfig cfg = trainerConfig().optSteps(2, 8).optEvaluation(0, 0).build();
        List<float[]> straight;
        try (LanguageModelTrainer t = LanguageModelTrainer.builder().setModel(LanguageModel.of(config(true, 0.1f),
                VOCABULARY)).setConfig(cfg).setTrainingData(train).build()) {
            t.train();
            straight = parameters(t);
        }
        Path ck = tmp.resolve("half.ckpt");
        try (LanguageModelTrainer t = LanguageModelTrainer.builder().setModel(LanguageModel.of(config(true, 0.1f),
                VOCABULARY)).setConfig(cfg).setTrainingData(train).build()) {
            t.train(4);
            t.saveCheckpoint(ck);
        }
        LanguageModel.Spec spec = LanguageModel.Spec.parse(Checkpoint.readHeader(ck).modelConfigText());
        assertEquals(VOCABULARY.fingerprint(), spec.fgramFingerprint());
        assertEquals(3, spec.fgramMaxN());
        assertEquals(VOCABULARY.size(), spec.fgramCount());
        assertEquals(config(true, 0.1f), spec.config());

        try (LanguageModelTrainer t = LanguageModelTrainer.resume(ck, LanguageModel.factory(VOCABULARY), train, null,
                ProgressListener.NONE, null)) {
            assertEquals(4, t.step());
            t.train();
            assertEquals(8, t.step());
            List<float[]> resumed = parameters(t);
            assertEquals(straight.size(), resumed.size());
            for (int i = 0; i < straight.size(); i++) {
                assertArrayEquals(straight.get(i), resumed.get(i), 0f, "parameter " + i);
            }
        }

        FgramVocabulary other = Fixtures.countVocabulary(TRAIN, 3, 6);
        assertNotEquals(VOCABULARY.fingerprint(), other.fingerprint());
        WindowDataset otherTrain = LanguageModel.windows(TRAIN, T, other);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LanguageModelTrainer.resume(
                ck, LanguageModel.factory(other), otherTrain, null, ProgressListener.NONE, null));
        assertTrue(e.getMessage().contains("half.ckpt") && e.getMessage().contains("trained with f-gram vocabulary "
                + VOCABULARY.fingerprint()) && e.getMessage().contains("the vocabulary given is " + other.fingerprint()),
                e.getMessage());
        try (NDManager m = NDManager.newBaseManager()) {
            e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.loadModel(ck, LanguageModel.factory(null),
                    m));
            assertTrue(e.getMessage().contains("give that vocabulary"), e.getMessage());
            LanguageModel loaded = (LanguageModel) Checkpoint.loadModel(ck, LanguageModel.factory(VOCABULARY), m);
            assertTrue(loaded.isScone() && loaded.block().isInitialized());
        }
        e = assertThrows(IllegalArgumentException.class, () -> LanguageModel.of(config(true, 0f), VOCABULARY)
                .requireCompatible("held-out", otherTrain));
        assertTrue(e.getMessage().contains("pre-scanned with f-gram vocabulary " + other.fingerprint()), e.getMessage());
    }

    @Test
    void configurationTextRoundTripsAndRejectsDamage() {
        LanguageModel.Spec base = LanguageModel.baseline(config(false, 0f)).spec();
        assertEquals(base, LanguageModel.Spec.parse(base.toText()));
        LanguageModel.Spec scone = LanguageModel.scone(config(true, 0f), VOCABULARY).spec();
        assertEquals(scone, LanguageModel.Spec.parse(scone.toText()));
        assertThrows(IllegalArgumentException.class, () -> LanguageModel.Spec.parse("scone-model v2\n"
                + config(false, 0f).toText()));
        String noFingerprint = scone.toText().replaceFirst("fgrams.fingerprint=[0-9a-f]+\n", "");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LanguageModel.Spec.parse(noFingerprint));
        assertTrue(e.getMessage().contains("lacks its f-gram vocabulary fingerprint"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LanguageModel.Spec.parse(base.toText().replace(
                "layers=1", "layers=2")));
    }
}

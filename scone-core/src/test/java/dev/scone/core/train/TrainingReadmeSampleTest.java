package dev.scone.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.scone.core.InMemoryFgramEmbeddingTable;
import dev.scone.core.InferenceModel;
import dev.scone.core.LanguageModel;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.data.WindowDataset;
import dev.scone.core.testing.Fixtures;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.progress.ProgressListener;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training sample of the module README, kept compiling and running (tiny sizes). */
class TrainingReadmeSampleTest {

    @Test
    void trainEvaluateServeResume(@TempDir Path dir) throws Exception {
        TokenCorpus train = Fixtures.markovCorpus(1, 6, 40, 80, 20); // e.g. TokenIdFile.open(train.tok)
        TokenCorpus heldOut = Fixtures.markovCorpus(2, 3, 40, 60, 20);
        FgramVocabulary fgrams = Fixtures.countVocabulary(train, 3, 3); // e.g. FgramVocabularyFile.read(fgrams.bin)
        int e = 16;
        int context = 8;
        Path checkpoint = dir.resolve("scone.ckpt");

        // --- README sample ---
        // The same main model twice; the SCONE one adds A_fgram (1 layer, K positions) over V_fgram.
        LanguageModelConfig baseline = new LanguageModelConfig(train.vocabularySize(), context, e, 2, 2, 4 * e,
                false, 0f, null);
        LanguageModel model = LanguageModel.scone(
                baseline.withFgramModel(FgramModelConfig.of(e, 1, 2, 4 * e, fgrams.maxN())), fgrams);

        // Windows pre-scanned for the longest f-gram ending at each position.
        WindowDataset trainWindows = LanguageModel.windows(train, context, fgrams);
        WindowDataset heldOutWindows = LanguageModel.windows(heldOut, context, fgrams);
        TrainerConfig config = TrainerConfig.builder().setSeed(42).optBatchSize(4).optContextLength(context)
                .optLearningRate(1e-2f, 1e-3f).optSteps(2, 20).optEvaluation(10, 0).build();

        try (NDManager parameters = NDManager.newBaseManager()) {
            try (LanguageModelTrainer trainer = LanguageModelTrainer.builder().setModel(model).setConfig(config)
                    .setTrainingData(trainWindows).optValidationData(heldOutWindows)
                    .optParameterManager(parameters).build()) {
                trainer.train(10);
                trainer.saveCheckpoint(checkpoint); // records V_fgram's fingerprint, K and S
            }
            PerplexityResult trained = Evaluation.perplexity(model.block(), heldOutWindows, 16, 0);
            System.out.printf("perplexity %.2f: matched %.2f, unmatched %.2f%n", trained.perplexity(),
                    trained.matchedPerplexity(), trained.unmatchedPerplexity());

            // Inference: A_fgram precomputed once into a table; the model served from T and the table alone
            // (no A_fgram, no V_fgram) gives the same perplexity.
            try (InMemoryFgramEmbeddingTable table = InMemoryFgramEmbeddingTable.precompute(model.sconeEmbedding(),
                    1024, LanguageModel.matcherFor(fgrams))) {
                InferenceModel serving = InferenceModel.fromTrained(model, table, "ids-0..", parameters);
                PerplexityResult served = Evaluation.perplexity(serving.block(), heldOutWindows, 16, 0);
                // --- (checked below) ---
                assertEquals(trained.perplexity(), served.perplexity(), 1e-5 * trained.perplexity());
            }
        }

        // Continue the run exactly; another vocabulary is refused with both fingerprints.
        try (LanguageModelTrainer resumed = LanguageModelTrainer.resume(checkpoint, LanguageModel.factory(fgrams),
                trainWindows, heldOutWindows, ProgressListener.NONE, null)) {
            resumed.train();
            // --- end of sample ---
            assertEquals(20, resumed.step());
            assertEquals(2, resumed.history().size());
            double ppl = resumed.history().get(1).validationPerplexity();
            assertTrue(ppl > 1 && Double.isFinite(ppl), "perplexity " + ppl);
        }
    }
}

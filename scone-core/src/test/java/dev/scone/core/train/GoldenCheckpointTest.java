package dev.scone.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.scone.core.LanguageModel;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.ParameterFingerprint;
import dev.scone.core.testing.Fixtures;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Checkpoint format version 1 stays readable: a committed checkpoint of a tiny SCONE model (with
 * its f-gram vocabulary) loads into the same parameters, configuration and training state.
 * So do versions 2 and 3. {@link #main} writes the current version's file (only when a new
 * format version is added beside the older ones).
 */
class GoldenCheckpointTest {

    private static final String CHECKPOINT = "scone-v1.ckpt";
    private static final String CHECKPOINT_V2 = "scone-v2.ckpt";
    private static final String CHECKPOINT_V3 = "scone-v3.ckpt";
    /** ParameterFingerprint of the version-3 checkpoint's parameters (trained by the code of its day). */
    private static final String PARAMETERS_V3 = "478cd086369fd83c1b8820c770b3561a";
    private static final String VOCABULARY = "scone-v1-fgrams.bin";
    /** ParameterFingerprint of the committed checkpoint's parameters. */
    private static final String PARAMETERS = "47cfaf04e524a51182e6b0678b25339b";
    /** ParameterFingerprint of the version-2 checkpoint's parameters (trained by the code of its day). */
    private static final String PARAMETERS_V2 = "e43ad2057587525053cc6679b2eeaec7";

    @Test
    void checkpointVersion1LoadsIntoTheSameModel() throws Exception {
        Path dir = golden();
        FgramVocabulary vocabulary = FgramVocabularyFile.read(dir.resolve(VOCABULARY));
        Checkpoint.Header h = Checkpoint.readHeader(dir.resolve(CHECKPOINT));
        assertEquals(3, h.step());
        assertEquals(3L * 4 * 12, h.tokensSeen());
        assertEquals(42, h.trainerConfig().seed());
        try (NDManager m = NDManager.newBaseManager()) {
            LanguageModel model = (LanguageModel) Checkpoint.loadModel(dir.resolve(CHECKPOINT),
                    LanguageModel.factory(vocabulary), m);
            assertTrue(model.isScone());
            assertEquals(24, model.config().vocabularySize());
            assertEquals(PARAMETERS, ParameterFingerprint.of(model.block()));
        }
    }

    @Test
    void checkpointVersion2LoadsIntoTheSameModelWithItsDataOrigin() throws Exception {
        Path dir = golden();
        FgramVocabulary vocabulary = FgramVocabularyFile.read(dir.resolve(VOCABULARY));
        Checkpoint.Header v1 = Checkpoint.readHeader(dir.resolve(CHECKPOINT));
        Checkpoint.Header v2 = Checkpoint.readHeader(dir.resolve(CHECKPOINT_V2));
        assertEquals("", v1.dataOrigin(), "version 1 records no origin");
        assertEquals(null, v1.dataCompaction());
        assertEquals("", v2.dataOrigin(), "trained on an in-memory corpus: nothing to record");
        assertEquals(v1.step(), v2.step());
        try (NDManager m = NDManager.newBaseManager()) {
            LanguageModel model = (LanguageModel) Checkpoint.loadModel(dir.resolve(CHECKPOINT_V2),
                    LanguageModel.factory(vocabulary), m);
            assertEquals(PARAMETERS_V2, ParameterFingerprint.of(model.block()));
        }
    }

    @Test
    void checkpointVersion3LoadsWithItsTimeAndTrainingLosses() throws Exception {
        Path dir = golden();
        FgramVocabulary vocabulary = FgramVocabularyFile.read(dir.resolve(VOCABULARY));
        Checkpoint.Header v2 = Checkpoint.readHeader(dir.resolve(CHECKPOINT_V2));
        assertTrue(Double.isNaN(v2.wallSeconds()), "version 2 records no time");
        assertEquals(0, v2.stepsSinceValidation());
        Checkpoint.Header v3 = Checkpoint.readHeader(dir.resolve(CHECKPOINT_V3));
        assertEquals(3, v3.step());
        assertEquals(1, v3.history().size());
        HistoryPoint p = v3.history().get(0);
        assertEquals(2, p.step());
        assertTrue(p.trainingLoss() > 0 && p.wallSeconds() > 0, p.toString());
        assertTrue(v3.wallSeconds() > p.wallSeconds(), v3.toString());
        assertEquals(1, v3.stepsSinceValidation(), "the step after the validation");
        assertTrue(v3.lossSinceValidation() > 0);
        try (NDManager m = NDManager.newBaseManager()) {
            LanguageModel model = (LanguageModel) Checkpoint.loadModel(dir.resolve(CHECKPOINT_V3),
                    LanguageModel.factory(vocabulary), m);
            assertEquals(PARAMETERS_V3, ParameterFingerprint.of(model.block()));
        }
    }

    private static Path golden() throws URISyntaxException {
        return Path.of(GoldenCheckpointTest.class.getResource("/golden/checkpoint/" + CHECKPOINT).toURI()).getParent();
    }

    /**
     * Writes the golden files: a SCONE model trained 3 steps with seed 42.
     *
     * @param args the folder to write into
     * @throws Exception when training or writing fails
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        TokenCorpus train = Fixtures.markovCorpus(21, 8, 40, 90, 24);
        FgramVocabulary vocabulary = Fixtures.countVocabulary(train, 3, 4);
        FgramVocabularyFile.write(vocabulary, dir.resolve(VOCABULARY));
        LanguageModelConfig config = new LanguageModelConfig(24, 12, 16, 1, 2, 32, false, 0f, null)
                .withFgramModel(FgramModelConfig.of(16, 1, 2, 32, 3));
        try (NDManager parameters = NDManager.newBaseManager()) {
            LanguageModel model = LanguageModel.of(config, vocabulary);
            TrainerConfig tc = TrainerConfig.builder().setSeed(42).optBatchSize(4).optContextLength(12)
                    .optLearningRate(1e-2f, 1e-3f).optSteps(1, 3).optEvaluation(2, 4).build();
            try (LanguageModelTrainer t = LanguageModelTrainer.builder().setModel(model).setConfig(tc)
                    .setTrainingData(LanguageModel.windows(train, 12, vocabulary))
                    .optValidationData(LanguageModel.windows(train, 12, vocabulary)).optParameterManager(parameters)
                    .build()) {
                t.train(2);
                t.trainStep(); // one step past the last validation: its loss is pending in the checkpoint
                t.saveCheckpoint(dir.resolve(CHECKPOINT_V3)); // the current version; older files stay as committed
            }
            System.out.println("parameters " + ParameterFingerprint.of(model.block()));
        }
    }
}

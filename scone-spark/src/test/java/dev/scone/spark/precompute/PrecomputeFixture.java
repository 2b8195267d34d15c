package dev.scone.spark.precompute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.scone.core.LanguageModel;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.SconeEmbeddingBlock;
import dev.scone.core.data.WindowDataset;
import dev.scone.core.train.Checkpoint;
import dev.scone.core.train.LanguageModelTrainer;
import dev.scone.core.train.TrainerConfig;
import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import dev.scone.fgram.count.CountingConfig;
import dev.scone.fgram.count.FgramCounter;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStorePrecompute;
import dev.scone.store.ShardedFgramStore;
import dev.scone.store.StoreExpectations;
import dev.scone.store.VectorDtype;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * A briefly trained SCONE model saved as the trainer saves it, its f-gram vocabulary file, and
 * the single-file store {@link FgramStorePrecompute} writes for it: what the distributed
 * precompute must reproduce.
 *
 * @param vocabulary the f-gram vocabulary
 * @param vocabularyFile its file
 * @param checkpoint the model's checkpoint
 * @param singleStore the single-machine store (float32)
 * @param modelFingerprint the f-gram model's fingerprint
 * @param batch the precompute batch size both use
 */
public record PrecomputeFixture(FgramVocabulary vocabulary, Path vocabularyFile, Path checkpoint, Path singleStore,
        String modelFingerprint, int batch) {

    static final int V = 48;
    static final int T = 16;
    static final int E = 16;
    static final int K = 3;
    /** The token vocabulary fingerprint the stores record. */
    public static final String TOKENS_FP = "test-tokens-v1";

    private static InMemoryTokenCorpus corpus() {
        SplittableRandom r = new SplittableRandom(17);
        int[][] docs = new int[40][];
        for (int d = 0; d < docs.length; d++) {
            docs[d] = new int[60 + r.nextInt(80)];
            for (int i = 0; i < docs[d].length; i++) {
                docs[d][i] = r.nextInt(6) == 0 ? r.nextInt(V) : r.nextInt(8);
            }
        }
        return new InMemoryTokenCorpus(docs, V);
    }

    /**
     * @param dir an empty folder
     * @return the fixture, written there
     * @throws IOException when writing fails
     */
    public static PrecomputeFixture create(Path dir) throws IOException {
        InMemoryTokenCorpus corpus = corpus();
        FgramVocabulary vocab = new FgramCounter(CountingConfig.builder().optMaxN(K).optMinCount(2).setTopS(300).build())
                .count(corpus).vocabulary();
        assertTrue(vocab.size() > 100, "vocabulary of " + vocab.size());
        Path vocabFile = dir.resolve("v.fgv");
        FgramVocabularyFile.write(vocab, vocabFile);

        LanguageModelConfig config = new LanguageModelConfig(V, T, E, 1, 2, 2 * E, false, 0f, null)
                .withFgramModel(FgramModelConfig.of(E, 1, 2, 2 * E, K));
        Path ckpt = dir.resolve("model.ckpt");
        WindowDataset windows = LanguageModel.windows(corpus, T, vocab);
        try (LanguageModelTrainer t = LanguageModelTrainer.builder().setModel(LanguageModel.of(config, vocab))
                .setConfig(TrainerConfig.builder().setSeed(3).optBatchSize(4).optContextLength(T)
                        .optSteps(1, 2).optEvaluation(0, 0).build())
                .setTrainingData(windows).build()) {
            t.train();
            t.saveCheckpoint(ckpt);
        }

        int batch = 37;
        Path single = dir.resolve("single");
        String modelFp;
        try (NDManager m = NDManager.newBaseManager()) {
            SconeEmbeddingBlock block = ((LanguageModel) Checkpoint.loadModel(ckpt, LanguageModel.factory(vocab), m))
                    .sconeEmbedding();
            modelFp = FgramStorePrecompute.modelFingerprint(block);
            FgramStorePrecompute.builder().setBlock(block).setPath(single).optDtype(VectorDtype.FLOAT32).optBatchSize(batch)
                    .setTokenVocabularyFingerprint(TOKENS_FP).build().run();
        }
        return new PrecomputeFixture(vocab, vocabFile, ckpt, single, modelFp, batch);
    }

    /** @return the store's expectations for this fixture's model and vocabularies */
    public StoreExpectations expectations(String mainModelFingerprint) {
        return StoreExpectations.none().withFgramVocabulary(vocabulary).withModelFingerprint(modelFingerprint)
                .withTokenVocabularyFingerprint(TOKENS_FP).withMainModelFingerprint(mainModelFingerprint);
    }

    /**
     * Checks that a sharded store serves bit for bit the single store's vectors: every f-gram, and
     * batch window lookups (longest match first).
     *
     * @param sharded the sharded store folder
     * @param mainModelFingerprint the main-model fingerprint it records
     * @throws IOException when a store cannot be read
     */
    public void assertSameVectors(Path sharded, String mainModelFingerprint) throws IOException {
        try (FgramStore one = FgramStore.open(singleStore); ShardedFgramStore many = ShardedFgramStore.open(sharded,
                FgramStore.OpenOptions.defaults().withExpectations(expectations(mainModelFingerprint)))) {
            many.verify();
            assertEquals(one.size(), many.size());
            float[] a = new float[E];
            float[] b = new float[E];
            for (int id = 0; id < vocabulary.size(); id++) {
                int[] g = vocabulary.tokens(id);
                assertTrue(one.lookup(g, 0, g.length, a, 0) >= 0);
                assertTrue(many.lookup(g, 0, g.length, b, 0) >= 0);
                assertArrayEquals(a, b, 0f, "f-gram " + id);
            }
            Random r = new Random(9);
            int rows = 3;
            for (int round = 0; round < 10; round++) {
                int[] window = new int[rows * T];
                for (int i = 0; i < window.length; i++) {
                    window[i] = r.nextInt(5) == 0 ? r.nextInt(V) : r.nextInt(8);
                }
                float[] x = new float[rows * T * E];
                float[] y = new float[rows * T * E];
                int[] lx = new int[rows * T];
                int[] ly = new int[rows * T];
                int matched = one.lookupBatch(window, rows, T, x, lx);
                assertTrue(matched > 0);
                assertEquals(matched, many.lookupBatch(window, rows, T, y, ly));
                assertArrayEquals(lx, ly);
                assertArrayEquals(x, y, 0f);
            }
        }
    }
}

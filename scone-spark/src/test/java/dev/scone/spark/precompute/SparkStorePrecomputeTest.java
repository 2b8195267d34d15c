package dev.scone.spark.precompute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import dev.scone.spark.LocalSpark;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStorePrecompute;
import dev.scone.store.ShardedFgramStore;
import dev.scone.store.ShardedStoreManifest;
import dev.scone.store.StoreMismatchException;
import dev.scone.store.VectorDtype;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SparkStorePrecomputeTest {

    private static final int V = 48;
    private static final int T = 16;
    private static final int E = 16;
    private static final int K = 3;
    private static final String TOKENS_FP = "test-tokens-v1";

    @TempDir
    Path tmp;

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

    @Test
    void shardedStoreServesExactlyTheSingleStoresVectors() throws IOException {
        InMemoryTokenCorpus corpus = corpus();
        FgramVocabulary vocab = new FgramCounter(CountingConfig.builder().optMaxN(K).optMinCount(2).setTopS(300).build())
                .count(corpus).vocabulary();
        assertTrue(vocab.size() > 100, "vocabulary of " + vocab.size());
        Path vocabFile = tmp.resolve("v.fgv");
        FgramVocabularyFile.write(vocab, vocabFile);

        // a briefly trained SCONE model, saved as the trainer saves it
        LanguageModelConfig config = new LanguageModelConfig(V, T, E, 1, 2, 2 * E, false, 0f, null)
                .withFgramModel(FgramModelConfig.of(E, 1, 2, 2 * E, K));
        Path ckpt = tmp.resolve("model.ckpt");
        WindowDataset windows = LanguageModel.windows(corpus, T, vocab);
        try (LanguageModelTrainer t = LanguageModelTrainer.builder().setModel(LanguageModel.of(config, vocab))
                .setConfig(TrainerConfig.builder().setSeed(3).optBatchSize(4).optContextLength(T)
                        .optSteps(1, 2).optEvaluation(0, 0).build())
                .setTrainingData(windows).build()) {
            t.train();
            t.saveCheckpoint(ckpt);
        }

        int batch = 37;
        Path single = tmp.resolve("single");
        String modelFp;
        try (NDManager m = NDManager.newBaseManager()) {
            SconeEmbeddingBlock block = ((LanguageModel) Checkpoint.loadModel(ckpt, LanguageModel.factory(vocab), m))
                    .sconeEmbedding();
            modelFp = FgramStorePrecompute.modelFingerprint(block);
            FgramStorePrecompute.builder().setBlock(block).setPath(single).optDtype(VectorDtype.FLOAT32).optBatchSize(batch)
                    .setTokenVocabularyFingerprint(TOKENS_FP).build().run();
        }

        Path sharded = tmp.resolve("sharded");
        ShardedStoreManifest m = new SparkStorePrecompute(LocalSpark.get(),
                new SparkStorePrecompute.Settings(3, 2, batch, VectorDtype.FLOAT32, TOKENS_FP, "main-under-test"))
                .run(vocabFile.toString(), new CheckpointModelSource(ckpt.toString(),
                        LocalSpark.get().hadoopConfiguration()), sharded.toUri().toString());
        assertEquals(3, m.shardCount());
        assertEquals(vocab.size(), m.size());
        assertEquals(modelFp, m.modelFingerprint());
        assertEquals("main-under-test", m.mainModelFingerprint());

        try (FgramStore one = FgramStore.open(single); ShardedFgramStore many = ShardedFgramStore.open(sharded,
                FgramStore.OpenOptions.defaults().withExpectations(dev.scone.store.StoreExpectations.none()
                        .withFgramVocabulary(vocab).withModelFingerprint(modelFp)
                        .withTokenVocabularyFingerprint(TOKENS_FP).withMainModelFingerprint("main-under-test")))) {
            many.verify();
            assertEquals(one.size(), many.size());
            float[] a = new float[E];
            float[] b = new float[E];
            for (int id = 0; id < vocab.size(); id++) {
                int[] g = vocab.tokens(id);
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
        StoreMismatchException e = assertThrows(StoreMismatchException.class, () -> ShardedFgramStore.open(sharded,
                FgramStore.OpenOptions.defaults().withExpectations(dev.scone.store.StoreExpectations.none()
                        .withModelFingerprint("another-model"))));
        assertEquals("modelFingerprint", e.field());
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new SparkStorePrecompute.Settings(0, 1, 1, null, "t"));
        assertThrows(IllegalArgumentException.class, () -> new SparkStorePrecompute.Settings(1, 0, 1, null, "t"));
        assertThrows(IllegalArgumentException.class, () -> new SparkStorePrecompute.Settings(1, 1, 0, null, "t"));
        assertThrows(IllegalArgumentException.class, () -> new SparkStorePrecompute.Settings(1, 1, 1, null, " "));
        assertThrows(IllegalArgumentException.class, () -> new SparkStorePrecompute.Settings(1, 1, 1, null, "t", " "));
        assertEquals(dev.scone.store.StoreManifest.UNSPECIFIED,
                new SparkStorePrecompute.Settings(1, 1, 1, null, "t").mainModelFingerprint());
    }
}

package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.scone.core.FgramCombine;
import dev.scone.core.SconeEmbeddingBlock;
import dev.scone.core.TableEmbeddingBlock;
import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import dev.scone.fgram.count.CountingConfig;
import dev.scone.fgram.count.FgramCounter;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.nn.PositionEmbeddingBlock;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scone in someone else's stack, the README's minimal user program: count f-grams, put scone's
 * input embedding inside the user's own DJL blocks and train them with DJL's {@link Trainer},
 * {@link EasyTrain} and optimizer on a DJL dataset, save and reload through DJL's model files,
 * precompute the store, and serve the same model from T and the store.
 */
class UserProgramTest {

    private static final int V = 40;
    private static final int E = 16;
    private static final int T = 12;
    private static final int K = 3;

    /** Documents made of a few repeated phrases, so that f-grams repeat and are learnable. */
    private static int[][] corpus(long seed, int documents) {
        Random r = new Random(seed);
        int[][] phrases = new int[12][];
        for (int i = 0; i < phrases.length; i++) {
            phrases[i] = new int[2 + r.nextInt(3)];
            for (int k = 0; k < phrases[i].length; k++) {
                phrases[i][k] = r.nextInt(V);
            }
        }
        int[][] docs = new int[documents][];
        for (int d = 0; d < documents; d++) {
            List<Integer> doc = new ArrayList<>();
            while (doc.size() < 3 * T) {
                for (int t : phrases[r.nextInt(phrases.length)]) {
                    doc.add(t);
                }
            }
            docs[d] = doc.stream().mapToInt(Integer::intValue).toArray();
        }
        return docs;
    }

    /** Next-token cross-entropy over (B, T, V) logits and (B, T) labels. */
    private static final class NextTokenLoss extends Loss {
        private final Loss inner = Loss.softmaxCrossEntropyLoss();

        NextTokenLoss() {
            super("next_token_loss");
        }

        @Override
        public NDArray evaluate(NDList labels, NDList predictions) {
            return inner.evaluate(new NDList(labels.singletonOrThrow().reshape(-1)),
                    new NDList(predictions.singletonOrThrow().reshape(-1, V)));
        }
    }

    private static float meanLoss(SequentialBlock net, NDManager m, NDArray x, NDArray y) {
        try (NDManager scope = m.newSubManager()) {
            NDArray logits = net.forward(new ParameterStore(scope, false), new NDList(x), false).singletonOrThrow();
            return new NextTokenLoss().evaluate(new NDList(y), new NDList(logits)).getFloat();
        }
    }

    @Test
    void countTrainWithDjlsTrainerPrecomputeAndServe(@TempDir Path dir) throws Exception {
        // 1. Count f-grams on the training documents (Algorithm 3).
        int[][] docs = corpus(7, 60);
        FgramVocabulary vocabulary = new FgramCounter(CountingConfig.builder().setTopS(300).optMaxN(K).optMinCount(2)
                .optThreads(1).build()).count(new InMemoryTokenCorpus(docs, V)).vocabulary();
        assertTrue(vocabulary.size() > 10, "f-grams found: " + vocabulary.size());

        // 2. The user's model: scone's input embedding (it matches the token ids itself), scone's
        // position embedding, then DJL's own blocks.
        SconeEmbeddingBlock scone = new SconeEmbeddingBlock(V, FgramModelConfig.of(E, 1, 2, 2 * E, K), vocabulary);
        PositionEmbeddingBlock positions = new PositionEmbeddingBlock(T, E);
        SequentialBlock head = new SequentialBlock().add(Linear.builder().setUnits(2 * E).build())
                .add(Activation::gelu).add(Linear.builder().setUnits(V).build());
        SequentialBlock net = new SequentialBlock().add(scone).add(positions).add(head);

        // Windows of T tokens and their next tokens, as a DJL dataset.
        int windows = docs.length * 2;
        int[] x = new int[windows * T];
        int[] y = new int[windows * T];
        for (int w = 0; w < windows; w++) {
            int[] doc = docs[w / 2];
            int start = (w % 2) * T;
            System.arraycopy(doc, start, x, w * T, T);
            System.arraycopy(doc, start + 1, y, w * T, T);
        }
        Engine.getInstance().setRandomSeed(11);
        try (Model model = Model.newInstance("user-scone", Device.cpu())) {
            model.setBlock(net);
            NDManager m = model.getNDManager();
            NDArray xs = m.create(x, new Shape(windows, T));
            NDArray ys = m.create(y, new Shape(windows, T));
            ArrayDataset data = new ArrayDataset.Builder().setData(xs).optLabels(ys).setSampling(8, false).build();
            DefaultTrainingConfig config = new DefaultTrainingConfig(new NextTokenLoss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(5e-3f)).build())
                    .optDevices(new Device[] {Device.cpu()});
            float before;
            float after;
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(8, T));
                before = meanLoss(net, m, xs, ys);
                EasyTrain.fit(trainer, 8, data, null);
                after = meanLoss(net, m, xs, ys);
            }
            assertTrue(before > 0.9 * Math.log(V), "starts near ln V: " + before);
            assertTrue(after < before - 1.0, "the loss falls: " + before + " -> " + after);

            // 3. DJL's model files keep the trained weights: a fresh model of the same blocks loads them.
            model.save(dir.resolve("model"), "user-scone");
            float[] trained = net.forward(new ParameterStore(m, false), new NDList(xs), false).singletonOrThrow()
                    .toFloatArray();
            SconeEmbeddingBlock scone2 = new SconeEmbeddingBlock(V, FgramModelConfig.of(E, 1, 2, 2 * E, K), vocabulary);
            SequentialBlock net2 = new SequentialBlock().add(scone2).add(new PositionEmbeddingBlock(T, E))
                    .add(new SequentialBlock().add(Linear.builder().setUnits(2 * E).build()).add(Activation::gelu)
                            .add(Linear.builder().setUnits(V).build()));
            try (Model reloaded = Model.newInstance("user-scone", Device.cpu())) {
                reloaded.setBlock(net2);
                reloaded.load(dir.resolve("model"), "user-scone");
                float[] again = net2.forward(new ParameterStore(reloaded.getNDManager(), false),
                        new NDList(reloaded.getNDManager().create(x, new Shape(windows, T))), false)
                        .singletonOrThrow().toFloatArray();
                assertArrayEquals(trained, again, 0f, "reloaded from DJL's model files");
            }

            // 4. Precompute every f-gram's vector into a store, then 5. serve: T and the store replace
            // the training-time block (no A_fgram, no V_fgram), the user's other blocks unchanged.
            Path storeDir = dir.resolve("store");
            StoreManifest manifest = FgramStorePrecompute.builder().setBlock(scone).setPath(storeDir)
                    .setTokenVocabularyFingerprint("user-tokens").build().run();
            assertEquals(vocabulary.size(), manifest.size());
            try (FgramStore store = FgramStorePrecompute.open(storeDir, scone, "user-tokens",
                    FgramStore.OpenOptions.defaults())) {
                SequentialBlock served = new SequentialBlock()
                        .add(new TableEmbeddingBlock(scone.tokenEmbedding(), store, FgramCombine.REPLACE))
                        .add(positions).add(head);
                float[] fromStore = served.forward(new ParameterStore(m, false), new NDList(xs), false)
                        .singletonOrThrow().toFloatArray();
                float worst = 0;
                for (int i = 0; i < trained.length; i++) {
                    worst = Math.max(worst, Math.abs(trained[i] - fromStore[i]));
                }
                assertTrue(worst < 1e-4f, "served from the store as trained: max difference " + worst);
            }
        }
    }
}

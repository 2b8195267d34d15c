package dev.scone.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import dev.scone.fgram.match.FgramMatcher;
import dev.scone.fgram.nn.DecoderConfig;
import dev.scone.fgram.nn.DecoderStackBlock;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.vocab.FgramVocabulary;
import org.junit.jupiter.api.Test;

/** The code sample of the module README, kept compiling and running. */
class ReadmeSampleTest {

    @Test
    void sconeEmbeddingInsideAUsersOwnModel() {
        FgramVocabulary vocabulary = Fixtures.vocabulary(); // V_fgram, e.g. read from its file
        int vocabularySize = vocabulary.tokenVocabularySize();
        int e = 16;

        // --- README sample ---
        // T + A_fgram: where an f-gram ends, its A_fgram embedding replaces T(token).
        SconeEmbeddingBlock embedding = new SconeEmbeddingBlock(vocabularySize,
                FgramModelConfig.of(e, 1, 2, 4 * e, vocabulary.maxN()), vocabulary);
        // Any DJL model can start with it: it maps NDList(tokenIds, fgramIds) to (B, T, E).
        DecoderStackBlock decoder = new DecoderStackBlock(DecoderConfig.of(e, 2, 2, 4 * e));
        Linear head = Linear.builder().setUnits(vocabularySize).build();
        SequentialBlock model = new SequentialBlock().add(embedding).add(decoder).add(head);

        try (NDManager manager = NDManager.newBaseManager()) {
            model.initialize(manager, DataType.FLOAT32, new Shape(1, 6), new Shape(1, 6));
            ParameterStore ps = new ParameterStore(manager, false);

            // The pre-scan: the longest f-gram ending at each position of each row (-1 = none).
            int[] tokens = {1, 2, 3, 9, 4, 5};
            FgramMatcher matcher = dev.scone.fgram.match.LevelwiseMatcher.of(vocabulary);
            int[] fgramIds = matcher.match(tokens);
            NDList input = new NDList(manager.create(tokens, new Shape(1, 6)), manager.create(fgramIds, new Shape(1, 6)));

            // Training (and evaluation during training): A_fgram runs once per distinct f-gram.
            NDArray trained = model.forward(ps, input, false).singletonOrThrow(); // (1, 6, V)

            // Inference: precompute every f-gram's vector once; serve T and the table, without A_fgram.
            try (FgramEmbeddingTable table = InMemoryFgramEmbeddingTable.precompute(embedding, 1024)) {
                SequentialBlock serving = new SequentialBlock()
                        .add(new TableEmbeddingBlock(embedding.tokenEmbedding(), table, FgramCombine.REPLACE))
                        .add(decoder).add(head); // the trained blocks themselves
                NDArray served = serving.forward(ps, new NDList(input.get(0)), false).singletonOrThrow();
                // --- end of sample ---
                assertEquals(new Shape(1, 6, vocabularySize), served.getShape());
                assertTrue(Fixtures.maxAbsDiff(trained.toFloatArray(), served.toFloatArray()) < 1e-5f);
            }
        }
    }

    @Test
    void servingFromAnExport(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        FgramVocabulary vocabulary = Fixtures.vocabulary();
        java.nio.file.Path exportFile = dir.resolve("scone.inference");
        String tokenVocabularyFingerprint = "ids-0..23";
        int stopToken = 0;
        try (NDManager training = NDManager.newBaseManager()) {
            LanguageModel trained = LanguageModel.scone(Fixtures.config(true, false), vocabulary);
            Fixtures.initialize(trained.block(), training, 3, 1, 4);
            try (FgramEmbeddingTable table = InMemoryFgramEmbeddingTable.precompute(trained.sconeEmbedding(), 64)) {
                // --- README sample ---
                // After training (`trained` is the LanguageModel): what serving needs, without A_fgram or V_fgram.
                InferenceModel.export(trained, exportFile, tokenVocabularyFingerprint, null);

                // Serving: the export and the f-gram vectors (a store opened with FgramStorePrecompute.openFor, or
                // any FgramEmbeddingTable computed from the same model).
                try (NDManager manager = NDManager.newBaseManager()) {
                    InferenceModel model = InferenceModel.load(exportFile, table, manager);
                    dev.scone.core.generate.TextGenerator generator = dev.scone.core.generate.TextGenerator.builder()
                            .setModel(model.block()).setManager(manager).setSeed(1).optStopTokens(stopToken).build();
                    java.util.List<dev.scone.core.generate.TextGenerator.Generation> out = generator.generate(
                            new int[][] {{1, 2, 3}, {7, 8}}, 20, dev.scone.core.generate.Sampling.topP(0.9f, 1f));
                    // --- end of sample ---
                    assertEquals(2, out.size());
                    for (var g : out) {
                        assertTrue(g.tokens().length >= 1 && g.tokens().length <= 20);
                    }
                }
            }
        }
    }
}

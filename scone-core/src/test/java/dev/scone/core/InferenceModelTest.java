package dev.scone.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.nn.FgramModelBlock;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inference export: what serving needs, nothing of A_fgram or V_fgram, and its binding. */
class InferenceModelTest {

    private final FgramVocabulary vocabulary = Fixtures.vocabulary();

    private LanguageModel trained(NDManager m, boolean scone, long seed) {
        LanguageModel model = LanguageModel.of(Fixtures.config(scone, false), vocabulary);
        Fixtures.initialize(model.block(), m, seed, 1, 4);
        return model;
    }

    private static float[] logits(NDManager m, CausalLanguageModelBlock block, int[][] tokens) {
        try (NDManager s = m.newSubManager()) {
            NDList in = new NDList(Fixtures.ints(s, tokens));
            NDArray out = block.forward(new ParameterStore(s, false), in, false).singletonOrThrow();
            return out.toFloatArray();
        }
    }

    private static boolean holdsFgramModel(Block b) {
        if (b instanceof FgramModelBlock || b instanceof SconeEmbeddingBlock) {
            return true;
        }
        return b.getChildren().values().stream().anyMatch(InferenceModelTest::holdsFgramModel);
    }

    @Test
    void anExportServesWhatTheTrainedModelComputesWithoutAfgram(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("scone.inference");
        byte[] compaction = "a compaction file".getBytes(StandardCharsets.UTF_8);
        try (NDManager m = NDManager.newBaseManager()) {
            LanguageModel trained = trained(m, true, 3);
            InferenceModel.Header written = InferenceModel.export(trained, file, "tokens-x", compaction);
            try (InMemoryFgramEmbeddingTable table = InMemoryFgramEmbeddingTable.precompute(trained.sconeEmbedding(), 4);
                    NDManager serving = NDManager.newBaseManager()) {
                InferenceModel inMemory = InferenceModel.fromTrained(trained, table, "tokens-x", m);
                InferenceModel loaded = InferenceModel.load(file, table, serving);
                assertArrayEquals(logits(m, inMemory.block(), Fixtures.tokens()),
                        logits(serving, loaded.block(), Fixtures.tokens()), 0f, "export = in-memory build, bit for bit");
                assertTrue(!holdsFgramModel(loaded.block()), "the served model holds no A_fgram");
                assertTrue(loaded.block().getParameters().keys().stream().noneMatch(k -> k.contains("fgramModel")));
                InferenceModel.Binding b = loaded.binding();
                assertEquals(written.binding(), b);
                assertEquals(ParameterFingerprint.of(trained.sconeEmbedding()), b.fgramModelFingerprint());
                assertEquals(vocabulary.fingerprint(), b.fgramVocabularyFingerprint());
                assertEquals(InferenceModel.mainModelFingerprint(trained.block()), b.mainModelFingerprint());
                assertEquals(InferenceModel.mainModelFingerprint(loaded.block()), b.mainModelFingerprint());
                assertEquals("tokens-x", b.tokenVocabularyFingerprint());
                assertArrayEquals(compaction, InferenceModel.readHeader(file).compaction());
            }
        }
    }

    @Test
    void aBaselineExportsWithoutAStore(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("baseline.inference");
        try (NDManager m = NDManager.newBaseManager()) {
            LanguageModel trained = trained(m, false, 5);
            InferenceModel.export(trained, file, InferenceModel.UNSPECIFIED, null);
            InferenceModel loaded = InferenceModel.load(file, null, m);
            assertArrayEquals(logits(m, trained.block(), Fixtures.tokens()), logits(m, loaded.block(),
                    Fixtures.tokens()), 0f);
            assertTrue(!loaded.isScone() && loaded.binding().fgramModelFingerprint() == null);
            assertNull(InferenceModel.readHeader(file).compaction());
            try (InMemoryFgramEmbeddingTable t = InMemoryFgramEmbeddingTable.precompute(
                    trained(m, true, 5).sconeEmbedding(), 4)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> InferenceModel.load(file, t, m));
                assertTrue(e.getMessage().contains("holds a baseline"), e.getMessage());
            }
        }
    }

    @Test
    void aStoreOfAnotherModelOrNoneIsRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("scone.inference");
        try (NDManager m = NDManager.newBaseManager()) {
            LanguageModel trained = trained(m, true, 3);
            InferenceModel.export(trained, file, "t", null);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> InferenceModel.load(file, null, m));
            assertTrue(e.getMessage().contains("give the f-gram store"), e.getMessage());
            LanguageModel other = trained(m, true, 4);
            try (InMemoryFgramEmbeddingTable t = InMemoryFgramEmbeddingTable.precompute(other.sconeEmbedding(), 4)) {
                e = assertThrows(IllegalArgumentException.class, () -> InferenceModel.load(file, t, m));
                assertTrue(e.getMessage().contains("vectors come from model " + ParameterFingerprint.of(
                        other.sconeEmbedding())), e.getMessage());
            }
        }
    }

    @Test
    void damagedOrForeignFilesAreRefusedByName(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("baseline.inference");
        try (NDManager m = NDManager.newBaseManager()) {
            InferenceModel.export(trained(m, false, 5), file, "t", null);
            byte[] bytes = Files.readAllBytes(file);
            bytes[bytes.length / 2] ^= 1;
            Path flipped = dir.resolve("flipped.inference");
            Files.write(flipped, bytes);
            SconeFormatException e = assertThrows(SconeFormatException.class, () -> InferenceModel.load(flipped, null, m));
            assertTrue(e.getMessage().contains(flipped.toString()) && e.getMessage().contains("checksum mismatch"),
                    e.getMessage());
            Path cut = dir.resolve("cut.inference");
            Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(file), 100));
            e = assertThrows(SconeFormatException.class, () -> InferenceModel.readHeader(cut));
            assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
            Path foreign = dir.resolve("notes.txt");
            Files.writeString(foreign, "not a model at all, but long enough to be read");
            e = assertThrows(SconeFormatException.class, () -> InferenceModel.readHeader(foreign));
            assertTrue(e.getMessage().contains("not a scone inference model"), e.getMessage());
            e = assertThrows(SconeFormatException.class, () -> InferenceModel.readHeader(dir));
            assertTrue(e.getMessage().contains("is a folder"), e.getMessage());
        }
    }

    @Test
    void tokenInputsAreAllItNeeds() {
        try (NDManager m = NDManager.newBaseManager()) {
            LanguageModel trained = trained(m, true, 8);
            try (InMemoryFgramEmbeddingTable table = InMemoryFgramEmbeddingTable.precompute(trained.sconeEmbedding(), 4)) {
                InferenceModel served = InferenceModel.fromTrained(trained, table, "t", m);
                NDArray ids = m.create(new int[] {1, 2, 3}, new Shape(1, 3));
                NDArray out = served.block().forward(new ParameterStore(m, false), new NDList(ids), false)
                        .singletonOrThrow();
                assertEquals(new Shape(1, 3, Fixtures.V), out.getShape());
            }
        }
    }
}

package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import dev.scone.core.CausalLanguageModelBlock;
import dev.scone.core.FgramCombine;
import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.InMemoryFgramEmbeddingTable;
import dev.scone.core.InferenceModel;
import dev.scone.core.LanguageModel;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.ParameterFingerprint;
import dev.scone.core.SconeEmbeddingBlock;
import dev.scone.core.TableEmbeddingBlock;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.progress.ProgressBarListener;
import dev.scone.fgram.progress.ProgressListener;
import dev.scone.fgram.testing.BruteForceMatcher;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny SCONE model, precomputed into a store of each dtype: inference over the store equals the
 * f-gram model mode (the training-time computation), exactly up to float rounding for float32 and
 * within the dtype's quantisation bound otherwise, for the embedding block and for the whole
 * model's logits; and a store refuses any other model.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SconeStoreEquivalenceTest {

    private static final int V = 64;
    private static final int E = 16;
    private static final int K = 3;
    private static final int CONTEXT = 16;
    private static final int ROWS = 6;
    private static final String TOKENS_FP = "test-tokenizer-v1";
    /** Float rounding between the batch A_fgram runs (other batch composition and padding). */
    private static final float F32_TOLERANCE = 1e-5f;

    @TempDir
    static Path tmp;

    private NDManager manager;
    private FgramVocabulary vocab;
    private LanguageModel trained;
    private CausalLanguageModelBlock model;
    private SconeEmbeddingBlock scone;
    private FgramStore f32;
    private FgramStore bf16;
    private FgramStore int8;
    private int[] tokens;
    private int[] fgramIds;
    // references: f-gram model mode, inference pass
    private float[] refEmbeddings;
    private float[] refLogits;

    @BeforeAll
    void buildModelAndStores() throws IOException {
        manager = NDManager.newBaseManager();
        vocab = vocabulary(new Random(3));
        trained = newModel(11);
        model = trained.block();
        scone = trained.sconeEmbedding();
        Random r = new Random(5);
        tokens = new int[ROWS * CONTEXT];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = r.nextInt(12) == 0 ? r.nextInt(V) : r.nextInt(10);
        }
        fgramIds = new int[tokens.length];
        BruteForceMatcher matcher = new BruteForceMatcher(vocab);
        for (int row = 0; row < ROWS; row++) {
            matcher.match(tokens, row * CONTEXT, CONTEXT, fgramIds, row * CONTEXT);
        }
        refEmbeddings = forward(scone);
        refLogits = forward(model);
        f32 = precompute("f32", VectorDtype.FLOAT32, 7);
        bf16 = precompute("bf16", VectorDtype.BFLOAT16, 64);
        int8 = precompute("int8", VectorDtype.INT8, 1000);
    }

    @AfterAll
    void close() {
        for (AutoCloseable c : new AutoCloseable[] {f32, bf16, int8, manager}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    /** Random f-grams over a dense alphabet of 10 tokens (many matches, overlaps, all lengths). */
    private static FgramVocabulary vocabulary(Random r) {
        List<int[]> grams = new ArrayList<>();
        HashSet<String> seen = new HashSet<>();
        while (grams.size() < 150) {
            int[] g = new int[2 + r.nextInt(K - 1)];
            for (int k = 0; k < g.length; k++) {
                g[k] = r.nextInt(20) == 0 ? r.nextInt(V) : r.nextInt(10);
            }
            if (seen.add(Arrays.toString(g))) {
                grams.add(g);
            }
        }
        long[] counts = new long[grams.size()];
        Arrays.fill(counts, 5);
        return FgramVocabulary.of(V, K, grams, counts);
    }

    private LanguageModel newModel(int seed) {
        LanguageModelConfig config = new LanguageModelConfig(V, CONTEXT, E, 2, 2, 32, false, 0f,
                FgramModelConfig.of(E, 1, 2, 32, K));
        LanguageModel m = LanguageModel.scone(config, vocab);
        Engine.getInstance().setRandomSeed(seed);
        m.block().initialize(manager, DataType.FLOAT32, new Shape(ROWS, CONTEXT), new Shape(ROWS, CONTEXT));
        return m;
    }

    private FgramStore precompute(String name, VectorDtype dtype, int batch) throws IOException {
        Path dir = tmp.resolve(name);
        long[] advanced = {0};
        StoreManifest m = FgramStorePrecompute.builder().setBlock(scone).setPath(dir).optDtype(dtype).optBatchSize(batch)
                .setTokenVocabularyFingerprint(TOKENS_FP).optProgress(new ProgressListener() {
                    @Override
                    public void start(String task, long total, long done) {
                        assertEquals(vocab.size(), total);
                        assertEquals(0, done);
                    }

                    @Override
                    public void stepTo(long done, String status) {
                        advanced[0] = done;
                    }

                    @Override
                    public void advance(long steps) {
                        advanced[0] += steps;
                    }

                    @Override
                    public void finish() {}
                }).build().run();
        assertEquals(vocab.size(), advanced[0]);
        assertEquals(vocab.size(), m.size());
        assertEquals(dtype, m.dtype());
        assertEquals(vocab.fingerprint(), m.fgramVocabularyFingerprint());
        assertEquals(TOKENS_FP, m.tokenVocabularyFingerprint());
        assertEquals(ParameterFingerprint.of(scone), m.modelFingerprint());
        return FgramStorePrecompute.open(dir, scone, TOKENS_FP, FgramStore.OpenOptions.defaults());
    }

    /** One inference forward pass, output as floats. */
    private float[] forward(ai.djl.nn.Block block) {
        try (NDManager scope = manager.newSubManager()) {
            NDList in = new NDList(scope.create(tokens, new Shape(ROWS, CONTEXT)),
                    scope.create(fgramIds, new Shape(ROWS, CONTEXT)));
            NDArray out = block.forward(new ParameterStore(scope, false), in, false).singletonOrThrow();
            return out.toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    /** The embedding block or the whole model at inference: T and the store, no A_fgram. */
    private float[] forwardWithTable(ai.djl.nn.Block block, FgramEmbeddingTable store) {
        if (block == scone) {
            return forward(new TableEmbeddingBlock(scone.tokenEmbedding(), store, FgramCombine.REPLACE));
        }
        if (block != model) {
            throw new IllegalArgumentException("the fixture's embedding block or model");
        }
        try (NDManager serving = manager.newSubManager()) {
            return forward(InferenceModel.fromTrained(trained, store, TOKENS_FP, serving).block());
        }
    }

    private int matchedPositions() {
        int n = 0;
        for (int id : fgramIds) {
            n += id >= 0 ? 1 : 0;
        }
        return n;
    }

    @Test
    void fixtureMatchesManyPositionsOfEveryLength() {
        assertTrue(matchedPositions() > tokens.length / 3, "matched " + matchedPositions());
        boolean[] lengths = new boolean[K + 1];
        for (int id : fgramIds) {
            if (id >= 0) {
                lengths[vocab.length(id)] = true;
            }
        }
        for (int n = 2; n <= K; n++) {
            assertTrue(lengths[n], "no match of length " + n);
        }
    }

    @Test
    void storeServesTheTableContractLikeTheInMemoryTable() {
        // Same batch size as the f32 store's precompute: A_fgram then sees the same batches, so the
        // vectors are bit-identical (other batchings may round differently in the last bit).
        try (InMemoryFgramEmbeddingTable mem = InMemoryFgramEmbeddingTable.precompute(scone, 7)) {
            float[] expected = new float[tokens.length * E];
            float[] got = new float[tokens.length * E];
            Arrays.fill(expected, -7f);
            Arrays.fill(got, -7f);
            int[] expectedLengths = new int[tokens.length];
            int[] gotLengths = new int[tokens.length];
            Arrays.fill(gotLengths, 99);
            assertEquals(mem.lookup(tokens, ROWS, CONTEXT, expected, expectedLengths),
                    f32.lookup(tokens, ROWS, CONTEXT, got, gotLengths));
            assertArrayEquals(expectedLengths, gotLengths);
            assertArrayEquals(expected, got, "float32 store = in-memory table bit for bit; unmatched left alone");
            for (int p = 0; p < tokens.length; p++) {
                assertEquals(fgramIds[p] < 0 ? 0 : vocab.length(fgramIds[p]), gotLengths[p], "length at " + p);
            }
        }
        assertEquals(E, f32.embeddingSize());
        assertEquals(K, f32.maxN());
        assertEquals(vocab.size(), f32.size());
    }

    @Test
    void float32StoreEqualsTheFgramModel() {
        float[] emb = forwardWithTable(scone, f32);
        assertTrue(maxAbsDiff(refEmbeddings, emb) <= F32_TOLERANCE, "embeddings " + maxAbsDiff(refEmbeddings, emb));
        float[] logits = forwardWithTable(model, f32);
        assertTrue(maxAbsDiff(refLogits, logits) <= F32_TOLERANCE, "logits " + maxAbsDiff(refLogits, logits));
    }

    /**
     * bfloat16: each stored element is within 2^-8 relative of A_fgram's float32 output (see
     * {@link VectorDtype}), which differs from the f-gram model pass by at most the float32
     * tolerance t, so {@code |e_store - e_ref| <= 2^-8 (|e_ref| + t) + t}.
     */
    @Test
    void bfloat16StoreIsWithinItsQuantisationBound() {
        float[] emb = forwardWithTable(scone, bf16);
        float worstSlack = Float.POSITIVE_INFINITY;
        float maxDiff = 0;
        for (int i = 0; i < emb.length; i++) {
            float ref = refEmbeddings[i];
            float bound = 0x1p-8f * (Math.abs(ref) + F32_TOLERANCE) + F32_TOLERANCE;
            float diff = Math.abs(emb[i] - ref);
            assertTrue(diff <= bound, "element " + i + ": |" + emb[i] + " - " + ref + "| > " + bound);
            worstSlack = Math.min(worstSlack, bound - diff);
            maxDiff = Math.max(maxDiff, diff);
        }
        assertTrue(maxDiff > F32_TOLERANCE, "bfloat16 should actually round something, max diff " + maxDiff);
        assertLogitsWithin(forwardWithTable(model, bf16), 0x1p-8f);
    }

    /**
     * int8: each element of a stored vector v is within {@code max|v| / 254 + 2^-23 max|v|} of
     * A_fgram's output, and {@code max|v| <= max|e_ref| + t}, so at a matched position
     * {@code |e_store - e_ref| <= (max|e_ref| + t) (1/254 + 2^-23) + t}.
     */
    @Test
    void int8StoreIsWithinItsQuantisationBound() {
        float[] emb = forwardWithTable(scone, int8);
        float maxDiff = 0;
        for (int p = 0; p < tokens.length; p++) {
            float maxRef = 0;
            for (int k = 0; k < E; k++) {
                maxRef = Math.max(maxRef, Math.abs(refEmbeddings[p * E + k]));
            }
            float bound = (maxRef + F32_TOLERANCE) * (1f / 254 + 0x1p-23f) + F32_TOLERANCE;
            for (int k = 0; k < E; k++) {
                int i = p * E + k;
                float diff = Math.abs(emb[i] - refEmbeddings[i]);
                assertTrue(diff <= bound, "position " + p + " element " + k + ": diff " + diff + " > " + bound);
                maxDiff = Math.max(maxDiff, diff);
            }
        }
        assertTrue(maxDiff > F32_TOLERANCE, "int8 should actually round something, max diff " + maxDiff);
        assertLogitsWithin(forwardWithTable(model, int8), 1f / 254);
    }

    /**
     * The logits move by at most {@code GAIN * rel * scale}, where rel is the dtype's relative
     * per-element error bound, scale the largest reference logit magnitude, and GAIN = 4 the
     * allowance for the decoder amplifying a relative input perturbation (each pre-LN block
     * normalizes its input, so a relative change of the embeddings stays of the same relative order;
     * measured on this model: 0.39 for bfloat16, 1.05 for int8, whose error is relative to each
     * vector's largest element rather than to each element).
     */
    private void assertLogitsWithin(float[] logits, float rel) {
        float scale = 0;
        for (float x : refLogits) {
            scale = Math.max(scale, Math.abs(x));
        }
        float diff = maxAbsDiff(refLogits, logits);
        float bound = 4 * rel * scale + F32_TOLERANCE;
        assertTrue(diff <= bound, "max logit diff " + diff + " > " + bound + " (logit scale " + scale + ")");
        assertTrue(diff > 0, "quantised logits should differ somewhat");
    }

    @Test
    void openAnyReadsASingleOrAShardedStore() throws IOException {
        // The f32 store's vectors, in the same batches of 7 (so bit-identical), written as 3 shards.
        Path dir = tmp.resolve("sharded");
        try (FgramStoreWriter w = FgramStoreWriter.builder().setPath(dir).optVocabulary(vocab).optShards(3)
                .setEmbeddingSize(E).optDtype(VectorDtype.FLOAT32).optTokenVocabularyFingerprint(TOKENS_FP)
                .optModelFingerprint(FgramStorePrecompute.modelFingerprint(scone)).build()) {
            for (int from = 0; from < vocab.size(); from += 7) {
                int count = Math.min(7, vocab.size() - from);
                float[] v = scone.computeFgramVectors(from, count);
                for (int i = 0; i < count; i++) {
                    w.add(from + i, v, i * E);
                }
            }
            w.commit();
        }
        FgramStore.OpenOptions options = FgramStore.OpenOptions.defaults();
        try (FgramEmbeddingTable sharded = FgramStorePrecompute.openAny(dir, scone, TOKENS_FP, options);
                FgramEmbeddingTable single = FgramStorePrecompute.openAny(f32.path(), scone, TOKENS_FP, options)) {
            assertTrue(sharded instanceof ShardedFgramStore, sharded.getClass().getName());
            assertTrue(single instanceof FgramStore, single.getClass().getName());
            assertArrayEquals(forwardWithTable(model, single), forwardWithTable(model, sharded));
        }
        StoreMismatchException e = assertThrows(StoreMismatchException.class,
                () -> FgramStorePrecompute.openAny(dir, scone, "other", options));
        assertEquals("tokenVocabularyFingerprint", e.field());
    }

    @Test
    void aStoreRefusesAnyOtherModel() throws IOException {
        Path dir = f32.path();
        FgramStore.OpenOptions options = FgramStore.OpenOptions.defaults();
        // other weights, same architecture and vocabulary
        LanguageModel other = newModel(12);
        SconeEmbeddingBlock otherScone = other.sconeEmbedding();
        StoreMismatchException e = assertThrows(StoreMismatchException.class,
                () -> FgramStorePrecompute.open(dir, otherScone, TOKENS_FP, options));
        assertEquals("modelFingerprint", e.field());
        assertEquals(ParameterFingerprint.of(otherScone), e.expected());
        assertEquals(ParameterFingerprint.of(scone), e.actual());
        // the same through the other model's inference export, which holds no A_fgram
        Path otherExport = tmp.resolve("other.inference");
        InferenceModel.export(other, otherExport, TOKENS_FP, null);
        e = assertThrows(StoreMismatchException.class, () -> FgramStorePrecompute.openFor(dir,
                InferenceModel.readHeader(otherExport), options));
        assertEquals("modelFingerprint", e.field());
        assertEquals(ParameterFingerprint.of(otherScone), e.expected());
        // another token vocabulary
        e = assertThrows(StoreMismatchException.class, () -> FgramStorePrecompute.open(dir, scone, "other", options));
        assertEquals("tokenVocabularyFingerprint", e.field());
        assertEquals("other", e.expected());
        assertEquals(TOKENS_FP, e.actual());
        // another embedding size
        LanguageModelConfig narrow = new LanguageModelConfig(V, CONTEXT, 8, 1, 2, 16, false, 0f,
                FgramModelConfig.of(8, 1, 2, 16, K));
        SconeEmbeddingBlock narrowScone = new SconeEmbeddingBlock(V, narrow.fgramModel(), vocab);
        narrowScone.initialize(manager, DataType.FLOAT32, new Shape(1, CONTEXT), new Shape(1, CONTEXT));
        e = assertThrows(StoreMismatchException.class, () -> FgramStorePrecompute.open(dir, narrowScone, TOKENS_FP,
                options));
        assertEquals("embeddingSize", e.field());
        assertEquals("8", e.expected());
        assertEquals(String.valueOf(E), e.actual());
        // another f-gram vocabulary (same K)
        FgramVocabulary otherVocab = vocabulary(new Random(4));
        SconeEmbeddingBlock otherVocabScone = new SconeEmbeddingBlock(scone.tokenEmbedding(), scone.fgramModel(),
                otherVocab);
        e = assertThrows(StoreMismatchException.class, () -> FgramStorePrecompute.open(dir, otherVocabScone,
                TOKENS_FP, options));
        assertEquals("fgramVocabularyFingerprint", e.field());
        assertEquals(otherVocab.fingerprint(), e.expected());
        assertEquals(vocab.fingerprint(), e.actual());
    }

    @Test
    void precomputeRecordsTheMainModelFingerprint() throws IOException {
        Path dir = tmp.resolve("main-model");
        String main = "main-model-under-test";
        StoreManifest m = FgramStorePrecompute.builder().setBlock(scone).setPath(dir).optDtype(VectorDtype.INT8).optBatchSize(1000)
                .setTokenVocabularyFingerprint(TOKENS_FP).optMainModelFingerprint(main).build().run();
        assertEquals(main, m.mainModelFingerprint());
        assertEquals(ParameterFingerprint.of(scone), m.modelFingerprint());
        StoreExpectations expected = FgramStorePrecompute.expectationsFor(scone, TOKENS_FP);
        try (FgramStore store = FgramStore.open(dir, FgramStore.OpenOptions.defaults()
                .withExpectations(expected.withMainModelFingerprint(main)))) {
            assertEquals(main, store.manifest().mainModelFingerprint());
        }
        StoreMismatchException e = assertThrows(StoreMismatchException.class, () -> FgramStore.open(dir,
                FgramStore.OpenOptions.defaults().withExpectations(expected.withMainModelFingerprint("another"))));
        assertEquals("mainModelFingerprint", e.field());
        assertEquals(main, e.actual());
        // the stores precomputed without one
        e = assertThrows(StoreMismatchException.class, () -> FgramStore.open(f32.path(),
                FgramStore.OpenOptions.defaults().withExpectations(expected.withMainModelFingerprint(main))));
        assertTrue(e.getMessage().contains("must be precomputed again"), e.getMessage());
    }

    @Test
    void weightFingerprintIsStableAndSeesOneChangedWeight() {
        SconeEmbeddingBlock againScone = newModel(11).sconeEmbedding();
        String fp = ParameterFingerprint.of(scone);
        assertTrue(fp.matches("[0-9a-f]{32}"), fp);
        assertEquals(fp, ParameterFingerprint.of(againScone), "same seed, same weights, same fingerprint");
        NDArray w = againScone.fgramModel().getParameters().valueAt(0).getArray();
        float old = w.getFloat(0, 0);
        w.set(new NDIndex(0, 0), Math.nextUp(old));
        assertNotEquals(fp, ParameterFingerprint.of(againScone), "one weight moved by one ulp");
        w.set(new NDIndex(0, 0), old);
        assertEquals(fp, ParameterFingerprint.of(againScone));
    }

    /** The code sample of the module README, kept compiling and running. */
    @Test
    void readmeSample() throws IOException {
        CausalLanguageModelBlock model = this.model; // trained
        Path storeDir = tmp.resolve("readme");
        String tokenizerFingerprint = TOKENS_FP;
        NDArray tokenIds = manager.create(tokens, new Shape(ROWS, CONTEXT));
        ParameterStore ps = new ParameterStore(manager, false);

        Path exportFile = tmp.resolve("readme.inference");

        // --- README sample ---
        // After training (`trained` is the LanguageModel): run A_fgram over every f-gram once and write
        // the vectors into a store, and export what serving needs: T, positions, decoder, head.
        FgramStorePrecompute.builder()
                .setBlock(trained.sconeEmbedding())
                .optMainModelFingerprint(InferenceModel.mainModelFingerprint(trained.block()))
                .setPath(storeDir)
                .optDtype(VectorDtype.BFLOAT16) // or FLOAT32 (exact), INT8 (a quarter of the space)
                .setTokenVocabularyFingerprint(tokenizerFingerprint)
                .optProgress(new ProgressBarListener("f-grams"))
                .build()
                .run();
        InferenceModel.export(trained, exportFile, tokenizerFingerprint, null);

        // Serving: no A_fgram, no V_fgram. Open the store for the export (a store of other weights,
        // vocabularies or sizes is refused), then load the model over it.
        InferenceModel.Header header = InferenceModel.readHeader(exportFile);
        try (FgramEmbeddingTable store = FgramStorePrecompute.openFor(storeDir, header,
                FgramStore.OpenOptions.defaults());
                NDManager serving = NDManager.newBaseManager()) {
            InferenceModel served = InferenceModel.load(exportFile, store, serving);
            NDArray logits = served.block().forward(new ParameterStore(serving, false), new NDList(tokenIds), false)
                    .singletonOrThrow(); // (B, T, V)
            // --- end of sample ---
            assertEquals(new Shape(ROWS, CONTEXT, V), logits.getShape());
            assertLogitsWithin(logits.toFloatArray(), 0x1p-8f);
        }
    }

    @Test
    void precomputeRejectsBadConfiguration() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FgramStorePrecompute.builder().setBlock(scone).setPath(tmp.resolve("x")).build());
        assertTrue(e.getMessage().contains("tokenVocabularyFingerprint"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FgramStorePrecompute.builder().setBlock(scone)
                .setPath(tmp.resolve("x")).setTokenVocabularyFingerprint("t").optBatchSize(0).build());
        assertTrue(e.getMessage().contains("batchSize must be >= 1, got 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FgramStorePrecompute.builder().setBlock(scone)
                .setPath(tmp.resolve("x")).setTokenVocabularyFingerprint("a\nb").build());
        assertTrue(e.getMessage().contains("one non-blank line"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FgramStorePrecompute.builder().setBlock(scone)
                .setPath(tmp.resolve("x")).setTokenVocabularyFingerprint("t").optMainModelFingerprint(" ").build());
        assertTrue(e.getMessage().contains("mainModelFingerprint must be one non-blank line"), e.getMessage());
    }

    private static float maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        float d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }
}

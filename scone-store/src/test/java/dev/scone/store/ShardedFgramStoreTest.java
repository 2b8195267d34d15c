package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardedFgramStoreTest {

    @TempDir
    Path tmp;

    private static final int S = 600;

    private Path sharded(Path dir, FgramVocabulary vocab, float[] vectors, int shards, String model) throws IOException {
        return sharded(dir, vocab, vectors, shards, model, StoreManifest.UNSPECIFIED);
    }

    private Path sharded(Path dir, FgramVocabulary vocab, float[] vectors, int shards, String model, String mainModel)
            throws IOException {
        try (FgramStoreWriter w = FgramStoreWriter.builder().setPath(dir).optVocabulary(vocab).optShards(shards)
                .setEmbeddingSize(StoreFixtures.D).optDtype(VectorDtype.FLOAT32).optTokenVocabularyFingerprint("tok-v1")
                .optModelFingerprint(model).optMainModelFingerprint(mainModel).build()) {
            for (int id = vocab.size() - 1; id >= 0; id--) { // any order
                w.add(id, vectors, id * StoreFixtures.D);
            }
            ShardedStoreManifest m = (ShardedStoreManifest) w.commit();
            assertEquals(shards, m.shardCount());
            assertEquals(vocab.size(), m.size());
        }
        return dir;
    }

    @Test
    void shardedStoreServesExactlyWhatASingleStoreServes() throws IOException {
        FgramVocabulary vocab = StoreFixtures.vocabulary(S, 1);
        float[] vectors = StoreFixtures.vectors(S, 2);
        Path single = tmp.resolve("single");
        StoreFixtures.write(single, vocab, vectors, VectorDtype.FLOAT32);
        for (int shards : new int[] {2, 3, 7}) {
            Path dir = sharded(tmp.resolve("sharded-" + shards), vocab, vectors, shards, "model-v1");
            long[] sizes = ShardedFgramStoreWriter.shardSizes(vocab, shards);
            assertEquals(S, Arrays.stream(sizes).sum());
            if (shards > 1) {
                assertTrue(Arrays.stream(sizes).allMatch(x -> x > 0), "every shard holds f-grams");
            }
            try (FgramStore one = FgramStore.open(single); ShardedFgramStore many = ShardedFgramStore.open(dir)) {
                assertEquals(one.size(), many.size());
                assertEquals(one.maxN(), many.maxN());
                assertEquals(one.embeddingSize(), many.embeddingSize());
                many.verify();
                Random r = new Random(shards);
                int b = 4;
                int t = 33;
                for (int round = 0; round < 20; round++) {
                    int[] window = StoreFixtures.window(vocab, b, t, r);
                    float[] a = new float[b * t * StoreFixtures.D];
                    float[] c = new float[a.length];
                    int[] la = new int[b * t];
                    int[] lc = new int[b * t];
                    int ma = one.lookupBatch(window, b, t, a, la);
                    int mc = many.lookupBatch(window, b, t, c, lc);
                    assertEquals(ma, mc);
                    assertTrue(ma > 0);
                    assertArrayEquals(la, lc);
                    assertArrayEquals(a, c, 0f);
                    // the table contract: unmatched positions left alone
                    Arrays.fill(a, 7f);
                    Arrays.fill(c, 7f);
                    assertEquals(one.lookup(window, b, t, a, la), many.lookup(window, b, t, c, lc));
                    assertArrayEquals(a, c, 0f);
                }
                float[] v = new float[StoreFixtures.D];
                for (int id = 0; id < vocab.size(); id++) {
                    int[] g = vocab.tokens(id);
                    assertTrue(many.lookup(g, 0, g.length, v, 0) >= 0);
                    assertArrayEquals(Arrays.copyOfRange(vectors, id * StoreFixtures.D, (id + 1) * StoreFixtures.D), v,
                            0f);
                }
                assertEquals(-1, many.find(new int[] {1, 2}, 0, 2));
            }
        }
    }

    @Test
    void shardsWrittenApartFromEncodedRowsServeWhatOneWriterWrites() throws IOException {
        FgramVocabulary vocab = StoreFixtures.vocabulary(S, 1);
        float[] vectors = StoreFixtures.vectors(S, 2);
        int shards = 3;
        for (VectorDtype dtype : new VectorDtype[] {VectorDtype.FLOAT32, VectorDtype.BFLOAT16, VectorDtype.INT8}) {
            Path one = tmp.resolve("one-" + dtype);
            try (FgramStoreWriter w = FgramStoreWriter.builder().setPath(one).optVocabulary(vocab).optShards(shards)
                    .setEmbeddingSize(StoreFixtures.D).optDtype(dtype).build()) {
                for (int id = 0; id < S; id++) {
                    w.add(id, vectors, id * StoreFixtures.D);
                }
                w.commit();
            }
            // as a distributed writer: the vocabulary file read in ranges (sizes) or not at all (the header)
            Path file = tmp.resolve("v-" + dtype + ".fgv");
            dev.scone.fgram.vocab.FgramVocabularyFile.write(vocab, file);
            long[] sizes = new long[shards];
            for (int from = 0; from < S; from += 250) {
                long[] part = ShardedFgramStoreWriter.shardSizes(
                        dev.scone.fgram.vocab.FgramVocabularyFile.readRange(file, from, Math.min(S, from + 250)), shards);
                Arrays.setAll(sizes, i -> sizes[i] + part[i]);
            }
            assertArrayEquals(ShardedFgramStoreWriter.shardSizes(vocab, shards), sizes);
            FgramVocabulary header = dev.scone.fgram.vocab.FgramVocabularyFile.readRange(file, 0, 0);
            Path apart = tmp.resolve("apart-" + dtype);
            ShardedFgramStoreWriter.prepare(apart);
            byte[] encoded = new byte[dtype.vectorBytes(StoreFixtures.D)];
            java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(encoded).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int shard = shards - 1; shard >= 0; shard--) {
                try (FgramStoreWriter w = ShardedFgramStoreWriter.shardWriter(apart, shard, shards, header, sizes[shard])
                        .setEmbeddingSize(StoreFixtures.D).optDtype(dtype).build()) {
                    for (int id = S - 1; id >= 0; id--) {
                        int[] g = vocab.tokens(id);
                        if (ShardedStoreManifest.shardOf(g, 0, g.length, shards) == shard) {
                            dtype.encode(vectors, id * StoreFixtures.D, StoreFixtures.D, buffer, 0);
                            w.addEncoded(g, 0, g.length, encoded, 0);
                        }
                    }
                    if (shard == 0) {
                        java.util.Arrays.fill(encoded, (byte) 0xFF); // NaN in every dtype
                        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                                () -> w.addEncoded(new int[] {1, 2}, 0, 2, encoded, 0));
                        assertTrue(e.getMessage().startsWith("encoded vector of f-gram [1, 2] has element 0 = NaN"),
                                e.getMessage());
                    }
                    w.commit();
                }
            }
            ShardedFgramStoreWriter.publish(apart, shards);
            try (ShardedFgramStore a = ShardedFgramStore.open(one); ShardedFgramStore b = ShardedFgramStore.open(apart,
                    FgramStore.OpenOptions.defaults().withExpectations(StoreExpectations.none().withFgramVocabulary(vocab)))) {
                b.verify();
                assertEquals(dtype, b.dtype());
                float[] x = new float[StoreFixtures.D];
                float[] y = new float[StoreFixtures.D];
                for (int id = 0; id < S; id++) {
                    int[] g = vocab.tokens(id);
                    assertTrue(a.lookup(g, 0, g.length, x, 0) >= 0);
                    assertTrue(b.lookup(g, 0, g.length, y, 0) >= 0);
                    assertArrayEquals(x, y, 0f, dtype + ", f-gram " + id);
                }
            }
        }
    }

    @Test
    void missingOrForeignShardsAreRefused() throws IOException {
        FgramVocabulary vocab = StoreFixtures.vocabulary(S, 1);
        float[] vectors = StoreFixtures.vectors(S, 2);
        Path dir = sharded(tmp.resolve("a"), vocab, vectors, 3, "model-v1");
        Path other = sharded(tmp.resolve("b"), vocab, vectors, 3, "model-v2");

        // a shard of another store (same vocabulary, other model) put in place of shard 1
        Path shard1 = dir.resolve(ShardedStoreManifest.shardFolder(1));
        Path saved = tmp.resolve("saved-shard-1");
        Files.move(shard1, saved);
        copyTree(other.resolve(ShardedStoreManifest.shardFolder(1)), shard1);
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> ShardedFgramStore.open(dir));
        assertTrue(e.getMessage().contains("shard 1 of 3") && e.getMessage().contains("fingerprint"), e.getMessage());

        // shard 1 missing
        deleteTree(shard1);
        e = assertThrows(SconeFormatException.class, () -> ShardedFgramStore.open(dir));
        assertTrue(e.getMessage().contains("shard 1 of 3 (shard-00001) is missing"), e.getMessage());

        // back in place: opens again
        Files.move(saved, shard1);
        try (ShardedFgramStore s = ShardedFgramStore.open(dir)) {
            assertEquals(S, s.size());
        }

        // publishing shards of different models is refused
        deleteTree(shard1);
        copyTree(other.resolve(ShardedStoreManifest.shardFolder(1)), shard1);
        e = assertThrows(SconeFormatException.class, () -> ShardedFgramStoreWriter.publish(dir, 3));
        assertTrue(e.getMessage().contains("modelFingerprint"), e.getMessage());
    }

    @Test
    void damagedManifestAndWrongExpectationsAreRefused() throws IOException {
        FgramVocabulary vocab = StoreFixtures.vocabulary(S, 1);
        Path dir = sharded(tmp.resolve("a"), vocab, StoreFixtures.vectors(S, 2), 2, "model-v1");
        StoreMismatchException m = assertThrows(StoreMismatchException.class, () -> ShardedFgramStore.open(dir,
                FgramStore.OpenOptions.defaults().withExpectations(StoreExpectations.none()
                        .withModelFingerprint("model-v9"))));
        assertEquals("modelFingerprint", m.field());
        try (ShardedFgramStore s = ShardedFgramStore.open(dir, FgramStore.OpenOptions.defaults()
                .withExpectations(StoreExpectations.none().withFgramVocabulary(vocab).withModelFingerprint("model-v1")))) {
            assertEquals(2, s.shardCount());
        }
        Path manifest = dir.resolve(ShardedStoreManifest.FILE_NAME);
        String text = Files.readString(manifest, StandardCharsets.UTF_8);
        Files.writeString(manifest, text.replace("size=" + S, "size=" + (S + 1)), StandardCharsets.UTF_8);
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> ShardedFgramStore.open(dir));
        assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
        Files.delete(manifest);
        e = assertThrows(SconeFormatException.class, () -> ShardedFgramStore.open(dir));
        assertTrue(e.getMessage().contains("no sharded manifest"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FgramStoreWriter.builder().setPath(dir).optVocabulary(vocab)
                .optShards(0).setEmbeddingSize(4).build());
    }

    @Test
    void lookupLastEqualsTheSingleStoresAndTheBatchLookupsLastPosition() throws IOException {
        FgramVocabulary vocab = StoreFixtures.vocabulary(S, 1);
        float[] vectors = StoreFixtures.vectors(S, 2);
        Path single = tmp.resolve("single");
        StoreFixtures.write(single, vocab, vectors, VectorDtype.FLOAT32);
        Path dir = sharded(tmp.resolve("sharded"), vocab, vectors, 3, "model-v1");
        StoreFixtures.Rows rows = StoreFixtures.rows(vocab, 1500, new Random(17));
        int d = StoreFixtures.D;
        {
            FgramStore.OpenOptions options = FgramStore.OpenOptions.defaults();
            try (FgramStore one = FgramStore.open(single, options);
                    ShardedFgramStore many = ShardedFgramStore.open(dir, options)) {
                int[] histogram = StoreFixtures.checkLookupLast(vocab, rows, d, many::lookupLast, many);
                assertTrue(histogram[0] > 100 && histogram[2] > 20 && histogram[3] > 20 && histogram[4] > 20,
                        Arrays.toString(histogram));
                float[] a = new float[rows.count() * d];
                float[] c = new float[a.length];
                int[] la = new int[rows.count()];
                int[] lc = new int[rows.count()];
                assertEquals(one.lookupLast(rows.tokens(), rows.offsets(), rows.lengths(), rows.count(), a, la),
                        many.lookupLast(rows.tokens(), rows.offsets(), rows.lengths(), rows.count(), c, lc));
                assertArrayEquals(la, lc);
                assertArrayEquals(a, c, 0f);

                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> many.lookupLast(rows.tokens(), rows.offsets(), new int[] {0}, 1, a, la));
                assertTrue(e.getMessage().contains("row 0 has length 0"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class,
                        () -> many.lookupLast(new int[] {1, -3}, new int[] {0}, new int[] {2}, 1, a, la));
                assertTrue(e.getMessage().contains("token id -3"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class,
                        () -> many.lookupLast(rows.tokens(), rows.offsets(), rows.lengths(), rows.count(),
                                new float[d], la));
                assertTrue(e.getMessage().contains("vectors of " + d + " floats"), e.getMessage());
            }
        }
        ShardedFgramStore closed = ShardedFgramStore.open(dir);
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.lookupLast(rows.tokens(), rows.offsets(),
                rows.lengths(), rows.count(), new float[rows.count() * d], new int[rows.count()]));
    }

    @Test
    void theMainModelFingerprintIsCarriedAndChecked() throws IOException {
        FgramVocabulary vocab = StoreFixtures.vocabulary(S, 1);
        float[] vectors = StoreFixtures.vectors(S, 2);
        Path dir = sharded(tmp.resolve("a"), vocab, vectors, 3, "model-v1", "main-1");
        ShardedStoreManifest m = ShardedStoreManifest.read(dir.resolve(ShardedStoreManifest.FILE_NAME));
        assertEquals(2, ShardedStoreManifest.FORMAT_VERSION);
        assertEquals(ShardedStoreManifest.FORMAT_VERSION, m.formatVersion());
        assertEquals("main-1", m.mainModelFingerprint());
        assertTrue(Files.readString(dir.resolve(ShardedStoreManifest.FILE_NAME))
                .contains("\nmodelFingerprint=model-v1\nmainModelFingerprint=main-1\n"));
        for (int s = 0; s < 3; s++) {
            assertEquals("main-1", StoreManifest.read(dir.resolve(ShardedStoreManifest.shardFolder(s))
                    .resolve(StoreManifest.FILE_NAME)).mainModelFingerprint());
        }
        try (ShardedFgramStore s = ShardedFgramStore.open(dir, FgramStore.OpenOptions.defaults().withExpectations(
                StoreExpectations.none().withModelFingerprint("model-v1").withMainModelFingerprint("main-1")))) {
            assertEquals("main-1", s.manifest().mainModelFingerprint());
        }
        StoreMismatchException e = assertThrows(StoreMismatchException.class, () -> ShardedFgramStore.open(dir,
                FgramStore.OpenOptions.defaults().withExpectations(StoreExpectations.none()
                        .withMainModelFingerprint("main-2"))));
        assertEquals("mainModelFingerprint", e.field());
        assertTrue(e.getMessage().contains("'main-1'") && e.getMessage().contains("'main-2'"), e.getMessage());

        // written without one: refused when one is expected, and a sharded manifest of format 1 still reads
        Path without = sharded(tmp.resolve("b"), vocab, vectors, 2, "model-v1");
        e = assertThrows(StoreMismatchException.class, () -> ShardedFgramStore.open(without,
                FgramStore.OpenOptions.defaults().withExpectations(StoreExpectations.none()
                        .withMainModelFingerprint("main-1"))));
        assertTrue(e.getMessage().contains("written without a main-model fingerprint and must be precomputed again"),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        Path file = without.resolve(ShardedStoreManifest.FILE_NAME);
        ShardedStoreManifest w = ShardedStoreManifest.read(file);
        new ShardedStoreManifest(1, w.embeddingSize(), w.dtype(), w.maxN(), w.size(), w.tokenVocabularySize(),
                w.tokenVocabularyFingerprint(), w.fgramVocabularyFingerprint(), w.modelFingerprint(), w.shards())
                .write(file);
        assertFalse(Files.readString(file).contains("mainModelFingerprint"));
        try (ShardedFgramStore s = ShardedFgramStore.open(without)) {
            assertEquals(1, s.manifest().formatVersion());
            assertEquals(StoreManifest.UNSPECIFIED, s.manifest().mainModelFingerprint());
            assertEquals(S, s.size());
        }

        // shards of another main model (same model, same vectors) are not published together
        Path other = sharded(tmp.resolve("c"), vocab, vectors, 3, "model-v1", "main-2");
        Path shard1 = dir.resolve(ShardedStoreManifest.shardFolder(1));
        deleteTree(shard1);
        copyTree(other.resolve(ShardedStoreManifest.shardFolder(1)), shard1);
        SconeFormatException f = assertThrows(SconeFormatException.class, () -> ShardedFgramStore.open(dir));
        assertTrue(f.getMessage().contains("shard 1 of 3 has fingerprint"), f.getMessage());
        f = assertThrows(SconeFormatException.class, () -> ShardedFgramStoreWriter.publish(dir, 3));
        assertTrue(f.getMessage().contains("mainModelFingerprint=main-2 but shard 0 says main-1"), f.getMessage());
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Files.copy(p, to.resolve(from.relativize(p).toString()));
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}

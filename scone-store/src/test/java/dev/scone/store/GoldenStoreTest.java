package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.Temporaries;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stores and manifests written by earlier versions still open and read the same, and manifests
 * of the current formats are written byte for byte as before. The golden folders under
 * {@code src/test/resources/golden/store/} were written by {@link #main} (store format 3, sharded
 * format 2) and, for the older manifest versions, by the manifest writers of format versions 1
 * and 2; run {@link #main} only when a new format version is added beside them.
 */
class GoldenStoreTest {

    /** Store format 3, K = 3, V = 5000 (39-bit keys: 8 bytes each), float32. */
    static final String NARROW = "v3-k3-float32";
    /** Store format 3, K = 6, V = 5000 (78 bits: variable-size keys), bfloat16. */
    static final String WIDE = "v3-k6-bfloat16";
    /** Sharded format 2 over two shards of store format 3, K = 4, V = 300, int8. */
    static final String SHARDED = "sharded-v2-int8";
    static final int D = 6;
    static final int S = 40;

    @TempDir
    Path tmp;

    @Test
    void narrowStoreOfFormatThreeReadsTheSame() throws Exception {
        checkStore(NARROW, 3, 5000, VectorDtype.FLOAT32);
    }

    @Test
    void wideStoreOfFormatThreeReadsTheSame() throws Exception {
        checkStore(WIDE, 6, 5000, VectorDtype.BFLOAT16);
    }

    @Test
    void shardedStoreOfFormatTwoReadsTheSame() throws Exception {
        Path dir = copy(SHARDED);
        FgramVocabulary vocab = vocabulary(4, 300, 13);
        try (ShardedFgramStore store = ShardedFgramStore.open(dir)) {
            assertEquals(2, store.shardCount());
            assertEquals(2, store.manifest().formatVersion());
            assertEquals("main-golden", store.manifest().mainModelFingerprint());
            float[] out = new float[D];
            for (int id = 0; id < S; id++) {
                int[] g = vocab.tokens(id);
                assertTrue(store.lookup(g, 0, g.length, out, 0) >= 0, "f-gram " + id);
                assertArrayEquals(stored(VectorDtype.INT8, id), out, "f-gram " + id);
            }
            store.verify();
        }
    }

    @Test
    void manifestsAreRewrittenByteForByte() throws Exception {
        for (String name : new String[] {NARROW, WIDE, SHARDED + "/shard-00000", SHARDED + "/shard-00001",
            "manifest-v1", "manifest-v2"}) {
            Path file = golden().resolve(name).resolve(StoreManifest.FILE_NAME);
            Path again = tmp.resolve(name.replace('/', '-') + ".txt");
            StoreManifest.read(file).write(again);
            assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(again), name);
        }
        for (String name : new String[] {SHARDED, "sharded-manifest-v1"}) {
            Path file = golden().resolve(name).resolve(ShardedStoreManifest.FILE_NAME);
            Path again = tmp.resolve(name + "-sharded.txt");
            ShardedStoreManifest.read(file).write(again);
            assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(again), name);
        }
    }

    @Test
    void olderManifestVersionsReadWithoutAMainModel() throws Exception {
        StoreManifest v1 = StoreManifest.read(golden().resolve("manifest-v1").resolve(StoreManifest.FILE_NAME));
        StoreManifest v2 = StoreManifest.read(golden().resolve("manifest-v2").resolve(StoreManifest.FILE_NAME));
        StoreManifest v3 = StoreManifest.read(golden().resolve(NARROW).resolve(StoreManifest.FILE_NAME));
        assertEquals(1, v1.formatVersion());
        assertEquals(2, v2.formatVersion());
        assertEquals(StoreManifest.UNSPECIFIED, v1.mainModelFingerprint());
        assertEquals(StoreManifest.UNSPECIFIED, v2.mainModelFingerprint());
        assertEquals(v3.indexChecksum(), v2.indexChecksum());
        assertEquals(v3.size(), v1.size());
        ShardedStoreManifest s1 = ShardedStoreManifest.read(golden().resolve("sharded-manifest-v1")
                .resolve(ShardedStoreManifest.FILE_NAME));
        assertEquals(1, s1.formatVersion());
        assertEquals(StoreManifest.UNSPECIFIED, s1.mainModelFingerprint());
        assertEquals(2, s1.shardCount());
    }

    private void checkStore(String name, int maxN, int tokens, VectorDtype dtype) throws Exception {
        Path dir = copy(name);
        FgramVocabulary vocab = vocabulary(maxN, tokens, 11);
        try (FgramStore store = FgramStore.open(dir)) {
            assertEquals(3, store.manifest().formatVersion());
            assertEquals(dtype, store.dtype());
            assertEquals(S, store.size());
            float[] out = new float[D];
            for (int id = 0; id < S; id++) {
                int[] g = vocab.tokens(id);
                assertEquals(id, store.lookup(g, 0, g.length, out, 0), "f-gram " + id);
                assertArrayEquals(stored(dtype, id), out, "f-gram " + id);
            }
            FgramVocabulary others = vocabulary(maxN, tokens, 12);
            for (int id = 0; id < others.size(); id++) {
                int[] g = others.tokens(id);
                assertEquals(vocab.find(g), store.find(g, 0, g.length));
            }
            store.verify();
        }
    }

    private Path copy(String name) throws IOException, URISyntaxException {
        Path from = golden().resolve(name);
        Path to = tmp.resolve(name);
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return to;
    }

    private static Path golden() throws URISyntaxException {
        return Path.of(GoldenStoreTest.class.getResource("/golden/store/" + NARROW).toURI()).getParent();
    }

    /** S distinct f-grams of lengths 2..K over tokens [0, V), drawn with a fixed seed. */
    static FgramVocabulary vocabulary(int maxN, int tokens, long seed) {
        Random r = new Random(seed);
        List<int[]> grams = new ArrayList<>();
        HashSet<List<Integer>> seen = new HashSet<>();
        while (grams.size() < S) {
            int[] g = new int[2 + r.nextInt(maxN - 1)];
            List<Integer> key = new ArrayList<>();
            for (int k = 0; k < g.length; k++) {
                g[k] = k == 0 && r.nextBoolean() ? tokens - 1 : r.nextInt(tokens);
                key.add(g[k]);
            }
            if (seen.add(key)) {
                grams.add(g);
            }
        }
        long[] counts = new long[S];
        for (int i = 0; i < S; i++) {
            counts[i] = S - i;
        }
        return FgramVocabulary.of(tokens, maxN, grams, counts);
    }

    /** F-gram {@code id}'s vector as written. */
    static float[] vector(int id) {
        float[] v = new float[D];
        for (int k = 0; k < D; k++) {
            v[k] = ((id * 31 + k * 7) % 97 - 48) / 16f;
        }
        return v;
    }

    /** F-gram {@code id}'s vector as the dtype stores it. */
    static float[] stored(VectorDtype dtype, int id) {
        ByteBuffer b = ByteBuffer.allocate(dtype.vectorBytes(D)).order(ByteOrder.LITTLE_ENDIAN);
        dtype.encode(vector(id), 0, D, b, 0);
        float[] out = new float[D];
        dtype.decode(b, 0, D, out, 0);
        return out;
    }

    /**
     * Writes the golden folders of the current formats.
     *
     * @param args the folder to write into ({@code src/test/resources/golden/store})
     * @throws IOException when writing fails
     */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        write(dir.resolve(NARROW), vocabulary(3, 5000, 11), VectorDtype.FLOAT32);
        write(dir.resolve(WIDE), vocabulary(6, 5000, 11), VectorDtype.BFLOAT16);
        Path sharded = dir.resolve(SHARDED);
        Temporaries.deleteTree(sharded);
        FgramVocabulary vocab = vocabulary(4, 300, 13);
        try (FgramStoreWriter w = FgramStoreWriter.builder().setPath(sharded).optVocabulary(vocab)
                .optShards(2).setEmbeddingSize(D).optDtype(VectorDtype.INT8).optTokenVocabularyFingerprint("tok-golden")
                .optModelFingerprint("0123456789abcdef0123456789abcdef").optMainModelFingerprint("main-golden")
                .build()) {
            for (int id = 0; id < S; id++) {
                w.add(id, vector(id), 0);
            }
            w.commit();
        }
        StoreManifest m = StoreManifest.read(dir.resolve(NARROW).resolve(StoreManifest.FILE_NAME));
        for (int version = 1; version <= 2; version++) {
            Path old = dir.resolve("manifest-v" + version);
            Files.createDirectories(old);
            new StoreManifest(version, m.embeddingSize(), m.dtype(), m.maxN(), m.size(), m.tokenVocabularySize(),
                    m.tokenVocabularyFingerprint(), m.fgramVocabularyFingerprint(), m.modelFingerprint(),
                    m.vectorFileBytes(), m.indexChecksum()).write(old.resolve(StoreManifest.FILE_NAME));
        }
        ShardedStoreManifest s = ShardedStoreManifest.read(sharded.resolve(ShardedStoreManifest.FILE_NAME));
        Path old = dir.resolve("sharded-manifest-v1");
        Files.createDirectories(old);
        new ShardedStoreManifest(1, s.embeddingSize(), s.dtype(), s.maxN(), s.size(), s.tokenVocabularySize(),
                s.tokenVocabularyFingerprint(), s.fgramVocabularyFingerprint(), s.modelFingerprint(), s.shards())
                .write(old.resolve(ShardedStoreManifest.FILE_NAME));
    }

    private static void write(Path dir, FgramVocabulary vocab, VectorDtype dtype) throws IOException {
        try (FgramStoreWriter w = FgramStoreWriter.builder().setPath(dir).optVocabulary(vocab).setEmbeddingSize(D)
                .optDtype(dtype).optTokenVocabularyFingerprint("tok-golden")
                .optModelFingerprint("0123456789abcdef0123456789abcdef").optMainModelFingerprint("main-golden")
                .build()) {
            for (int id = 0; id < S; id++) {
                w.add(id, vector(id), 0);
            }
            w.commit();
        }
    }
}

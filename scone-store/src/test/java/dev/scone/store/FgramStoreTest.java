package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Writes stores of each dtype once and checks lookups, integrity and the write protocol. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FgramStoreTest {

    private static final int S = 3000;

    @TempDir
    static Path tmp;

    private FgramVocabulary vocab;
    private float[] vectors;
    private Path f32Dir;
    private Path bf16Dir;
    private Path int8Dir;
    private FgramStore f32;
    private FgramStore bf16;
    private FgramStore int8;

    @BeforeAll
    void writeStores() throws IOException {
        vocab = StoreFixtures.vocabulary(S, 42);
        vectors = StoreFixtures.vectors(S, 43);
        f32Dir = tmp.resolve("f32");
        bf16Dir = tmp.resolve("bf16");
        int8Dir = tmp.resolve("int8");
        StoreFixtures.write(f32Dir, vocab, vectors, VectorDtype.FLOAT32);
        StoreFixtures.write(bf16Dir, vocab, vectors, VectorDtype.BFLOAT16);
        StoreFixtures.write(int8Dir, vocab, vectors, VectorDtype.INT8);
        f32 = FgramStore.open(f32Dir);
        bf16 = FgramStore.open(bf16Dir);
        int8 = FgramStore.open(int8Dir);
    }

    @AfterAll
    void closeStores() {
        for (FgramStore s : new FgramStore[] {f32, bf16, int8}) {
            if (s != null) {
                s.close();
            }
        }
    }

    @Test
    void manifestRecordsWhatWasWritten() {
        StoreManifest m = bf16.manifest();
        assertEquals(StoreManifest.FORMAT_VERSION, m.formatVersion());
        assertEquals(StoreFixtures.D, m.embeddingSize());
        assertEquals(VectorDtype.BFLOAT16, m.dtype());
        assertEquals(StoreFixtures.K, m.maxN());
        assertEquals(S, m.size());
        assertEquals(vocab.fingerprint(), m.fgramVocabularyFingerprint());
        assertEquals("tok-v1", m.tokenVocabularyFingerprint());
        assertEquals("model-v1", m.modelFingerprint());
        assertEquals(StoreManifest.UNSPECIFIED, m.mainModelFingerprint());
    }

    @Test
    void float32RoundTripsExactly() {
        for (FgramStore store : List.of(f32)) {
            float[] out = new float[StoreFixtures.D];
            for (int id = 0; id < S; id++) {
                int[] g = vocab.tokens(id);
                assertEquals(id, store.lookup(g, 0, g.length, out, 0));
                assertArrayEquals(Arrays.copyOfRange(vectors, id * StoreFixtures.D, (id + 1) * StoreFixtures.D), out);
            }
        }
    }

    @Test
    void bfloat16IsWithinHalfAnUlpRelative() {
        float[] out = new float[StoreFixtures.D];
        for (int id = 0; id < S; id++) {
            int[] g = vocab.tokens(id);
            assertEquals(id, bf16.lookup(g, 0, g.length, out, 0));
            for (int k = 0; k < StoreFixtures.D; k++) {
                float x = vectors[id * StoreFixtures.D + k];
                assertTrue(Math.abs(out[k] - x) <= Math.scalb(Math.abs(x), -8), "f-gram " + id + "[" + k + "]: " + x
                        + " -> " + out[k]);
            }
        }
    }

    @Test
    void int8IsWithinHalfAScale() {
        float[] out = new float[StoreFixtures.D];
        for (int id = 0; id < S; id++) {
            int[] g = vocab.tokens(id);
            assertEquals(id, int8.lookup(g, 0, g.length, out, 0));
            float max = 0;
            for (int k = 0; k < StoreFixtures.D; k++) {
                max = Math.max(max, Math.abs(vectors[id * StoreFixtures.D + k]));
            }
            float scale = max / 127f;
            for (int k = 0; k < StoreFixtures.D; k++) {
                float x = vectors[id * StoreFixtures.D + k];
                assertTrue(Math.abs(out[k] - x) <= scale / 2 + Math.scalb(max, -22), "f-gram " + id + "[" + k + "]: "
                        + x + " -> " + out[k] + " (scale " + scale + ")");
            }
        }
    }

    @Test
    void noFalseMatchesForNeighboursOfStoredFgrams() {
        List<int[]> probes = new ArrayList<>();
        for (int[] p : StoreFixtures.PLANTED) {
            probes.add(p);
            probes.add(Arrays.copyOf(p, p.length - 1)); // prefix
            probes.add(Arrays.copyOfRange(p, 1, p.length)); // suffix
            int[] longer = Arrays.copyOf(p, p.length + 1); // extended by one token
            longer[p.length] = 9;
            probes.add(longer);
            for (int k = 0; k < p.length; k++) { // one token changed
                int[] q = p.clone();
                q[k] = (q[k] + 1) % StoreFixtures.TOKENS;
                probes.add(q);
            }
        }
        Random r = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            int[] q = new int[1 + r.nextInt(6)];
            for (int k = 0; k < q.length; k++) {
                q[k] = r.nextInt(40);
            }
            probes.add(q);
        }
        int hits = 0;
        for (int[] q : probes) {
            int expected = vocab.find(q, 0, q.length);
            for (FgramStore store : List.of(f32, int8)) {
                assertEquals(expected, store.find(q, 0, q.length), Arrays.toString(q));
            }
            hits += expected >= 0 ? 1 : 0;
        }
        assertTrue(hits > 100 && hits < probes.size() - 100, "probes should mix hits and misses: " + hits);
        for (int[] p : StoreFixtures.PLANTED) {
            assertTrue(vocab.find(p) >= 0);
        }
    }

    @Test
    void batchLookupEqualsBruteForce() throws Exception {
        Random r = new Random(11);
        int d = StoreFixtures.D;
        int totalMatched = 0;
        int longMatches = 0;
        for (int trial = 0; trial < 6; trial++) {
            int batch = 1 + r.nextInt(6);
            int length = 1 + r.nextInt(40);
            int[] window = StoreFixtures.window(vocab, batch, length, r);
            int[] expectedIds = StoreFixtures.bruteForce(vocab, window, batch, length);
            for (FgramStore store : List.of(f32)) {
                float[] out = new float[batch * length * d];
                Arrays.fill(out, Float.NaN); // must be overwritten everywhere
                int[] matched = new int[batch * length];
                int count = store.lookupBatch(window, batch, length, out, matched);
                int expectedCount = 0;
                for (int i = 0; i < window.length; i++) {
                    int id = expectedIds[i];
                    float[] got = Arrays.copyOfRange(out, i * d, (i + 1) * d);
                    if (id < 0) {
                        assertEquals(0, matched[i], "position " + i);
                        assertArrayEquals(new float[d], got, "position " + i);
                    } else {
                        expectedCount++;
                        assertEquals(vocab.length(id), matched[i], "position " + i);
                        assertArrayEquals(Arrays.copyOfRange(vectors, id * d, (id + 1) * d), got, "position " + i);
                    }
                }
                assertEquals(expectedCount, count);
                totalMatched += count;
                for (int m : matched) {
                    longMatches += m >= 3 ? 1 : 0;
                }
                LookupResult pre = store.prefetch(window, batch, length).get();
                assertArrayEquals(out, pre.vectors());
                assertArrayEquals(matched, pre.matchedLength());
                assertEquals(count, pre.matchedCount());
            }
        }
        assertTrue(totalMatched > 50 && longMatches > 10, totalMatched + " matches, " + longMatches + " of length >= 3");
    }

    @Test
    void matchesNeverReachBeforeTheirRowStart() {
        int[] g = StoreFixtures.PLANTED[0]; // {1, 2, 3}
        int[] window = {9, 1, 2, 3, 9, 9}; // rows of T = 3: [9 1 2] [3 9 9]
        int[] matched = new int[6];
        f32.lookupBatch(window, 2, 3, new float[6 * StoreFixtures.D], matched);
        assertEquals(0, matched[3], "[1 2 3] crosses the row boundary");
        f32.lookupBatch(window, 1, 6, new float[6 * StoreFixtures.D], matched);
        assertEquals(vocab.find(g) >= 0 ? 3 : 0, matched[3]);
    }

    @Test
    void concurrentReadersAgree() throws Exception {
        Random r = new Random(5);
        int batch = 4;
        int length = 32;
        List<int[]> windows = new ArrayList<>();
        List<float[]> expected = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int[] w = StoreFixtures.window(vocab, batch, length, r);
            float[] out = new float[batch * length * StoreFixtures.D];
            f32.lookupBatch(w, batch, length, out, new int[batch * length]);
            windows.add(w);
            expected.add(out);
        }
        StoreFixtures.Rows rows = StoreFixtures.rows(vocab, 200, r);
        float[] lastExpected = new float[rows.count() * StoreFixtures.D];
        int[] lastLengths = new int[rows.count()];
        f32.lookupLast(rows.tokens(), rows.offsets(), rows.lengths(), rows.count(), lastExpected, lastLengths);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int thread = 0; thread < 4; thread++) {
                for (FgramStore store : List.of(f32)) {
                    results.add(pool.submit(() -> {
                        float[] out = new float[batch * length * StoreFixtures.D];
                        int[] matched = new int[batch * length];
                        float[] last = new float[lastExpected.length];
                        int[] lastMatched = new int[lastLengths.length];
                        for (int rep = 0; rep < 20; rep++) {
                            for (int i = 0; i < windows.size(); i++) {
                                store.lookupBatch(windows.get(i), batch, length, out, matched);
                                if (!Arrays.equals(out, expected.get(i))) {
                                    return false;
                                }
                            }
                            store.lookupLast(rows.tokens(), rows.offsets(), rows.lengths(), rows.count(), last,
                                    lastMatched);
                            if (!Arrays.equals(last, lastExpected) || !Arrays.equals(lastMatched, lastLengths)) {
                                return false;
                            }
                        }
                        return true;
                    }));
                }
            }
            for (Future<Boolean> f : results) {
                assertTrue(f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rejectsBadArguments() {
        float[] out = new float[StoreFixtures.D];
        assertThrows(IllegalArgumentException.class, () -> f32.lookup(new int[] {1, StoreFixtures.TOKENS}, 0, 2, out, 0));
        assertThrows(IllegalArgumentException.class, () -> f32.lookup(new int[] {-1, 2}, 0, 2, out, 0));
        assertEquals(-1, f32.find(new int[] {1, 2, 3, 4, 5}, 0, 5)); // longer than K: never an f-gram
        assertThrows(IllegalArgumentException.class,
                () -> f32.lookupBatch(new int[4], 2, 3, new float[6 * StoreFixtures.D], new int[6]));
    }

    @Test
    void mismatchedExpectationsNameTheFieldAndBothValues() {
        assertMismatch(StoreExpectations.none().withEmbeddingSize(32), "embeddingSize", "32", "24");
        assertMismatch(StoreExpectations.none().withDtype(VectorDtype.INT8), "dtype", "INT8", "FLOAT32");
        assertMismatch(StoreExpectations.none().withMaxN(5), "maxN", "5", "4");
        assertMismatch(StoreExpectations.none().withTokenVocabularyFingerprint("tok-v2"), "tokenVocabularyFingerprint",
                "tok-v2", "tok-v1");
        assertMismatch(StoreExpectations.none().withFgramVocabularyFingerprint("abc"), "fgramVocabularyFingerprint",
                "abc", vocab.fingerprint());
        assertMismatch(StoreExpectations.none().withModelFingerprint("model-v2"), "modelFingerprint", "model-v2",
                "model-v1");
        assertMismatch(StoreExpectations.none().withMainModelFingerprint("main-v1"), "mainModelFingerprint",
                "main-v1", StoreManifest.UNSPECIFIED);
    }

    private void assertMismatch(StoreExpectations e, String field, String expected, String actual) {
        StoreMismatchException ex = assertThrows(StoreMismatchException.class,
                () -> FgramStore.open(f32Dir, FgramStore.OpenOptions.defaults().withExpectations(e)));
        assertEquals(field, ex.field());
        assertTrue(ex.getMessage().contains(field) && ex.getMessage().contains("'" + expected + "'")
                && ex.getMessage().contains("'" + actual + "'"), ex.getMessage());
    }

    @Test
    void truncatedVectorFileIsRefusedAtOpen() throws IOException {
        Path copy = copyStore(f32Dir, "truncated");
        Path file = copy.resolve(StoreLayout.VECTORS);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 10);
        }
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramStore.open(copy));
        assertEquals(file, e.path());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void damagedManifestIsRefused() throws IOException {
        Path copy = copyStore(f32Dir, "manifest");
        Path manifest = copy.resolve(StoreManifest.FILE_NAME);
        Files.writeString(manifest, Files.readString(manifest).replace("embeddingSize=24", "embeddingSize=25"));
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramStore.open(copy));
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }

    @Test
    void formatVersionOneStoresStillOpenAndUnknownVersionsAreRefused() throws IOException {
        Path copy = copyStore(f32Dir, "version1");
        Path file = copy.resolve(StoreManifest.FILE_NAME);
        StoreManifest m = StoreManifest.read(file);
        new StoreManifest(1, m.embeddingSize(), m.dtype(), m.maxN(), m.size(), m.tokenVocabularySize(),
                m.tokenVocabularyFingerprint(), m.fgramVocabularyFingerprint(), m.modelFingerprint(),
                m.vectorFileBytes(), m.indexChecksum()).write(file);
        Files.write(copy.resolve("filter.bin"), new byte[] {1, 2, 3}); // version 1's filter file: ignored
        float[] out = new float[StoreFixtures.D];
        try (FgramStore old = FgramStore.open(copy)) {
            assertEquals(1, old.manifest().formatVersion());
            assertEquals(7, old.lookup(vocab.tokens(7), 0, vocab.length(7), out, 0));
            assertArrayEquals(Arrays.copyOfRange(vectors, 7 * StoreFixtures.D, 8 * StoreFixtures.D), out);
        }
        new StoreManifest(StoreManifest.FORMAT_VERSION + 1, m.embeddingSize(), m.dtype(), m.maxN(), m.size(),
                m.tokenVocabularySize(), m.tokenVocabularyFingerprint(), m.fgramVocabularyFingerprint(),
                m.modelFingerprint(), m.vectorFileBytes(), m.indexChecksum()).write(file);
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramStore.open(copy));
        assertTrue(e.getMessage().contains("unknown store format version " + (StoreManifest.FORMAT_VERSION + 1)),
                e.getMessage());
    }

    @Test
    void storesHoldNoFilterFile() throws IOException {
        try (Stream<Path> s = Files.list(f32Dir)) {
            assertEquals(List.of("index.cm", "manifest.txt", "vectors.bin"),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void flippedVectorByteThrowsInsteadOfReturningAWrongVector() throws IOException {
        Path copy = copyStore(f32Dir, "flipped-vector");
        int rowBytes = StoreLayout.rowBytes(VectorDtype.FLOAT32, StoreFixtures.D);
        int victim = 17;
        flipByte(copy.resolve(StoreLayout.VECTORS), StoreLayout.HEADER_BYTES + (long) victim * rowBytes + 5);
        try (FgramStore store = FgramStore.open(copy,
                FgramStore.OpenOptions.defaults())) {
            int[] g = vocab.tokens(victim);
            FgramStoreCorruptedException e = assertThrows(FgramStoreCorruptedException.class,
                    () -> store.lookup(g, 0, g.length, new float[StoreFixtures.D], 0));
            assertInstanceOf(SconeFormatException.class, e.getCause());
            assertEquals(copy.resolve(StoreLayout.VECTORS), e.getCause().path());
            assertTrue(e.getMessage().contains("row " + victim), e.getMessage());
            int[] other = vocab.tokens(victim + 1);
            assertEquals(victim + 1, store.find(other, 0, other.length)); // the rest still reads
            SconeFormatException v = assertThrows(SconeFormatException.class, store::verify);
            assertTrue(v.getMessage().contains("row " + victim), v.getMessage());
        }
    }

    @Test
    void damagedIndexIsRefusedAtOpenOrCaughtOnLookup() throws IOException {
        Path copy = copyStore(f32Dir, "flipped-index");
        Path index = copy.resolve(StoreLayout.INDEX);
        // find a 4-token f-gram's key (7 bytes) followed by its row, and change the row
        FgramKeyCodec codec = new FgramKeyCodec(StoreFixtures.TOKENS, StoreFixtures.K);
        byte[] file = Files.readAllBytes(index);
        int victim = -1;
        int at = -1;
        for (int id = 0; id < S && at < 0; id++) {
            if (vocab.length(id) != 4) {
                continue;
            }
            byte[] key = new byte[codec.keyBytes(4)];
            codec.encode(vocab.tokens(id), 0, 4, key);
            int pos = indexOf(file, key);
            if (pos >= 0 && (file[pos + key.length] & 0xFF) == (id & 0xFF)) {
                victim = id;
                at = pos + key.length;
            }
        }
        assertTrue(at >= 0, "no 4-token key found in the index file");
        flipByte(index, at + 1); // row += 256 (or -256): another f-gram's row
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramStore.open(copy));
        assertEquals(index, e.path());
        assertTrue(e.getMessage().contains("index checksum mismatch"), e.getMessage());

        try (FgramStore store = FgramStore.open(copy, FgramStore.OpenOptions.defaults()
                .withVerifyIndexChecksum(false))) {
            int[] g = vocab.tokens(victim);
            FgramStoreCorruptedException ex = assertThrows(FgramStoreCorruptedException.class,
                    () -> store.lookup(g, 0, g.length, new float[StoreFixtures.D], 0));
            assertTrue(ex.getMessage().contains(Arrays.toString(g)), ex.getMessage());
            assertThrows(SconeFormatException.class, store::verify);
        }
    }

    @Test
    void aWriteThatThrowsMidwayLeavesNoStoreOrThePreviousOne() throws IOException {
        Path fresh = tmp.resolve("never");
        assertThrows(IllegalArgumentException.class, () -> {
            try (FgramStoreWriter w = FgramStoreWriter.builder().setPath(fresh).optVocabulary(vocab)
                    .setEmbeddingSize(StoreFixtures.D).optDtype(VectorDtype.FLOAT32).build()) {
                w.add(0, vectors, 0);
                w.add(1, vectors, StoreFixtures.D);
                w.add(0, vectors, 0); // duplicate
                w.commit();
            }
        });
        assertFalse(Files.exists(fresh));
        assertNoLeftovers(tmp, "never");

        Path previous = copyStore(int8Dir, "previous");
        StoreManifest before = StoreManifest.read(previous.resolve(StoreManifest.FILE_NAME));
        float[] bad = new float[StoreFixtures.D];
        bad[3] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
            try (FgramStoreWriter w = FgramStoreWriter.builder().setPath(previous).optVocabulary(vocab)
                    .setEmbeddingSize(StoreFixtures.D).optDtype(VectorDtype.FLOAT32).build()) {
                w.add(0, vectors, 0);
                w.add(1, bad, 0);
                w.commit();
            }
        });
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        assertEquals(before, StoreManifest.read(previous.resolve(StoreManifest.FILE_NAME)));
        assertNoLeftovers(tmp, "previous");
    }

    @Test
    void aKilledWriterLeavesNoStore() throws Exception {
        Path target = tmp.resolve("killed");
        var r = dev.scone.fgram.testing.ChildJvm.run(KilledWriterChild.class, java.util.Map.of(), List.of(), 180,
                target.toString());
        assertEquals(KilledWriterChild.HALT_STATUS, r.exitCode(), r.output());
        assertFalse(Files.exists(target));
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramStore.open(target));
        assertTrue(e.getMessage().contains("no manifest"), e.getMessage());
        // what it left is hidden, and the next write of the same store removes it
        try (Stream<Path> st = Files.list(tmp)) {
            assertEquals(1, st.filter(p -> p.getFileName().toString().startsWith(".killed.p")).count());
        }
        StoreFixtures.write(target, StoreFixtures.vocabulary(40, 3), StoreFixtures.vectors(40, 4), VectorDtype.FLOAT32);
        assertNoLeftovers(tmp, "killed");
        assertEquals(40, StoreManifest.read(target.resolve(StoreManifest.FILE_NAME)).size());
    }

    @Test
    void aStoreIsReplacedOnlyWhenTheNewOneIsComplete() throws IOException {
        Path target = copyStore(int8Dir, "replaced");
        FgramVocabulary small = StoreFixtures.vocabulary(50, 9);
        StoreFixtures.write(target, small, StoreFixtures.vectors(50, 10), VectorDtype.FLOAT32);
        StoreManifest m = StoreManifest.read(target.resolve(StoreManifest.FILE_NAME));
        assertEquals(50, m.size());
        assertEquals(VectorDtype.FLOAT32, m.dtype());
        assertNoLeftovers(tmp, "replaced");
    }

    @Test
    void useAfterCloseIsRefused() throws Exception {
        FgramStore store = FgramStore.open(bf16Dir);
        int[] g = vocab.tokens(0);
        assertEquals(0, store.find(g, 0, g.length));
        store.close();
        store.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> store.find(g, 0, g.length));
        assertThrows(IllegalStateException.class,
                () -> store.lookupBatch(g, 1, g.length, new float[g.length * StoreFixtures.D], new int[g.length]));
        assertThrows(IllegalStateException.class, () -> store.prefetch(g, 1, g.length));
        assertThrows(IllegalStateException.class, store::verify);
    }

    @Test
    void keysTooLongForALongUseVariableSizeKeys() throws IOException {
        int vocabSize = 1 << 20; // 21 bits per token: K = 4 needs 84 bits
        Random r = new Random(8);
        List<int[]> grams = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        while (grams.size() < 300) {
            int[] g = new int[2 + r.nextInt(3)];
            for (int k = 0; k < g.length; k++) {
                g[k] = r.nextInt(4) == 0 ? vocabSize - 1 - r.nextInt(3) : r.nextInt(3);
            }
            if (seen.add(Arrays.toString(g))) {
                grams.add(g);
            }
        }
        FgramVocabulary wide = FgramVocabulary.of(vocabSize, 4, grams, new long[grams.size()]);
        float[] v = StoreFixtures.vectors(grams.size(), 12);
        Path dir = tmp.resolve("wide");
        StoreFixtures.write(dir, wide, v, VectorDtype.FLOAT32);
        try (FgramStore store = FgramStore.open(dir)) {
            float[] out = new float[StoreFixtures.D];
            for (int id = 0; id < grams.size(); id++) {
                int[] g = wide.tokens(id);
                assertEquals(id, store.lookup(g, 0, g.length, out, 0));
                assertArrayEquals(Arrays.copyOfRange(v, id * StoreFixtures.D, (id + 1) * StoreFixtures.D), out);
            }
            for (int i = 0; i < 3000; i++) {
                int[] q = new int[1 + r.nextInt(5)];
                for (int k = 0; k < q.length; k++) {
                    q[k] = r.nextInt(4) == 0 ? vocabSize - 1 - r.nextInt(3) : r.nextInt(3);
                }
                assertEquals(wide.find(q), store.find(q, 0, q.length), Arrays.toString(q));
            }
            store.verify();
        }
    }

    @Test
    void verifyFindsAnyFlippedByteOfTheIndexThatOpeningWasToldNotToCheck() throws Exception {
        for (int at : new int[] {5000, 9000, 11000}) {
            Path dir = tmp.resolve("flipped-" + at);
            StoreFixtures.write(dir, vocab, vectors, VectorDtype.FLOAT32);
            Path index = dir.resolve(StoreLayout.INDEX);
            byte[] bytes = Files.readAllBytes(index);
            int pos = Math.min(at, bytes.length - 1);
            bytes[pos] ^= 0x10;
            Files.write(index, bytes);
            try (FgramStore store = FgramStore.open(dir, FgramStore.OpenOptions.defaults()
                    .withVerifyIndexChecksum(false))) {
                SconeFormatException e = assertThrows(SconeFormatException.class, store::verify, "byte " + pos);
                assertTrue(e.getMessage().contains(StoreLayout.INDEX), e.getMessage());
            } catch (SconeFormatException opening) {
                assertTrue(opening.getMessage().contains(StoreLayout.INDEX), opening.getMessage()); // open saw it
            }
        }
    }

    @Test
    void healthyStoresVerify() throws SconeFormatException {
        f32.verify();
        int8.verify();
    }

    @Test
    void writerRejectsBadConfiguration() {
        Path p = tmp.resolve("bad-config");
        assertThrows(IllegalArgumentException.class, () -> FgramStoreWriter.builder().setPath(p).setEmbeddingSize(0)
                .optVocabulary(vocab).build());
        assertThrows(IllegalArgumentException.class, () -> FgramStoreWriter.builder().setPath(p).setEmbeddingSize(4)
                .optMaxN(1).optTokenVocabularySize(10).optExpectedEntries(1).build());
        assertThrows(IllegalArgumentException.class, () -> FgramStoreWriter.builder().setPath(p).setEmbeddingSize(4)
                .optVocabulary(vocab).optModelFingerprint("two\nlines").build());
        assertFalse(Files.exists(p));
    }

    @Test
    void lookupLastEqualsTheLastPositionOfTheBatchLookupForEveryDtype() {
        Random r = new Random(21);
        StoreFixtures.Rows rows = StoreFixtures.rows(vocab, 2000, r);
        for (FgramStore store : List.of(f32, bf16, int8)) {
            int[] histogram = StoreFixtures.checkLookupLast(vocab, rows, StoreFixtures.D, store::lookupLast, store);
            String what = store.dtype() + ": " + Arrays.toString(histogram);
            assertTrue(histogram[0] > 200, "rows without a match: " + what);
            for (int n = 2; n <= StoreFixtures.K; n++) {
                assertTrue(histogram[n] > 20, "rows matching " + n + " tokens: " + what);
            }
        }
        int ones = 0;
        int longer = 0;
        for (int len : rows.lengths()) {
            ones += len == 1 ? 1 : 0;
            longer += len > StoreFixtures.K ? 1 : 0;
        }
        assertTrue(ones > 20 && longer > 500, ones + " rows of one token, " + longer + " longer than K");
        // zero rows: nothing read or written
        assertEquals(0, f32.lookupLast(new int[0], new int[0], new int[0], 0, new float[0], new int[0]));
    }

    @Test
    void lookupLastNeverReachesBeforeTheRowStart() {
        int[] g = StoreFixtures.PLANTED[2]; // {100, 200, 300, 400}; its suffixes are no f-grams
        assertTrue(vocab.find(g) >= 0);
        for (int[] q : new int[][] {{200, 300, 400}, {300, 400}, {9, 100, 200, 300}, {100, 200, 300}, {200, 300}}) {
            assertTrue(vocab.find(q) < 0, Arrays.toString(q));
        }
        int[] tokens = {9, 100, 200, 300, 400, 9};
        int d = StoreFixtures.D;
        for (FgramStore store : List.of(f32)) {
            float[] v = new float[3 * d];
            int[] m = new int[3];
            // rows: the whole f-gram; the same end without its first token; ending before the f-gram ends
            int count = store.lookupLast(tokens, new int[] {1, 2, 0}, new int[] {4, 3, 4}, 3, v, m);
            assertEquals(1, count);
            assertArrayEquals(new int[] {4, 0, 0}, m);
            assertArrayEquals(Arrays.copyOfRange(vectors, vocab.find(g) * d, (vocab.find(g) + 1) * d),
                    Arrays.copyOfRange(v, 0, d));
        }
        // {0, 4999, 0} and its suffix {4999, 0} are both f-grams: the row decides which matches
        int[] t = {0, 4999, 0};
        int[] m = new int[2];
        bf16.lookupLast(t, new int[] {0, 1}, new int[] {3, 2}, 2, new float[2 * d], m);
        assertArrayEquals(new int[] {3, 2}, m);
    }

    @Test
    void lookupLastRejectsBadArgumentsBeforeWritingAnything() {
        int d = StoreFixtures.D;
        int[] tokens = {1, 2, 3, 7, 8};
        int[] offsets = {0, 3};
        int[] lengths = {3, 2};
        float[] v = new float[2 * d];
        int[] m = {-5, -5};
        assertLastRefused("rows must be >= 0, got -1", tokens, offsets, lengths, -1, v, m);
        assertLastRefused("offsets of 1", tokens, new int[] {0}, lengths, 2, v, m);
        assertLastRefused("lengths of 1", tokens, offsets, new int[] {3}, 2, v, m);
        assertLastRefused("matchLengths of 1", tokens, offsets, lengths, 2, v, new int[1]);
        assertLastRefused("vectors of " + (2 * d - 1) + " floats", tokens, offsets, lengths, 2, new float[2 * d - 1],
                m);
        assertLastRefused("row 1 has length 0, expected >= 1", tokens, offsets, new int[] {3, 0}, 2, v, m);
        assertLastRefused("row 1 = tokenIds[3, 6) lies outside tokenIds of 5 ids", tokens, offsets,
                new int[] {3, 3}, 2, v, m);
        assertLastRefused("row 1 = tokenIds[-1, 1) lies outside", tokens, new int[] {0, -1}, lengths, 2, v, m);
        assertLastRefused("token id 5000 at position 4 is outside the token vocabulary", new int[] {1, 2, 3, 7, 5000},
                offsets, lengths, 2, v, m);
        assertArrayEquals(new int[] {-5, -5}, m, "nothing written on refusal");
        assertArrayEquals(new float[2 * d], v);
        // the same arguments, corrected, match both rows
        assertEquals(2, f32.lookupLast(tokens, offsets, lengths, 2, v, m));
        assertArrayEquals(new int[] {3, 2}, m);
    }

    private void assertLastRefused(String message, int[] tokens, int[] offsets, int[] lengths, int rows, float[] v,
            int[] m) {
        for (FgramStore store : List.of(f32)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> store.lookupLast(tokens, offsets, lengths, rows, v, m));
            assertTrue(e.getMessage().contains(message), e.getMessage());
        }
    }

    @Test
    void lookupLastAfterCloseIsRefused() throws IOException {
        FgramStore store = FgramStore.open(f32Dir);
        int[] g = vocab.tokens(0);
        int[] m = new int[1];
        assertEquals(1, store.lookupLast(g, new int[] {0}, new int[] {g.length}, 1, new float[StoreFixtures.D], m));
        store.close();
        assertThrows(IllegalStateException.class,
                () -> store.lookupLast(g, new int[] {0}, new int[] {g.length}, 1, new float[StoreFixtures.D], m));
    }

    @Test
    void lookupLastAllocatesNothingPerCall() {
        java.lang.management.ThreadMXBean bean = java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean,
                "no per-thread allocation counter on this JVM");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        org.junit.jupiter.api.Assumptions.assumeTrue(threads.isThreadAllocatedMemorySupported()
                && threads.isThreadAllocatedMemoryEnabled(), "per-thread allocation counting is off");
        StoreFixtures.Rows rows = StoreFixtures.rows(vocab, 64, new Random(31));
        float[] v = new float[rows.count() * StoreFixtures.D];
        int[] m = new int[rows.count()];
        for (FgramStore store : List.of(f32, bf16, int8)) {
            int calls = 20_000;
            for (int i = 0; i < calls; i++) { // warm up: thread-local buffers, compiled code
                store.lookupLast(rows.tokens(), rows.offsets(), rows.lengths(), rows.count(), v, m);
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < calls; i++) {
                store.lookupLast(rows.tokens(), rows.offsets(), rows.lengths(), rows.count(), v, m);
            }
            long bytes = threads.getCurrentThreadAllocatedBytes() - before;
            // one object per call would be at least 16 bytes a call; allow for the counter's own noise
            assertTrue(bytes < calls, store.dtype() + ": " + bytes + " bytes allocated in " + calls + " calls");
        }
    }

    static Path copyStore(Path from, String name) throws IOException {
        Path to = from.resolveSibling(name);
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path f : s.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    static void flipByte(Path file, long position) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, position);
            b.put(0, (byte) (b.get(0) ^ 0x01));
            b.rewind();
            ch.write(b, position);
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length + 4 <= hay.length; i++) {
            for (int k = 0; k < needle.length; k++) {
                if (hay[i + k] != needle[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static void assertNoLeftovers(Path dir, String name) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> left = s.filter(p -> p.getFileName().toString().startsWith("." + name + ".")).toList();
            assertEquals(List.of(), left, "temporary folders left behind");
        }
    }
}

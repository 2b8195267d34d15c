package dev.scone.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What binds a store's files to each other and to the model: the manifest's main-model
 * fingerprint (format 3), the vector file header's model and vocabulary (vector format 2), and
 * that stores of the earlier formats still open.
 */
class StoreBindingTest {

    private static final int S = 500;
    private static final int D = StoreFixtures.D;
    /** As {@code ParameterFingerprint} gives: recorded in the vector file header as is. */
    private static final String MODEL_A = "0123456789abcdef00112233445566ff";
    /** Not 32 hex digits: recorded as the first 16 bytes of its SHA-256. */
    private static final String MODEL_B = "model-b";

    @TempDir
    Path tmp;

    private FgramVocabulary vocab;
    private float[] vectorsA;
    private float[] vectorsB;

    @BeforeEach
    void fixtures() {
        vocab = StoreFixtures.vocabulary(S, 61);
        vectorsA = StoreFixtures.vectors(S, 62);
        vectorsB = StoreFixtures.vectors(S, 63);
    }

    private StoreManifest write(Path dir, float[] vectors, String model, String mainModel, String fgramFingerprint)
            throws IOException {
        FgramStoreWriter.Builder b = FgramStoreWriter.builder().setPath(dir).optVocabulary(vocab).setEmbeddingSize(D)
                .optDtype(VectorDtype.FLOAT32).optTokenVocabularyFingerprint("tok-v1").optModelFingerprint(model);
        if (mainModel != null) {
            b.optMainModelFingerprint(mainModel);
        }
        if (fgramFingerprint != null) {
            b.optFgramVocabularyFingerprint(fgramFingerprint);
        }
        try (FgramStoreWriter w = b.build()) {
            for (int id = 0; id < S; id++) {
                w.add(id, vectors, id * D);
            }
            return (StoreManifest) w.commit();
        }
    }

    @Test
    void formatThreeManifestRecordsTheMainModelFingerprintAndTheHeaderTheModel() throws Exception {
        Path dir = tmp.resolve("a");
        StoreManifest m = write(dir, vectorsA, MODEL_A, "main-7f3a", null);
        assertEquals(3, StoreManifest.FORMAT_VERSION);
        assertEquals(StoreManifest.FORMAT_VERSION, m.formatVersion());
        assertEquals("main-7f3a", m.mainModelFingerprint());
        String text = Files.readString(dir.resolve(StoreManifest.FILE_NAME), StandardCharsets.UTF_8);
        assertTrue(text.contains("\nmodelFingerprint=" + MODEL_A + "\nmainModelFingerprint=main-7f3a\n"), text);
        assertEquals(m, StoreManifest.read(dir.resolve(StoreManifest.FILE_NAME)));
        try (FgramStore store = FgramStore.open(dir)) {
            assertEquals(m, store.manifest());
        }

        // the vector file header, read independently of StoreLayout
        ByteBuffer h = header(dir);
        assertEquals(0x564E4353, h.getInt(0));
        assertEquals(2, h.getInt(4));
        assertEquals(S, h.getLong(24));
        assertArrayEquals(HexFormat.of().parseHex(MODEL_A), bytes(h, 32, 16));
        assertArrayEquals(HexFormat.of().parseHex(vocab.fingerprint().substring(0, 16)), bytes(h, 48, 8));
        assertArrayEquals(new byte[4], bytes(h, 20, 4));
        assertArrayEquals(new byte[4], bytes(h, 56, 4));

        // no main-model fingerprint given; a model fingerprint that is no hex: its SHA-256 is recorded
        Path b = tmp.resolve("b");
        StoreManifest mb = write(b, vectorsB, MODEL_B, null, null);
        assertEquals(StoreManifest.UNSPECIFIED, mb.mainModelFingerprint());
        assertTrue(Files.readString(b.resolve(StoreManifest.FILE_NAME))
                .contains("\nmainModelFingerprint=unspecified\n"));
        assertArrayEquals(sha256Prefix(MODEL_B), bytes(header(b), 32, 16));
    }

    @Test
    void writerRefusesABadMainModelFingerprint() {
        for (String bad : new String[] {"", " ", "two\nlines", "cr\rhere"}) {
            Path p = tmp.resolve("bad");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FgramStoreWriter.builder()
                    .setPath(p).optVocabulary(vocab).setEmbeddingSize(D).optMainModelFingerprint(bad).build());
            assertTrue(e.getMessage().contains("mainModelFingerprint must be one non-blank line"), e.getMessage());
            assertFalse(Files.exists(p));
        }
    }

    @Test
    void aMainModelFingerprintThatDiffersOrIsUnspecifiedIsRefused() throws IOException {
        Path with = tmp.resolve("with");
        write(with, vectorsA, MODEL_A, "main-1", null);
        Path without = tmp.resolve("without");
        write(without, vectorsA, MODEL_A, null, null);

        StoreMismatchException e = assertThrows(StoreMismatchException.class, () -> FgramStore.open(with,
                FgramStore.OpenOptions.defaults().withExpectations(StoreExpectations.none()
                        .withMainModelFingerprint("main-2"))));
        assertEquals("mainModelFingerprint", e.field());
        assertEquals("main-2", e.expected());
        assertEquals("main-1", e.actual());
        assertTrue(e.getMessage().contains("'main-1'") && e.getMessage().contains("'main-2'"), e.getMessage());
        assertOneLine(e.getMessage());

        e = assertThrows(StoreMismatchException.class, () -> FgramStore.open(without,
                FgramStore.OpenOptions.defaults().withExpectations(StoreExpectations.none()
                        .withModelFingerprint(MODEL_A).withMainModelFingerprint("main-1"))));
        assertEquals("mainModelFingerprint", e.field());
        assertEquals(StoreManifest.UNSPECIFIED, e.actual());
        assertTrue(e.getMessage().contains("written without a main-model fingerprint and must be precomputed again")
                && e.getMessage().contains("'main-1'"), e.getMessage());
        assertOneLine(e.getMessage());

        StoreExpectations right = StoreExpectations.none().withFgramVocabulary(vocab).withModelFingerprint(MODEL_A)
                .withMainModelFingerprint("main-1");
        try (FgramStore store = FgramStore.open(with, FgramStore.OpenOptions.defaults().withExpectations(right))) {
            assertEquals("main-1", store.manifest().mainModelFingerprint());
        }
        // no main-model expectation: a store without one still opens
        try (FgramStore store = FgramStore.open(without, FgramStore.OpenOptions.defaults()
                .withExpectations(StoreExpectations.none().withModelFingerprint(MODEL_A)))) {
            assertEquals(S, store.size());
        }
    }

    @Test
    void aVectorFileCopiedFromAnotherModelsStoreIsRefused() throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        write(a, vectorsA, MODEL_A, null, null);
        write(b, vectorsB, MODEL_B, null, null);
        // the case that used to pass: same V_fgram, so the index files are identical and the sizes equal
        assertArrayEquals(Files.readAllBytes(a.resolve(StoreLayout.INDEX)),
                Files.readAllBytes(b.resolve(StoreLayout.INDEX)));
        assertEquals(Files.size(a.resolve(StoreLayout.VECTORS)), Files.size(b.resolve(StoreLayout.VECTORS)));

        Path mixed = FgramStoreTest.copyStore(a, "mixed");
        Files.copy(b.resolve(StoreLayout.VECTORS), mixed.resolve(StoreLayout.VECTORS),
                StandardCopyOption.REPLACE_EXISTING);
        String bHex = HexFormat.of().formatHex(sha256Prefix(MODEL_B));
        for (FgramStore.OpenOptions options : allOptions()) {
            SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramStore.open(mixed, options));
            assertEquals(mixed.resolve(StoreLayout.VECTORS), e.path());
            assertTrue(e.getMessage().contains("the vector file belongs to another store (vectors of model " + bHex
                    + ", manifest says " + MODEL_A + ")"), e.getMessage());
            assertOneLine(e.getMessage());
        }

        // the other way round: the manifest's fingerprint is no hex, so the message gives the bytes it stands for
        Path mixed2 = FgramStoreTest.copyStore(b, "mixed2");
        Files.copy(a.resolve(StoreLayout.VECTORS), mixed2.resolve(StoreLayout.VECTORS),
                StandardCopyOption.REPLACE_EXISTING);
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramStore.open(mixed2));
        assertTrue(e.getMessage().contains("(vectors of model " + MODEL_A + ", manifest says " + MODEL_B
                + ", recorded as " + bHex + ")"), e.getMessage());

        // each store with its own vector file opens and verifies
        for (Path dir : List.of(a, b)) {
            try (FgramStore store = FgramStore.open(dir)) {
                store.verify();
            }
        }
    }

    @Test
    void aVectorFileOfAnotherFgramVocabularyIsRefused() throws IOException {
        Path a = tmp.resolve("a");
        Path c = tmp.resolve("c");
        write(a, vectorsA, MODEL_A, null, null);
        write(c, vectorsA, MODEL_A, null, "other-vocabulary");
        Path mixed = FgramStoreTest.copyStore(a, "mixed");
        Files.copy(c.resolve(StoreLayout.VECTORS), mixed.resolve(StoreLayout.VECTORS),
                StandardCopyOption.REPLACE_EXISTING);
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramStore.open(mixed));
        assertEquals(mixed.resolve(StoreLayout.VECTORS), e.path());
        assertTrue(e.getMessage().contains("the vector file belongs to another store (vectors of f-gram vocabulary "
                + HexFormat.of().formatHex(Arrays.copyOf(sha256Prefix("other-vocabulary"), 8)) + ", manifest says "
                + vocab.fingerprint() + ")"), e.getMessage());
        assertOneLine(e.getMessage());
    }

    @Test
    void formatTwoStoresStillOpenAndAnUnboundVectorFileNeedsAnOldManifest() throws IOException {
        Path dir = tmp.resolve("old");
        StoreManifest m = write(dir, vectorsA, MODEL_A, null, null);
        Path manifest = dir.resolve(StoreManifest.FILE_NAME);
        Path vectors = dir.resolve(StoreLayout.VECTORS);
        byte[] v3Manifest = Files.readAllBytes(manifest);
        // what the earlier code wrote: a version-2 manifest without the main-model line ...
        writeVersionTwoManifest(manifest, m);
        assertFalse(Files.readString(manifest).contains("mainModelFingerprint"));
        // ... and a version-1 vector file header, which records no model
        writeVersionOneHeader(vectors, m);

        try (FgramStore store = FgramStore.open(dir, FgramStore.OpenOptions.defaults().withExpectations(
                StoreExpectations.none().withFgramVocabulary(vocab).withModelFingerprint(MODEL_A)))) {
            assertEquals(2, store.manifest().formatVersion());
            assertEquals(StoreManifest.UNSPECIFIED, store.manifest().mainModelFingerprint());
            float[] out = new float[D];
            for (int id = 0; id < S; id++) {
                int[] g = vocab.tokens(id);
                assertEquals(id, store.lookup(g, 0, g.length, out, 0));
                assertArrayEquals(Arrays.copyOfRange(vectorsA, id * D, (id + 1) * D), out);
            }
            store.verify();
        }
        StoreMismatchException mismatch = assertThrows(StoreMismatchException.class, () -> FgramStore.open(dir,
                FgramStore.OpenOptions.defaults().withExpectations(StoreExpectations.none()
                        .withMainModelFingerprint("main-1"))));
        assertTrue(mismatch.getMessage().contains("written without a main-model fingerprint"), mismatch.getMessage());

        // a version-1 vector file under a format-3 manifest: it cannot show whose vectors it holds
        Files.write(manifest, v3Manifest);
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramStore.open(dir));
        assertEquals(vectors, e.path());
        assertTrue(e.getMessage().contains("the vector file belongs to another store (version-1 vectors of an"
                + " unrecorded model"), e.getMessage());
        assertOneLine(e.getMessage());
    }

    @Test
    void aDamagedOrUnknownVectorHeaderIsRefused() throws IOException {
        Path dir = tmp.resolve("a");
        write(dir, vectorsA, MODEL_A, null, null);
        Path vectors = dir.resolve(StoreLayout.VECTORS);
        FgramStoreTest.flipByte(vectors, 40); // inside the recorded model
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramStore.open(dir));
        assertTrue(e.getMessage().contains("header checksum mismatch"), e.getMessage());
        FgramStoreTest.flipByte(vectors, 40);
        ByteBuffer h = header(dir);
        h.putInt(4, 3);
        seal(h);
        writeHeader(vectors, h);
        e = assertThrows(SconeFormatException.class, () -> FgramStore.open(dir));
        assertTrue(e.getMessage().contains("unknown vector file format version 3"), e.getMessage());
    }

    private static List<FgramStore.OpenOptions> allOptions() {
        FgramStore.OpenOptions d = FgramStore.OpenOptions.defaults();
        return List.of(d, d.withVerifyIndexChecksum(false));
    }

    /** The manifest text of format version 2, as the earlier code wrote it. */
    static void writeVersionTwoManifest(Path file, StoreManifest m) throws IOException {
        String body = "format=scone-fgram-store\n" + "formatVersion=2\n" + "embeddingSize=" + m.embeddingSize() + "\n"
                + "dtype=" + m.dtype().name() + "\n" + "maxN=" + m.maxN() + "\n" + "size=" + m.size() + "\n"
                + "tokenVocabularySize=" + m.tokenVocabularySize() + "\n" + "tokenVocabularyFingerprint="
                + m.tokenVocabularyFingerprint() + "\n" + "fgramVocabularyFingerprint="
                + m.fgramVocabularyFingerprint() + "\n" + "modelFingerprint=" + m.modelFingerprint() + "\n"
                + "vectorFileBytes=" + m.vectorFileBytes() + "\n" + "indexChecksum="
                + String.format(Locale.ROOT, "%08x", m.indexChecksum()) + "\n";
        CRC32C crc = new CRC32C();
        crc.update(body.getBytes(StandardCharsets.UTF_8));
        Files.writeString(file, body + "checksum=" + String.format(Locale.ROOT, "%08x", crc.getValue()) + "\n",
                StandardCharsets.UTF_8);
    }

    /** The vector file header of version 1: magic, version, dtype, d, row bytes, rows, CRC32C. */
    static void writeVersionOneHeader(Path vectors, StoreManifest m) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, 0x564E4353).putInt(4, 1).putInt(8, m.dtype().ordinal()).putInt(12, m.embeddingSize())
                .putInt(16, m.dtype().vectorBytes(m.embeddingSize()) + 4).putLong(24, m.size());
        seal(h);
        writeHeader(vectors, h);
    }

    private static void seal(ByteBuffer h) {
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, 60);
        h.putInt(60, (int) crc.getValue());
    }

    private static void writeHeader(Path vectors, ByteBuffer h) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(vectors, java.nio.file.StandardOpenOption.WRITE)) {
            h.rewind();
            ch.write(h, 0);
        }
    }

    private static ByteBuffer header(Path dir) throws IOException {
        byte[] all = Files.readAllBytes(dir.resolve(StoreLayout.VECTORS));
        return ByteBuffer.wrap(Arrays.copyOf(all, 64)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] bytes(ByteBuffer h, int at, int n) {
        byte[] b = new byte[n];
        h.get(at, b);
        return b;
    }

    private static byte[] sha256Prefix(String text) {
        try {
            return Arrays.copyOf(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)),
                    16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static void assertOneLine(String message) {
        assertFalse(message.contains("\n") || message.contains("\r"), "not one line: " + message);
    }
}

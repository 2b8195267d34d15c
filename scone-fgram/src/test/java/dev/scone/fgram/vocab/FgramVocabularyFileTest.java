package dev.scone.fgram.vocab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FgramVocabularyFileTest {

    /** Where the golden file lives in the source tree, relative to the module. */
    static final String GOLDEN = "golden/vocab/fgram-vocabulary-v1.bin";

    /** The version-2 golden file: the same vocabulary, counted on {@link #GOLDEN_COUNTED_ON}. */
    static final String GOLDEN_V2 = "golden/vocab/fgram-vocabulary-v2.bin";

    static final FgramVocabularyFile.CountedOn GOLDEN_COUNTED_ON = new FgramVocabularyFile.CountedOn(
            new dev.scone.fgram.corpus.TokenIdFile.Origin("00112233445566ff", "0123456789abcdef01234567"), 7, 1234L,
            0x5eed1234);

    @TempDir
    Path tmp;

    /** The vocabulary stored in the version-1 golden file. */
    static FgramVocabulary goldenVocabulary() {
        return FgramVocabulary.of(50, 4, List.of(new int[] {3, 7}, new int[] {7, 9}, new int[] {3, 7, 9},
                new int[] {1, 2, 3, 4}, new int[] {49, 0}), new long[] {12, 12, 8, 5, 2});
    }

    /**
     * Regenerates the golden file (not a test: run it by hand only when a new format version is
     * introduced, and keep the old file). Usage: {@code regenerateGolden(Path.of("src/test/resources"))}.
     *
     * @param resources the module's test resources folder
     * @throws IOException when writing fails
     */
    public static void regenerateGolden(Path resources) throws IOException {
        FgramVocabularyFile.write(goldenVocabulary(), resources.resolve(GOLDEN_V2), GOLDEN_COUNTED_ON);
    }

    /**
     * Regenerates the golden file from the command line.
     *
     * @param args the test resources folder (default {@code src/test/resources})
     * @throws IOException when writing fails
     */
    public static void main(String[] args) throws IOException {
        regenerateGolden(Path.of(args.length > 0 ? args[0] : "src/test/resources"));
    }

    private static Path golden() throws URISyntaxException {
        return Path.of(FgramVocabularyFileTest.class.getClassLoader().getResource(GOLDEN).toURI());
    }

    @Test
    void goldenFileReadsToTheExpectedVocabulary() throws Exception {
        FgramVocabulary v = FgramVocabularyFile.read(golden());
        assertEquals(goldenVocabulary(), v);
        assertEquals("b9f6ae37c3fd3c39006820028d95b1a5", v.fingerprint(), "pinned fingerprint of the golden file");
        assertEquals(goldenVocabulary().fingerprint(), v.fingerprint());
        assertEquals(2, v.find(3, 7, 9));
        assertEquals(5, v.count(3));
        assertEquals(null, FgramVocabularyFile.countedOn(golden()), "version 1 records no corpus");
        // version 2: the same vocabulary and fingerprint, with its corpus; this build writes it byte for byte
        Path v2 = Path.of(FgramVocabularyFileTest.class.getClassLoader().getResource(GOLDEN_V2).toURI());
        assertEquals(goldenVocabulary(), FgramVocabularyFile.read(v2));
        assertEquals(GOLDEN_COUNTED_ON, FgramVocabularyFile.countedOn(v2));
        Path again = tmp.resolve("again.bin");
        FgramVocabularyFile.write(goldenVocabulary(), again, GOLDEN_COUNTED_ON);
        assertEquals(-1L, Files.mismatch(v2, again));
        FgramVocabularyFile.write(goldenVocabulary(), again);
        assertEquals(null, FgramVocabularyFile.countedOn(again), "written without a corpus: none recorded");
    }

    static FgramVocabulary randomVocabulary(long seed, int size) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int maxN = 2 + rnd.nextInt(5);
        int tokenVocabularySize = 1 + rnd.nextInt(100_000);
        java.util.Set<java.util.List<Integer>> seen = new java.util.HashSet<>();
        List<int[]> grams = new ArrayList<>();
        long[] counts = new long[size];
        while (grams.size() < size) {
            int[] g = rnd.ints(2 + rnd.nextInt(maxN - 1), 0, tokenVocabularySize).toArray();
            if (seen.add(java.util.Arrays.stream(g).boxed().toList())) {
                counts[grams.size()] = rnd.nextLong(1L << 40);
                grams.add(g);
            }
        }
        return FgramVocabulary.of(tokenVocabularySize, maxN, grams, counts);
    }

    @Test
    void roundTripsExactly() throws IOException {
        for (int trial = 0; trial < 10; trial++) {
            FgramVocabulary v = randomVocabulary(trial, trial == 0 ? 0 : trial * 997);
            Path p = tmp.resolve("v" + trial + ".bin");
            FgramVocabularyFile.write(v, p);
            assertEquals(FgramVocabularyFile.fileLength(v), Files.size(p));
            FgramVocabulary back = FgramVocabularyFile.read(p);
            assertEquals(v, back);
            assertEquals(v.fingerprint(), back.fingerprint());
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(10, files.count(), "no temporary file is left behind");
        }
    }

    @Test
    void truncatedFilesAreRejected() throws IOException {
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(randomVocabulary(1, 300), p);
        byte[] full = Files.readAllBytes(p);
        for (int len : new int[] {0, 5, 8, 11, 20, 40, full.length / 2, full.length - 4, full.length - 1}) {
            Path cut = tmp.resolve("cut" + len + ".bin");
            Files.write(cut, java.util.Arrays.copyOf(full, len));
            SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramVocabularyFile.read(cut));
            assertTrue(e.getMessage().startsWith(cut + ": truncated"), e.getMessage());
            assertEquals(cut, e.path());
        }
        Path longer = tmp.resolve("longer.bin");
        Files.write(longer, java.util.Arrays.copyOf(full, full.length + 3));
        assertMessageContains(longer, "trailing bytes: the header says " + full.length + " bytes, the file has "
                + (full.length + 3));
    }

    @Test
    void everyCorruptedByteIsDetected() throws IOException {
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(randomVocabulary(2, 40), p);
        byte[] full = Files.readAllBytes(p);
        Path bad = tmp.resolve("bad.bin");
        for (int i = 0; i < full.length; i++) {
            byte[] copy = full.clone();
            copy[i] ^= (byte) (1 << (i % 8));
            Files.write(bad, copy);
            assertThrows(SconeFormatException.class, () -> FgramVocabularyFile.read(bad), "flipped byte " + i);
        }
        byte[] body = full.clone();
        body[40] ^= 1;
        Files.write(bad, body);
        assertMessageContains(bad, "checksum mismatch");
    }

    @Test
    void foreignAndUnknownVersionFilesAreRejected() throws IOException {
        Path text = Files.writeString(tmp.resolve("notes.txt"), "these are not f-grams at all, just some text");
        assertMessageContains(text, "not an f-gram vocabulary file: magic number 0x");
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(randomVocabulary(3, 10), p);
        byte[] bytes = Files.readAllBytes(p);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 3);
        Path v3 = tmp.resolve("v3.bin");
        Files.write(v3, bytes);
        assertMessageContains(v3, "unknown format version 3 (this build reads versions 1 and 2)");
    }

    @Test
    void aFingerprintThatDisagreesIsRejected() throws IOException {
        // a file whose checksum is right but whose stored fingerprint is not the content's
        FgramVocabulary v = randomVocabulary(4, 10);
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(v, p);
        byte[] bytes = Files.readAllBytes(p);
        int fp = bytes.length - FgramVocabularyFile.TRAILER_BYTES;
        bytes[fp] ^= 0x55;
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length - 4, (int) crc.getValue());
        Files.write(p, bytes);
        assertMessageContains(p, "fingerprint mismatch: stored ");
    }

    private static void assertMessageContains(Path p, String part) {
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramVocabularyFile.read(p));
        assertTrue(e.getMessage().startsWith(p + ": ") && e.getMessage().contains(part), e.getMessage());
    }
}

package dev.scone.fgram.vocab;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
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

    /** Where the golden files live in the source tree, relative to the module's test resources. */
    static final String GOLDEN = "golden/vocab/fgram-vocabulary-v1.bin";

    /** The version-2 golden file: the same vocabulary, counted on {@link #GOLDEN_COUNTED_ON}. */
    static final String GOLDEN_V2 = "golden/vocab/fgram-vocabulary-v2.bin";

    /** The version-3 golden file: the same again, in blocks of {@link #GOLDEN_V3_BLOCK_BITS}. */
    static final String GOLDEN_V3 = "golden/vocab/fgram-vocabulary-v3.bin";

    /** Blocks of two f-grams, so that the golden file pins a layout of several blocks, the last one short. */
    static final int GOLDEN_V3_BLOCK_BITS = 1;

    static final FgramVocabularyFile.CountedOn GOLDEN_COUNTED_ON = new FgramVocabularyFile.CountedOn(
            new dev.scone.fgram.corpus.TokenIdFile.Origin("00112233445566ff", "0123456789abcdef01234567"), 7, 1234L,
            0x5eed1234);

    @TempDir
    Path tmp;

    /** The vocabulary stored in the golden files. */
    static FgramVocabulary goldenVocabulary() {
        return FgramVocabulary.of(50, 4, List.of(new int[] {3, 7}, new int[] {7, 9}, new int[] {3, 7, 9},
                new int[] {1, 2, 3, 4}, new int[] {49, 0}), new long[] {12, 12, 8, 5, 2});
    }

    /**
     * Regenerates the golden file of the current version (not a test: run it by hand only when a
     * new format version is introduced, and keep the old files). Usage:
     * {@code regenerateGolden(Path.of("src/test/resources"))}.
     *
     * @param resources the module's test resources folder
     * @throws IOException when writing fails
     */
    public static void regenerateGolden(Path resources) throws IOException {
        FgramVocabularyFile.write(goldenVocabulary(), resources.resolve(GOLDEN_V3), GOLDEN_COUNTED_ON,
                GOLDEN_V3_BLOCK_BITS);
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

    static Path resource(String name) throws URISyntaxException {
        return Path.of(FgramVocabularyFileTest.class.getClassLoader().getResource(name).toURI());
    }

    @Test
    void goldenFilesOfEveryVersionReadToTheExpectedVocabulary() throws Exception {
        FgramVocabulary v = FgramVocabularyFile.read(resource(GOLDEN));
        assertEquals(goldenVocabulary(), v);
        assertEquals("b9f6ae37c3fd3c39006820028d95b1a5", v.fingerprint(), "pinned fingerprint of the golden file");
        assertEquals(goldenVocabulary().fingerprint(), v.fingerprint());
        assertEquals(2, v.find(3, 7, 9));
        assertEquals(5, v.count(3));
        assertNull(FgramVocabularyFile.countedOn(resource(GOLDEN)), "version 1 records no corpus");
        for (String golden : List.of(GOLDEN_V2, GOLDEN_V3)) {
            Path p = resource(golden);
            assertEquals(goldenVocabulary(), FgramVocabularyFile.read(p), golden);
            assertEquals(GOLDEN_COUNTED_ON, FgramVocabularyFile.countedOn(p), golden);
            try (MappedFgramVocabulary m = FgramVocabularyFile.open(p)) {
                assertEquals(golden.equals(GOLDEN_V3), m.isMapped(), golden);
                assertEquals(goldenVocabulary(), m.vocabulary(), golden);
                assertEquals(GOLDEN_COUNTED_ON, m.countedOn(), golden);
                m.verify();
            }
            FgramVocabulary range = FgramVocabularyFile.readRange(p, 1, 4);
            for (int id = 1; id < 4; id++) {
                assertArrayEquals(goldenVocabulary().tokens(id), range.tokens(id), golden);
            }
        }
        // This build writes version 3 byte for byte.
        Path again = tmp.resolve("again.bin");
        FgramVocabularyFile.write(goldenVocabulary(), again, GOLDEN_COUNTED_ON, GOLDEN_V3_BLOCK_BITS);
        assertEquals(-1L, Files.mismatch(resource(GOLDEN_V3), again));
        FgramVocabularyFile.write(goldenVocabulary(), again);
        assertNull(FgramVocabularyFile.countedOn(again), "written without a corpus: none recorded");
        assertEquals(FgramVocabularyFile.VERSION, ByteBuffer.wrap(Files.readAllBytes(again))
                .order(ByteOrder.LITTLE_ENDIAN).getInt(8));
    }

    /**
     * A random vocabulary (random K, token vocabulary and f-grams) and the f-grams and counts it
     * was built from, the brute-force reference.
     */
    record Reference(int tokenVocabularySize, int maxN, List<int[]> fgrams, long[] counts) {

        FgramVocabulary vocabulary() {
            return FgramVocabulary.of(tokenVocabularySize, maxN, fgrams, counts);
        }

        void assertHeldBy(FgramVocabulary v, int from, int to, String what) {
            assertEquals(fgrams.size(), v.size(), what);
            assertEquals(maxN, v.maxN(), what);
            assertEquals(tokenVocabularySize, v.tokenVocabularySize(), what);
            int[] dst = new int[maxN + 3];
            for (int id = from; id < to; id++) {
                int[] g = fgrams.get(id);
                assertEquals(g.length, v.length(id), what + " id " + id);
                assertEquals(counts[id], v.count(id), what + " id " + id);
                assertArrayEquals(g, v.tokens(id), what + " id " + id);
                assertEquals(g[g.length - 1], v.token(id, g.length - 1), what + " id " + id);
                assertEquals(g.length, v.copyTokens(id, dst, 3), what);
                assertArrayEquals(g, java.util.Arrays.copyOfRange(dst, 3, 3 + g.length), what);
            }
            FgramVocabulary.Cursor c = v.cursor(from, to);
            for (int id = from; id < to; id++) {
                assertTrue(c.next(), what);
                assertEquals(id, c.id(), what);
                assertEquals(counts[id], c.count(), what);
                assertArrayEquals(fgrams.get(id), java.util.Arrays.copyOf(c.tokens(), c.length()), what);
            }
            assertFalse(c.next(), what);
        }
    }

    static Reference reference(long seed, int size) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int maxN = 2 + rnd.nextInt(5);
        int tokenVocabularySize = 1 + rnd.nextInt(100_000);
        if (size > 0) {
            tokenVocabularySize = Math.max(tokenVocabularySize, 40); // room for that many distinct f-grams
        }
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
        return new Reference(tokenVocabularySize, maxN, grams, counts);
    }

    static FgramVocabulary randomVocabulary(long seed, int size) {
        return reference(seed, size).vocabulary();
    }

    @Test
    void roundTripsExactlyAtEveryBlockSize() throws IOException {
        for (int trial = 0; trial < 12; trial++) {
            Reference ref = reference(trial, trial == 0 ? 0 : trial * 397);
            FgramVocabulary v = ref.vocabulary();
            int bits = new int[] {0, 1, 3, 5, BlockLayout.DEFAULT_BLOCK_BITS}[trial % 5];
            Path p = tmp.resolve("v" + trial + ".bin");
            FgramVocabularyFile.write(v, p, null, bits);
            if (bits == BlockLayout.DEFAULT_BLOCK_BITS) {
                assertEquals(FgramVocabularyFile.fileLength(v), Files.size(p));
            }
            for (long segment : new long[] {1, 100, RecordStore.SEGMENT_BYTES}) {
                FgramVocabulary back = FgramVocabularyFile.readContents(p, segment).vocabulary();
                assertEquals(v, back);
                assertEquals(v.fingerprint(), back.fingerprint());
                ref.assertHeldBy(back, 0, v.size(), "trial " + trial + " segment " + segment);
            }
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(12, files.count(), "no temporary file is left behind");
        }
    }

    @Test
    void theStreamingWriterWritesWhatWriteDoes() throws IOException {
        Reference ref = reference(21, 5000);
        FgramVocabulary v = ref.vocabulary();
        Path whole = tmp.resolve("whole.bin");
        FgramVocabularyFile.write(v, whole, GOLDEN_COUNTED_ON);
        Path streamed = tmp.resolve("streamed.bin");
        try (FgramVocabularyFile.Writer w = FgramVocabularyFile.newWriter(streamed, ref.tokenVocabularySize(),
                ref.maxN(), ref.fgrams().size(), GOLDEN_COUNTED_ON)) {
            for (int id = 0; id < ref.fgrams().size(); id++) {
                assertFalse(Files.exists(streamed), "nothing at the target before complete()");
                w.append(ref.fgrams().get(id), ref.counts()[id]);
            }
            assertEquals(v.fingerprint(), w.complete());
        }
        assertEquals(-1L, Files.mismatch(whole, streamed));
    }

    @Test
    void blocksEncodedApartAssembleIntoWhatWriteWrites() throws IOException {
        for (int size : new int[] {0, 5, 2 * FgramVocabularyFile.BLOCK_FGRAMS + 321}) {
            Reference ref = wideReference(23 + size, size);
            FgramVocabulary v = ref.vocabulary();
            Path whole = tmp.resolve("whole-" + size + ".bin");
            FgramVocabularyFile.write(v, whole, GOLDEN_COUNTED_ON);
            List<FgramVocabularyFile.EncodedBlock> blocks = encode(ref);
            int[] tokens = blocks.stream().mapToInt(FgramVocabularyFile.EncodedBlock::tokens).toArray();
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            FgramVocabularyFile.Assembler a = FgramVocabularyFile.newAssembler(out, whole, ref.tokenVocabularySize(),
                    ref.maxN(), size, GOLDEN_COUNTED_ON, tokens);
            for (FgramVocabularyFile.EncodedBlock b : blocks) {
                a.append(b);
            }
            assertEquals(v.fingerprint(), a.complete());
            assertArrayEquals(Files.readAllBytes(whole), out.toByteArray(), size + " f-grams");
        }
    }

    @Test
    void theAssemblerRefusesBlocksOutOfOrderDamagedOrMissing() throws IOException {
        Reference ref = wideReference(29, FgramVocabularyFile.BLOCK_FGRAMS + 10);
        List<FgramVocabularyFile.EncodedBlock> blocks = encode(ref);
        int[] tokens = blocks.stream().mapToInt(FgramVocabularyFile.EncodedBlock::tokens).toArray();
        Path name = Path.of("v.bin");
        FgramVocabularyFile.Assembler a = FgramVocabularyFile.newAssembler(java.io.OutputStream.nullOutputStream(),
                name, ref.tokenVocabularySize(), ref.maxN(), ref.fgrams().size(), null, tokens);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.append(blocks.get(1)));
        assertTrue(e.getMessage().startsWith("v.bin: expected block 0 of 16384 f-grams"), e.getMessage());
        FgramVocabularyFile.EncodedBlock b0 = blocks.get(0);
        byte[] damaged = b0.bytes().clone();
        damaged[100] ^= 1;
        e = assertThrows(IllegalArgumentException.class, () -> a.append(new FgramVocabularyFile.EncodedBlock(0,
                b0.fgrams(), b0.tokens(), b0.crc(), damaged)));
        assertEquals("v.bin: block 0 does not match its checksum (damaged)", e.getMessage());
        a.append(b0);
        assertThrows(IllegalStateException.class, a::complete);
        a.append(blocks.get(1));
        a.complete();
        e = assertThrows(IllegalArgumentException.class, () -> FgramVocabularyFile.newAssembler(
                java.io.OutputStream.nullOutputStream(), name, 10, 3, 5, null, new int[] {9}));
        assertEquals("block 0 of 5 f-grams cannot hold 9 tokens", e.getMessage());
        FgramVocabularyFile.BlockBuilder bb = FgramVocabularyFile.newBlock(10, 3, 2, 0);
        bb.add(new int[] {1, 2}, 0, 2, 4);
        assertThrows(IllegalStateException.class, bb::encode);
        assertEquals("f-gram 1 has token id 10 outside the token vocabulary [0, 10)",
                assertThrows(IllegalArgumentException.class, () -> bb.add(new int[] {1, 10}, 0, 2, 4)).getMessage());
    }

    /** Distinct random f-grams of 2..5 tokens over 5,000 tokens: room for any size a test needs. */
    private static Reference wideReference(long seed, int size) {
        SplittableRandom rnd = new SplittableRandom(seed);
        java.util.Set<java.util.List<Integer>> seen = new java.util.HashSet<>();
        List<int[]> grams = new ArrayList<>();
        long[] counts = new long[size];
        while (grams.size() < size) {
            int[] g = rnd.ints(2 + rnd.nextInt(4), 0, 5000).toArray();
            if (seen.add(java.util.Arrays.stream(g).boxed().toList())) {
                counts[grams.size()] = rnd.nextLong(1L << 40);
                grams.add(g);
            }
        }
        return new Reference(5000, 5, grams, counts);
    }

    /** The blocks of a reference vocabulary, encoded one by one. */
    private static List<FgramVocabularyFile.EncodedBlock> encode(Reference ref) {
        int size = ref.fgrams().size();
        List<FgramVocabularyFile.EncodedBlock> blocks = new ArrayList<>();
        for (int first = 0; first < size; first += FgramVocabularyFile.BLOCK_FGRAMS) {
            FgramVocabularyFile.BlockBuilder b = FgramVocabularyFile.newBlock(ref.tokenVocabularySize(), ref.maxN(),
                    size, first / FgramVocabularyFile.BLOCK_FGRAMS);
            for (int id = first; id < Math.min(size, first + FgramVocabularyFile.BLOCK_FGRAMS); id++) {
                int[] g = ref.fgrams().get(id);
                b.add(g, 0, g.length, ref.counts()[id]);
            }
            blocks.add(b.encode());
        }
        return blocks;
    }

    @Test
    void anUnfinishedWriterLeavesNothing() throws IOException {
        Path p = tmp.resolve("v.bin");
        try (FgramVocabularyFile.Writer w = FgramVocabularyFile.newWriter(p, 10, 3, 2, null)) {
            w.append(new int[] {1, 2}, 5);
            IllegalStateException e = assertThrows(IllegalStateException.class, w::complete);
            assertTrue(e.getMessage().contains("1 of the 2 f-grams"), e.getMessage());
        }
        try (FgramVocabularyFile.Writer w = FgramVocabularyFile.newWriter(p, 10, 3, 1, null)) {
            assertEquals("f-gram 0 has token id 10 outside the token vocabulary [0, 10)",
                    assertThrows(IllegalArgumentException.class, () -> w.append(new int[] {1, 10}, 5)).getMessage());
            assertEquals("f-gram 0 has length 4, outside [2, 3]",
                    assertThrows(IllegalArgumentException.class, () -> w.append(new int[] {1, 2, 3, 4}, 5))
                            .getMessage());
            w.append(new int[] {1, 2}, 5);
            assertThrows(IllegalStateException.class, () -> w.append(new int[] {2, 3}, 5));
        } // closed without complete()
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(0, files.count(), "neither the target nor a temporary file");
        }
    }

    @Test
    void truncatedFilesAreRejected() throws IOException {
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(randomVocabulary(1, 300), p, null, 4);
        byte[] full = Files.readAllBytes(p);
        for (int len : new int[] {0, 5, 8, 11, 20, 40, 127, 128, full.length / 2, full.length - 4, full.length - 1}) {
            Path cut = tmp.resolve("cut" + len + ".bin");
            Files.write(cut, java.util.Arrays.copyOf(full, len));
            for (FileReader reader : readers()) {
                SconeFormatException e = assertThrows(SconeFormatException.class, () -> reader.read(cut));
                assertTrue(e.getMessage().startsWith(cut + ": truncated"), e.getMessage());
                assertEquals(cut, e.path());
            }
        }
        Path longer = tmp.resolve("longer.bin");
        Files.write(longer, java.util.Arrays.copyOf(full, full.length + 3));
        assertMessageContains(longer, "trailing bytes: the header says " + full.length + " bytes, the file has "
                + (full.length + 3));
    }

    /** Reads a file one way or another, checking as much as that way checks. */
    interface FileReader {
        void read(Path p) throws IOException;
    }

    /** Every way to read: whole, mapped and verified, a range. */
    static List<FileReader> readers() {
        return List.of(FgramVocabularyFile::read, p -> {
            try (MappedFgramVocabulary m = FgramVocabularyFile.open(p)) {
                m.verify();
            }
        }, p -> FgramVocabularyFile.readRange(p, 0, 1));
    }

    @Test
    void everyCorruptedByteIsDetected() throws IOException {
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(randomVocabulary(2, 40), p, GOLDEN_COUNTED_ON, 3);
        byte[] full = Files.readAllBytes(p);
        Path bad = tmp.resolve("bad.bin");
        for (int i = 0; i < full.length; i++) {
            byte[] copy = full.clone();
            copy[i] ^= (byte) (1 << (i % 8));
            Files.write(bad, copy);
            assertThrows(SconeFormatException.class, () -> FgramVocabularyFile.read(bad), "flipped byte " + i);
            SconeFormatException e = assertThrows(SconeFormatException.class, () -> {
                try (MappedFgramVocabulary m = FgramVocabularyFile.open(bad)) {
                    m.verify();
                }
            }, "flipped byte " + i);
            assertTrue(e.getMessage().startsWith(bad + ": "), e.getMessage());
        }
        byte[] body = full.clone();
        body[40] ^= 1;
        Files.write(bad, body);
        assertMessageContains(bad, "header checksum mismatch");
        body = full.clone();
        body[FgramVocabularyFile.HEADER_BYTES_V3 + 9] ^= 1;
        Files.write(bad, body);
        assertMessageContains(bad, "checksum mismatch in block 0 (f-grams 0 to 7, at byte 128)");
        // Version 2 (one checksum over the whole file) detects every flipped byte too.
        byte[] v2 = Files.readAllBytes(resourceOrFail(GOLDEN_V2));
        for (int i = 0; i < v2.length; i++) {
            byte[] copy = v2.clone();
            copy[i] ^= (byte) (1 << (i % 8));
            Files.write(bad, copy);
            for (FileReader reader : readers()) {
                assertThrows(SconeFormatException.class, () -> reader.read(bad), "version 2, flipped byte " + i);
            }
        }
    }

    private static Path resourceOrFail(String name) {
        try {
            return resource(name);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void foreignAndUnknownVersionFilesAreRejected() throws IOException {
        Path text = Files.writeString(tmp.resolve("notes.txt"), "these are not f-grams at all, just some text");
        assertMessageContains(text, "not an f-gram vocabulary file: magic number 0x");
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(randomVocabulary(3, 10), p);
        byte[] bytes = Files.readAllBytes(p);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 4);
        Path v4 = tmp.resolve("v4.bin");
        Files.write(v4, bytes);
        assertMessageContains(v4, "unknown format version 4 (this build reads versions 1, 2 and 3)");
    }

    @Test
    void aFingerprintThatDisagreesIsRejected() throws IOException {
        // a file whose checksums are right but whose stored fingerprint is not the content's
        FgramVocabulary v = randomVocabulary(4, 10);
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(v, p);
        byte[] bytes = Files.readAllBytes(p);
        int fp = bytes.length - FgramVocabularyFile.TRAILER_BYTES;
        bytes[fp] ^= 0x55;
        int indexAt = fp - FgramVocabularyFile.INDEX_ENTRY_BYTES; // one block
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes, indexAt, bytes.length - 4 - indexAt);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length - 4, (int) crc.getValue());
        Files.write(p, bytes);
        assertMessageContains(p, "fingerprint mismatch: stored ");
        try (MappedFgramVocabulary m = FgramVocabularyFile.open(p)) {
            assertEquals(v.tokens(9)[0], m.vocabulary().token(9, 0), "reading records does not compute the fingerprint");
            SconeFormatException e = assertThrows(SconeFormatException.class, m::verify);
            assertTrue(e.getMessage().startsWith(p + ": fingerprint mismatch: stored "), e.getMessage());
        }
    }

    @Test
    void recordsThatBreakTheRulesAreRejectedEvenWithRightChecksums() throws IOException {
        // A file written by another writer that obeys the layout but not its rules: a token out of range.
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(FgramVocabulary.of(10, 3, List.of(new int[] {1, 2}), new long[] {4}), p);
        byte[] bytes = Files.readAllBytes(p);
        int token = FgramVocabularyFile.HEADER_BYTES_V3 + 12; // the block: count, end, then tokens
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(token, 10);
        int blockBytes = 24;
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes, FgramVocabularyFile.HEADER_BYTES_V3, blockBytes);
        int indexAt = FgramVocabularyFile.HEADER_BYTES_V3 + blockBytes;
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(indexAt + 4, (int) crc.getValue());
        crc.reset();
        crc.update(bytes, indexAt, bytes.length - 4 - indexAt);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length - 4, (int) crc.getValue());
        Files.write(p, bytes);
        for (FileReader reader : readers()) {
            SconeFormatException e = assertThrows(SconeFormatException.class, () -> reader.read(p));
            assertTrue(e.getMessage().contains("f-gram 0 has token id 10 outside the token vocabulary [0, 10)"),
                    e.getMessage());
        }
    }

    private static void assertMessageContains(Path p, String part) {
        SconeFormatException e = assertThrows(SconeFormatException.class, () -> FgramVocabularyFile.read(p));
        assertTrue(e.getMessage().startsWith(p + ": ") && e.getMessage().contains(part), e.getMessage());
    }
}

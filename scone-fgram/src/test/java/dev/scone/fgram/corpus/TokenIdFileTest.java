package dev.scone.fgram.corpus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenIdFileTest {

    @TempDir
    Path dir;

    static int[][] randomDocuments(long seed, int documents, int maxLength, int vocabularySize) {
        Random r = new Random(seed);
        int[][] docs = new int[documents][];
        for (int d = 0; d < documents; d++) {
            docs[d] = new int[r.nextInt(maxLength + 1)];
            for (int i = 0; i < docs[d].length; i++) {
                docs[d][i] = r.nextInt(vocabularySize);
            }
        }
        return docs;
    }

    private Path writeRandom(int[][] docs, int v) throws IOException {
        Path p = dir.resolve("c.tok");
        TokenIdFile.write(p, new InMemoryTokenCorpus(docs, v));
        return p;
    }

    @Test
    void theOriginIsRecordedCarriedBySubsetsAndCompactionsAndAbsentFromVersionOne() throws IOException {
        TokenIdFile.Origin origin = new TokenIdFile.Origin("0123456789abcdef", null);
        Path p = dir.resolve("o.tok");
        try (TokenIdFile.Writer w = TokenIdFile.newWriter(p, 10, origin)) {
            w.append(new int[] {1, 2, 3});
            w.append(new int[] {4, 9});
            w.complete();
        }
        TokenCompaction c = TokenCompaction.of(10, new int[] {4, 1}, new long[] {5, 3}, 2);
        try (TokenIdFile f = TokenIdFile.open(p)) {
            assertEquals(origin, f.origin());
            TokenIdFile.writeSubset(dir.resolve("sub.tok"), f, new int[] {1});
            c.compactTo(f, dir.resolve("compact.tok"));
        }
        try (TokenIdFile sub = TokenIdFile.open(dir.resolve("sub.tok"));
                TokenIdFile compact = TokenIdFile.open(dir.resolve("compact.tok"))) {
            assertEquals(origin, sub.origin(), "a subset keeps its source's origin");
            assertEquals(new TokenIdFile.Origin(origin.tokenizer(), TokenIdFile.fingerprint(c.toBytes(), 12)),
                    compact.origin(), "a compaction records itself");
        }
        // A version-1 file (its header rewritten as version 1, flags 0, no origin) still opens, with none.
        byte[] bytes = Files.readAllBytes(dir.resolve("sub.tok"));
        ByteBuffer h = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(8, 1).putInt(20, 0);
        for (int i = 40; i < 60; i++) {
            bytes[i] = 0;
        }
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(bytes, 0, 60);
        h.putInt(60, (int) crc.getValue());
        Path v1 = dir.resolve("v1.tok");
        Files.write(v1, bytes);
        try (TokenIdFile f = TokenIdFile.open(v1)) {
            assertEquals(null, f.origin());
            assertArrayEquals(new int[] {4, 9}, f.document(0));
        }
    }

    @Test
    void roundTripsDocumentsIncludingEmptyOnes() throws IOException {
        int[][] docs = randomDocuments(42, 50, 300, 1000);
        docs[0] = new int[0];
        docs[17] = new int[0];
        Path p = writeRandom(docs, 1000);
        try (TokenIdFile f = TokenIdFile.open(p)) {
            assertEquals(50, f.documentCount());
            assertEquals(1000, f.vocabularySize());
            long total = 0;
            for (int d = 0; d < docs.length; d++) {
                assertArrayEquals(docs[d], f.document(d), "document " + d);
                assertEquals(docs[d].length, f.documentLength(d));
                assertEquals(total, f.documentStart(d));
                total += docs[d].length;
            }
            assertEquals(total, f.tokenCount());
            assertEquals(TokenIdFile.HEADER_BYTES + 4 * total + 8 * 51, Files.size(p));
        }
    }

    @Test
    void documentsSpanningSeveralMappingsReadTheSame() throws IOException {
        int[][] docs = randomDocuments(7, 40, 50, 300);
        Path p = writeRandom(docs, 300);
        try (TokenIdFile f = TokenIdFile.open(p, 64)) {
            for (int d = 0; d < docs.length; d++) {
                assertArrayEquals(docs[d], f.document(d), "document " + d);
            }
        }
    }

    @Test
    void tokensAreAReadOnlyViewOfOneDocument() throws IOException {
        Path p = writeRandom(new int[][] {{1, 2, 3}, {4, 5}}, 10);
        try (TokenIdFile f = TokenIdFile.open(p)) {
            IntBuffer b = f.tokens(1);
            assertEquals(0, b.position());
            assertEquals(2, b.limit());
            assertEquals(4, b.get(0));
            assertEquals(5, b.get(1));
            assertTrue(b.isReadOnly());
            assertThrows(ReadOnlyBufferException.class, () -> b.put(0, 9));
            assertThrows(IndexOutOfBoundsException.class, () -> f.tokens(2));
        }
    }

    @Test
    void closedFileRefusesUse() throws IOException {
        Path p = writeRandom(new int[][] {{1}}, 10);
        TokenIdFile f = TokenIdFile.open(p);
        f.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.tokens(0));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void writesASubsetWithoutRetokenizing() throws IOException {
        int[][] docs = randomDocuments(3, 10, 20, 50);
        InMemoryTokenCorpus c = new InMemoryTokenCorpus(docs, 50);
        Path held = dir.resolve("held.tok");
        TokenIdFile.writeSubset(held, c, new int[] {8, 9, 2});
        try (TokenIdFile f = TokenIdFile.open(held)) {
            assertEquals(3, f.documentCount());
            assertEquals(50, f.vocabularySize());
            assertArrayEquals(docs[8], f.document(0));
            assertArrayEquals(docs[9], f.document(1));
            assertArrayEquals(docs[2], f.document(2));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TokenIdFile.writeSubset(dir.resolve("x.tok"), c, new int[] {1, 10}));
        assertTrue(e.getMessage().contains("document index 10"), e.getMessage());
    }

    @Test
    void outOfRangeIdIsRejectedNamingDocumentAndPosition() throws IOException {
        Path p = dir.resolve("bad.tok");
        try (TokenIdFile.Writer w = TokenIdFile.newWriter(p, 100)) {
            w.append(new int[] {1, 2, 3});
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> w.append(new int[] {5, 6, 100, 7}));
            assertEquals("document 1, position 2: token id 100 is outside the vocabulary [0, 100)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> w.append(new int[] {-1}));
            assertTrue(e.getMessage().contains("position 0: token id -1"), e.getMessage());
            // the rejected documents were not written
            w.append(new int[] {9});
            w.complete();
        }
        try (TokenIdFile f = TokenIdFile.open(p)) {
            assertEquals(2, f.documentCount());
            assertArrayEquals(new int[] {9}, f.document(1));
        }
    }

    @Test
    void writerClosedWithoutCompletingLeavesNoFile() throws IOException {
        Path p = dir.resolve("never.tok");
        try (TokenIdFile.Writer w = TokenIdFile.newWriter(p, 10)) {
            w.append(new int[] {1, 2});
        }
        assertFalse(Files.exists(p));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(0, s.count(), "a temporary file was left behind");
        }
    }

    @Test
    void completedFileReplacesAnOldOneAtomically() throws IOException {
        Path p = writeRandom(new int[][] {{1}}, 10);
        try (TokenIdFile.Writer w = TokenIdFile.newWriter(p, 10)) {
            w.append(new int[] {2, 3});
            w.append(new int[] {4});
            w.complete();
            assertThrows(IllegalStateException.class, () -> w.append(new int[] {1}));
        }
        try (TokenIdFile f = TokenIdFile.open(p); Stream<Path> s = Files.list(dir)) {
            assertEquals(2, f.documentCount());
            assertEquals(1, s.count());
        }
    }

    @Test
    void emptyCorpusIsRefused() throws IOException {
        Path p = dir.resolve("empty.tok");
        try (TokenIdFile.Writer w = TokenIdFile.newWriter(p, 10)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, w::complete);
            assertTrue(e.getMessage().contains("no documents"), e.getMessage());
        }
        assertFalse(Files.exists(p));
        assertThrows(IllegalStateException.class,
                () -> TokenIdFile.write(p, new InMemoryTokenCorpus(new int[0][], 10)));
        assertThrows(IllegalArgumentException.class, () -> TokenIdFile.newWriter(p, 0));
    }

    @Test
    void aCorpusOfEmptyDocumentsIsValid() throws IOException {
        Path p = writeRandom(new int[][] {{}, {}}, 5);
        try (TokenIdFile f = TokenIdFile.open(p)) {
            assertEquals(2, f.documentCount());
            assertEquals(0, f.tokenCount());
            assertEquals(0, f.tokens(1).remaining());
        }
    }

    private Path validFile() throws IOException {
        return writeRandom(randomDocuments(11, 5, 40, 200), 200);
    }

    private static SconeFormatException refused(Path p) {
        return assertThrows(SconeFormatException.class, () -> TokenIdFile.open(p).close());
    }

    @Test
    void truncatedFileIsRefused() throws IOException {
        Path p = validFile();
        byte[] bytes = Files.readAllBytes(p);
        for (int keep : new int[] {0, 5, 10, 40, 63, 64, 100, bytes.length - 1}) {
            Files.write(p, java.util.Arrays.copyOf(bytes, keep));
            SconeFormatException e = refused(p);
            assertTrue(e.getMessage().contains("truncated"), keep + ": " + e.getMessage());
            assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        }
    }

    @Test
    void trailingBytesAreRefused() throws IOException {
        Path p = validFile();
        Files.write(p, new byte[] {0}, java.nio.file.StandardOpenOption.APPEND);
        assertTrue(refused(p).getMessage().contains("trailing"));
    }

    @Test
    void everyFlippedByteIsDetected() throws IOException {
        Path p = validFile();
        byte[] good = Files.readAllBytes(p);
        for (int i = 0; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 0x10;
            Files.write(p, bad);
            SconeFormatException e = refused(p);
            assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        }
    }

    @Test
    void flippedTokenByteNamesTheTokenSection() throws IOException {
        Path p = validFile();
        byte[] bad = Files.readAllBytes(p);
        bad[TokenIdFile.HEADER_BYTES + 5] ^= 1;
        Files.write(p, bad);
        assertTrue(refused(p).getMessage().contains("token section checksum"));
    }

    @Test
    void wrongMagicIsRefused() throws IOException {
        Path p = validFile();
        byte[] bad = Files.readAllBytes(p);
        bad[0] = 'X';
        Files.write(p, bad);
        assertTrue(refused(p).getMessage().contains("not a token-id file"));
    }

    @Test
    void unknownVersionIsRefused() throws IOException {
        Path p = validFile();
        byte[] bad = Files.readAllBytes(p);
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 3);
        Files.write(p, bad);
        assertTrue(refused(p).getMessage().contains("unsupported format version 3"));
    }

    @Test
    void inconsistentOffsetsWithValidChecksumsAreRefused() throws IOException {
        // A forged file: header and checksums consistent, but document offsets do not end at N.
        Path p = dir.resolve("forged.tok");
        ByteBuffer body = ByteBuffer.allocate(2 * 4 + 2 * 8).order(ByteOrder.LITTLE_ENDIAN);
        body.putInt(1).putInt(2).putLong(0).putLong(1);
        java.util.zip.CRC32C t = new java.util.zip.CRC32C();
        t.update(body.array(), 0, 8);
        java.util.zip.CRC32C o = new java.util.zip.CRC32C();
        o.update(body.array(), 8, 16);
        ByteBuffer h = TokenIdFile.header(10, 1, 2, (int) t.getValue(), (int) o.getValue());
        byte[] file = new byte[64 + body.capacity()];
        h.get(file, 0, 64);
        System.arraycopy(body.array(), 0, file, 64, body.capacity());
        Files.write(p, file);
        assertTrue(refused(p).getMessage().contains("document offsets run from 0 to 1, expected 0 to 2"));
    }
}

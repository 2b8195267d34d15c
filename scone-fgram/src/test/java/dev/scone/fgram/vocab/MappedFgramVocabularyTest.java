package dev.scone.fgram.vocab;

import static dev.scone.fgram.vocab.FgramVocabularyFileTest.reference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.testing.ChildJvm;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MappedFgramVocabularyTest {

    @TempDir
    Path tmp;

    @Test
    void aMappedFileReadsWhatWasWrittenByIdAndByRange() throws IOException {
        SplittableRandom r = new SplittableRandom(5);
        for (int trial = 0; trial < 8; trial++) {
            FgramVocabularyFileTest.Reference ref = reference(100 + trial, trial == 0 ? 0 : 1 + r.nextInt(3000));
            FgramVocabulary v = ref.vocabulary();
            int bits = new int[] {0, 2, 4, 7}[trial % 4];
            Path p = tmp.resolve("v" + trial + ".bin");
            FgramVocabularyFile.write(v, p, null, bits);
            for (long segment : new long[] {1, 700, RecordStore.SEGMENT_BYTES}) {
                try (MappedFgramVocabulary m = FgramVocabularyFile.open(p, segment)) {
                    FgramVocabulary mapped = m.vocabulary();
                    assertTrue(mapped.isMapped() && m.isMapped());
                    assertEquals(FgramVocabularyFile.VERSION, m.formatVersion());
                    assertEquals(v.fingerprint(), mapped.fingerprint());
                    ref.assertHeldBy(mapped, 0, v.size(), "trial " + trial + " segment " + segment);
                    for (int k = 0; k < 20 && v.size() > 0; k++) { // random order, and the exact index
                        int id = r.nextInt(v.size());
                        assertEquals(id, mapped.find(ref.fgrams().get(id)));
                    }
                    assertEquals(-1, mapped.find(new int[] {0, 0, 0, 0, 0, 0, 0, 0}));
                    assertEquals(v, mapped);
                    m.verify();
                    int from = v.size() == 0 ? 0 : r.nextInt(v.size());
                    int to = from + r.nextInt(v.size() - from + 1);
                    m.verify(from, to);
                    ref.assertHeldBy(mapped, from, to, "range");
                }
            }
        }
    }

    @Test
    void readRangeReadsOnlyItsBlocks() throws IOException {
        FgramVocabularyFileTest.Reference ref = reference(7, 2000);
        FgramVocabulary v = ref.vocabulary();
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(v, p, null, 4); // 16 f-grams per block
        // Damage block 10 (f-grams 160..175): a range that stays off it reads; one that touches it is refused.
        byte[] bytes = Files.readAllBytes(p);
        FgramVocabularyFile.Layout layout;
        try (FileChannel ch = FileChannel.open(p)) {
            layout = FgramVocabularyFile.Layout.read(ch, p, FgramVocabularyFile.Header.read(ch, p));
        }
        bytes[(int) layout.blockOffsets()[10] + 3] ^= 4;
        Path bad = tmp.resolve("bad.bin");
        Files.write(bad, bytes);
        SplittableRandom r = new SplittableRandom(8);
        for (int trial = 0; trial < 30; trial++) {
            int from = r.nextInt(v.size() + 1);
            int to = from + r.nextInt(v.size() - from + 1);
            for (Path file : List.of(p, bad)) {
                boolean touches = from < to && from < 176 && to > 160;
                if (file.equals(bad) && touches) {
                    SconeFormatException e = assertThrows(SconeFormatException.class,
                            () -> FgramVocabularyFile.readRange(bad, from, to));
                    assertTrue(e.getMessage().startsWith(bad + ": checksum mismatch in block 10 (f-grams 160 to 175"),
                            e.getMessage());
                    continue;
                }
                FgramVocabulary range = trial % 2 == 0 ? FgramVocabularyFile.readRange(file, from, to)
                        : readRangeThroughAChannel(file, from, to);
                assertEquals(from, range.heldFrom());
                assertEquals(to, range.heldTo());
                assertEquals(from == 0 && to == v.size(), range.isWhole());
                assertEquals(v.fingerprint(), range.fingerprint(), "the whole vocabulary's, as the file records it");
                ref.assertHeldBy(range, from, to, "range [" + from + ", " + to + ")");
                if (from > 0) {
                    IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                            () -> range.length(from - 1));
                    assertTrue(e.getMessage().contains("outside the ids [" + from + ", " + to + ")"), e.getMessage());
                    assertThrows(IndexOutOfBoundsException.class, () -> range.cursor(from - 1, to));
                }
                if (!range.isWhole()) {
                    assertThrows(IllegalStateException.class, () -> range.find(ref.fgrams().get(0)));
                }
            }
        }
        assertThrows(IndexOutOfBoundsException.class, () -> FgramVocabularyFile.readRange(p, 5, 2001));
        assertThrows(IndexOutOfBoundsException.class, () -> FgramVocabularyFile.readRange(p, -1, 3));
    }

    /** Reads through a channel that is no FileChannel, as a distributed file system's would be. */
    private static FgramVocabulary readRangeThroughAChannel(Path file, int from, int to) throws IOException {
        try (SeekableByteChannel inner = Files.newByteChannel(file)) {
            SeekableByteChannel plain = new SeekableByteChannel() {
                @Override
                public int read(ByteBuffer dst) throws IOException {
                    int room = Math.min(dst.remaining(), 1000); // short reads, as a stream may give
                    ByteBuffer part = dst.duplicate().limit(dst.position() + room);
                    int n = inner.read(part);
                    if (n > 0) {
                        dst.position(dst.position() + n);
                    }
                    return n;
                }

                @Override
                public int write(ByteBuffer src) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public long position() throws IOException {
                    return inner.position();
                }

                @Override
                public SeekableByteChannel position(long p) throws IOException {
                    inner.position(p);
                    return this;
                }

                @Override
                public long size() throws IOException {
                    return inner.size();
                }

                @Override
                public SeekableByteChannel truncate(long size) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public boolean isOpen() {
                    return inner.isOpen();
                }

                @Override
                public void close() {}
            };
            return FgramVocabularyFile.readRange(plain, file, from, to);
        }
    }

    @Test
    void aDamagedBlockIsRefusedWhenFirstReadAndTheOthersStillRead() throws IOException {
        FgramVocabularyFileTest.Reference ref = reference(9, 500);
        FgramVocabulary v = ref.vocabulary();
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(v, p, null, 3); // 8 f-grams per block
        byte[] bytes = Files.readAllBytes(p);
        FgramVocabularyFile.Layout layout;
        try (FileChannel ch = FileChannel.open(p)) {
            layout = FgramVocabularyFile.Layout.read(ch, p, FgramVocabularyFile.Header.read(ch, p));
        }
        bytes[(int) layout.blockOffsets()[5] + 50] ^= 1; // f-grams 40..47
        Files.write(p, bytes);
        try (MappedFgramVocabulary m = FgramVocabularyFile.open(p)) {
            FgramVocabulary mapped = m.vocabulary();
            ref.assertHeldBy(mapped, 0, 40, "before the damage");
            ref.assertHeldBy(mapped, 48, 500, "after it");
            for (int id = 40; id < 48; id++) {
                int i = id;
                FgramVocabularyCorruptedException e = assertThrows(FgramVocabularyCorruptedException.class,
                        () -> mapped.count(i));
                assertEquals(p + ": checksum mismatch in block 5 (f-grams 40 to 47, at byte "
                        + layout.blockOffsets()[5] + ") (damaged records)", e.getMessage());
                assertEquals(p, e.getCause().path());
            }
            FgramVocabulary.Cursor c = mapped.cursor(39, 41);
            assertTrue(c.next());
            assertThrows(FgramVocabularyCorruptedException.class, c::next);
            assertThrows(SconeFormatException.class, () -> m.verify(41, 42));
            m.verify(0, 40);
            assertThrows(SconeFormatException.class, m::verify);
        }
    }

    @Test
    void aClosedFileRefusesReads() throws IOException {
        Path p = tmp.resolve("v.bin");
        FgramVocabularyFile.write(reference(11, 100).vocabulary(), p);
        MappedFgramVocabulary m = FgramVocabularyFile.open(p);
        FgramVocabulary mapped = m.vocabulary();
        assertTrue(mapped.length(0) >= 2);
        m.close();
        m.close();
        String message = "the vocabulary file " + p + " is closed";
        assertEquals(message, assertThrows(IllegalStateException.class, () -> mapped.length(0)).getMessage());
        assertEquals(message, assertThrows(IllegalStateException.class, () -> mapped.count(99)).getMessage());
        assertEquals(message, assertThrows(IllegalStateException.class, m::vocabulary).getMessage());
        assertEquals(message, assertThrows(IllegalStateException.class, m::verify).getMessage());
    }

    @Test
    void oldVersionsOpenOnTheHeap() throws Exception {
        Path v2 = FgramVocabularyFileTest.resource(FgramVocabularyFileTest.GOLDEN_V2);
        try (MappedFgramVocabulary m = FgramVocabularyFile.open(v2)) {
            assertFalse(m.isMapped());
            assertEquals(2, m.formatVersion());
            assertEquals(FgramVocabularyFileTest.goldenVocabulary(), m.vocabulary());
            m.verify();
            m.verify(1, 3);
        }
    }

    /**
     * A file cut while it is mapped (another process truncates it) must give an exception naming
     * the file, never a JVM killed by SIGBUS: a child JVM opens, reads a little, cuts the file and
     * reads every record by id, by cursor and by {@code verify}. What is read through the file (a
     * block's first check, a cursor's blocks, verify) is refused by name; a read by id of a block
     * checked before the cut reads the mapping in place, where the JDK raises an InternalError that
     * the read names when it surfaces inside it (it may surface a little later): the JVM lives on.
     */
    @Test
    void aFileCutUnderItsMappingIsAnExceptionNamingTheFile() throws Exception {
        Path p = tmp.resolve("cut.bin");
        int size = 40_000;
        FgramVocabularyFile.write(reference(13, size).vocabulary(), p, null, 6);
        for (String mode : List.of("ids", "cursor", "verify", "checked-ids", "checked-cursor")) {
            Path copy = tmp.resolve(mode + ".bin");
            Files.copy(p, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            ChildJvm.Result r = ChildJvm.run(CutFileChild.class, Map.of(), List.of(), 120, copy.toString(), mode);
            assertEquals(0, r.exitCode(), mode + ": the JVM died: " + r.output());
            assertFalse(r.output().contains("ALL READ"), r.output());
            if (mode.equals("checked-ids")) {
                // Read in place: the JDK's InternalError, turned into our exception where it surfaces in a read.
                assertTrue(r.output().contains("REFUSED: " + copy + ": a mapped page could not be read (the file was cut")
                        || r.output().contains("SURFACED LATER: java.lang.InternalError"), mode + ": " + r.output());
            } else {
                // Read through the file (a first check, a cursor, verify): the block cut off is refused by name.
                assertTrue(r.output().contains("REFUSED: " + copy + ": the file was cut while open ("), mode + ": "
                        + r.output());
                assertTrue(r.output().contains(") is gone"), mode + ": " + r.output());
            }
        }
    }

    /** Child-JVM main for {@link #aFileCutUnderItsMappingIsAnExceptionNamingTheFile}. */
    public static final class CutFileChild {

        private CutFileChild() {}

        /**
         * @param args the vocabulary file; how to read it after the cut ({@code ids}, {@code cursor},
         *     {@code verify}, or {@code checked-ids} and {@code checked-cursor}, which check every
         *     block before the cut)
         * @throws Exception on failure
         */
        public static void main(String[] args) throws Exception {
            Path p = Path.of(args[0]);
            try (MappedFgramVocabulary m = FgramVocabularyFile.open(p)) {
                FgramVocabulary v = m.vocabulary();
                if (args[1].startsWith("checked-")) {
                    m.verify(); // every block checked: later reads go to the mapping in place
                } else {
                    m.verify(0, 64); // the first block is checked before the cut, the rest after
                }
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                    ch.truncate(Math.max(8192, (ch.size() / 3) & ~4095L)); // whole pages gone: reading them faults
                }
                long sum = 0;
                int[] g = new int[v.maxN()];
                switch (args[1].replace("checked-", "")) {
                    case "ids" -> {
                        for (int id = 0; id < v.size(); id++) {
                            sum += v.length(id) + v.count(id) + v.copyTokens(id, g, 0);
                        }
                    }
                    case "cursor" -> {
                        FgramVocabulary.Cursor c = v.cursor();
                        while (c.next()) {
                            sum += c.count();
                        }
                    }
                    default -> m.verify();
                }
                System.out.println("ALL READ " + sum);
            } catch (FgramVocabularyCorruptedException | SconeFormatException e) {
                System.out.println("REFUSED: " + e.getMessage());
            } catch (InternalError e) {
                System.out.println("SURFACED LATER: " + e);
            }
        }
    }
}

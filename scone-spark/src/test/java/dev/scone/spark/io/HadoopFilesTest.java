package dev.scone.spark.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HadoopFilesTest {

    @TempDir
    Path tmp;

    private static FgramVocabulary vocabulary(int size) {
        SplittableRandom r = new SplittableRandom(5);
        FgramVocabulary.Builder b = FgramVocabulary.builder(1000, 4);
        java.util.Set<List<Integer>> seen = new java.util.HashSet<>();
        while (b.size() < size) {
            int[] g = r.ints(2 + r.nextInt(3), 0, 1000).toArray();
            if (seen.add(java.util.Arrays.stream(g).boxed().toList())) {
                b.add(g, size - b.size());
            }
        }
        return b.build();
    }

    /** A range read through positioned reads (as on a distributed file system) is the range the file gives. */
    @Test
    void aRangeReadThroughPositionedReadsIsTheFilesRange() throws IOException {
        FgramVocabulary v = vocabulary(3 * FgramVocabularyFile.BLOCK_FGRAMS + 100);
        Path file = tmp.resolve("v.fgv");
        FgramVocabularyFile.write(v, file);
        FileSystem fs = FileSystem.getLocal(new Configuration());
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file.toUri());
        int[][] ranges = {{0, 0}, {5, 17}, {FgramVocabularyFile.BLOCK_FGRAMS - 3, 2 * FgramVocabularyFile.BLOCK_FGRAMS + 9},
            {0, v.size()}};
        for (int[] r : ranges) {
            FgramVocabulary expected = FgramVocabularyFile.readRange(file, r[0], r[1]);
            FgramVocabulary read;
            try (FSDataInputStream in = fs.open(p);
                    SeekableByteChannel ch = new HadoopFiles.PositionedChannel(in, Files.size(file))) {
                read = FgramVocabularyFile.readRange(ch, file, r[0], r[1]);
            }
            assertEquals(v.size(), read.size());
            assertEquals(v.fingerprint(), read.fingerprint());
            assertEquals(expected.heldFrom(), read.heldFrom());
            assertEquals(expected.heldTo(), read.heldTo());
            for (int id = r[0]; id < r[1]; id++) {
                assertArrayEquals(v.tokens(id), read.tokens(id));
                assertEquals(v.count(id), read.count(id));
            }
        }
        // a damaged block of the range is refused by name
        byte[] bytes = Files.readAllBytes(file);
        bytes[200] ^= 1;
        Files.write(file, bytes);
        try (FSDataInputStream in = fs.open(p);
                SeekableByteChannel ch = new HadoopFiles.PositionedChannel(in, Files.size(file))) {
            SconeFormatException e = assertThrows(SconeFormatException.class,
                    () -> FgramVocabularyFile.readRange(ch, file, 0, 10));
            assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        }
    }

    @Test
    void writeAtomicallyLeavesTheTargetOrNothing() throws IOException {
        Path target = tmp.resolve("out.bin");
        Configuration conf = new Configuration();
        HadoopFiles.writeAtomically(target.toString(), conf, out -> out.write("one".getBytes(StandardCharsets.UTF_8)));
        assertEquals("one", Files.readString(target));
        assertThrows(IOException.class, () -> HadoopFiles.writeAtomically(target.toString(), conf, out -> {
            out.write("tw".getBytes(StandardCharsets.UTF_8));
            throw new IOException("failed half way");
        }));
        assertEquals("one", Files.readString(target), "the previous file stays");
        List<Path> left = new ArrayList<>();
        try (Stream<Path> s = Files.list(tmp)) {
            s.forEach(left::add);
        }
        assertEquals(List.of(target), left, "no temporary file is left");
    }
}

package dev.scone.fgram.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartialFileTest {

    @TempDir
    Path dir;

    private List<Path> entries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void publishedFileHasWhatWasWrittenAtItsPositions() throws IOException {
        Path target = dir.resolve("out.bin");
        try (PartialFile f = PartialFile.create(target)) {
            assertEquals(1, entries().size(), "the temporary");
            assertFalse(Files.exists(target), "nothing at the target before publishing");
            f.write(ByteBuffer.wrap("world".getBytes(StandardCharsets.US_ASCII)), 6);
            f.write(ByteBuffer.wrap("hello ".getBytes(StandardCharsets.US_ASCII)), 0);
            f.publish();
            assertThrows(IllegalStateException.class, () -> f.write(ByteBuffer.allocate(1), 0));
            assertThrows(IllegalStateException.class, f::publish);
        }
        assertArrayEquals("hello world".getBytes(StandardCharsets.US_ASCII), Files.readAllBytes(target));
        assertEquals(List.of(target), entries(), "no temporary left");
    }

    @Test
    void closingBeforePublishingLeavesNothingAndKeepsAPreviousFile() throws IOException {
        Path target = dir.resolve("sub").resolve("out.bin");
        try (PartialFile f = PartialFile.create(target)) {
            f.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 0);
        }
        assertFalse(Files.exists(target));
        try (Stream<Path> s = Files.list(target.getParent())) {
            assertEquals(0, s.count(), "the temporary is removed");
        }
        Files.write(target, new byte[] {9});
        try (PartialFile f = PartialFile.create(target)) {
            f.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 0);
        }
        assertArrayEquals(new byte[] {9}, Files.readAllBytes(target), "the previous file stays");
    }
}

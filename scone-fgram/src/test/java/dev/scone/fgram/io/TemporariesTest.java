package dev.scone.fgram.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hidden temporaries, named after their writer: a killed writer's are removed, a running one's kept. */
class TemporariesTest {

    /** The id of a process that has exited (and is not this one). */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        long pid = p.pid();
        assertTrue(ProcessHandle.of(pid).isEmpty());
        return pid;
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void temporariesAreHiddenBesideTheirTargetAndNamedAfterTheirWriter(@TempDir Path dir) throws Exception {
        Path f = Temporaries.createFile(dir.resolve("train.tok"), ".partial");
        assertEquals(dir, f.getParent());
        assertTrue(f.getFileName().toString().matches("\\.train\\.tok\\.p" + ProcessHandle.current().pid()
                + "\\.[0-9a-z]+\\.partial"), f.toString());
        Path d = Temporaries.createFolder(dir.resolve("store"));
        assertTrue(d.getFileName().toString().startsWith(".store.p" + ProcessHandle.current().pid() + "."));
        assertTrue(Files.isDirectory(d));
    }

    @Test
    void theLeftoversOfADeadWriterGoAndThoseOfALiveOneStay(@TempDir Path dir) throws Exception {
        long dead = deadPid();
        long live = ProcessHandle.current().pid();
        Path target = dir.resolve("all.tok");
        Files.createFile(dir.resolve(".all.tok.p" + dead + ".abc.partial"));
        Files.createFile(dir.resolve(".all.tok.p" + live + ".def.partial"));
        Path oldLegacy = Files.createFile(dir.resolve(".all.tok.123456789.partial"));
        Files.setLastModifiedTime(oldLegacy, FileTime.from(Instant.now().minus(Temporaries.LEGACY_AGE).minusSeconds(60)));
        Files.createFile(dir.resolve(".all.tok.987654321.partial")); // young: may belong to an older scone still running
        Files.createFile(dir.resolve(".other.tok.p" + dead + ".abc.partial")); // another target's
        List<Path> removed = Temporaries.removeStale(target, "", ".partial");
        assertEquals(2, removed.size(), removed.toString());
        assertEquals(List.of(".all.tok.987654321.partial", ".all.tok.p" + live + ".def.partial",
                ".other.tok.p" + dead + ".abc.partial"), names(dir));
    }

    @Test
    void aFolderIsPublishedAsOneSetAndOnlyOverWhatItMayReplace(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("tokens");
        Files.createDirectories(target);
        Files.writeString(target.resolve("a"), "old");
        Files.writeString(target.resolve("b"), "old");
        Path filled = Temporaries.createFolder(target);
        Files.writeString(filled.resolve("a"), "new");
        Temporaries.publishFolder(filled, target, t -> true, "a test output");
        assertEquals(List.of("a"), names(target), "the old set is gone whole, the new one is there whole");
        assertEquals("new", Files.readString(target.resolve("a")));
        assertEquals(List.of("tokens"), names(dir), "no temporary folder is left");

        Path other = Temporaries.createFolder(target);
        IOException e = assertThrows(IOException.class,
                () -> Temporaries.publishFolder(other, target, t -> false, "a test output"));
        assertTrue(e.getMessage().contains("is not a test output"), e.getMessage());
        assertEquals("new", Files.readString(target.resolve("a")));

        // a kill between the two renames leaves an old folder that the next run removes
        Files.delete(other);
        Path swapped = dir.resolve(".tokens.old.p" + deadPid() + ".x");
        Files.createDirectories(swapped);
        Files.writeString(swapped.resolve("a"), "older");
        Path next = Temporaries.createFolder(target);
        assertFalse(Files.exists(swapped));
        Files.delete(next);
    }

    @Test
    void aStepsScratchFilesOfEarlierVersionsGoWhenOld(@TempDir Path dir) throws Exception {
        Path legacy = Files.createFile(dir.resolve("scone-count-4242.run"));
        Files.setLastModifiedTime(legacy, FileTime.from(Instant.now().minus(Temporaries.LEGACY_AGE).minusSeconds(5)));
        Path young = Files.createFile(dir.resolve("scone-count-4343.run"));
        Path hidden = Files.createFile(dir.resolve(".scone-count.p" + deadPid() + ".q.run"));
        Path unrelated = Files.createFile(dir.resolve("notes.run"));
        List<Path> removed = Temporaries.removeStaleScratch(dir, "scone-count", ".run");
        assertEquals(2, removed.size(), removed.toString());
        assertFalse(Files.exists(legacy));
        assertFalse(Files.exists(hidden));
        assertTrue(Files.exists(young) && Files.exists(unrelated));
    }
}

package dev.scone.fgram.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Writes files so that a reader never sees a half-written one: the content goes to a temporary
 * file beside the target ({@link Temporaries}: hidden, and removed by a later write of the same
 * target if its writer was killed), is forced to disk, and is renamed over the target only when complete.
 * A failure (or a crash) leaves the previous target, or none, and no temporary file that looks
 * like a finished one.
 */
public final class AtomicFiles {

    /** Writes the content of a file given its (temporary) path. */
    @FunctionalInterface
    public interface Writer {
        /**
         * Writes the complete content to {@code tmp}, which exists and is empty.
         *
         * @param tmp the temporary file to fill
         * @throws IOException on failure; the temporary file is then deleted
         */
        void write(Path tmp) throws IOException;
    }

    /** The suffix of a file being written ({@link Temporaries}: hidden, named after its target and writer). */
    public static final String PARTIAL = ".partial";

    private AtomicFiles() {}

    /**
     * Forces a folder's entries (a rename into it) to disk where the platform allows it.
     *
     * @param dir the folder
     */
    public static void forceFolder(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            // not supported for folders here: the rename is still atomic
        }
    }

    /**
     * Writes {@code target} atomically.
     *
     * @param target the final path
     * @param writer fills the temporary file
     * @throws IOException when writing or renaming fails; {@code target} is then unchanged
     */
    public static void write(Path target, Writer writer) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = Temporaries.createFile(abs, PARTIAL);
        boolean done = false;
        try {
            writer.write(tmp);
            publish(tmp, abs);
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /**
     * Publishes a complete temporary file (made by {@link Temporaries} beside its target): gives it
     * an ordinary file's permissions, forces it to disk and renames it over the target, atomically
     * where the file system can.
     *
     * @param tmp the complete temporary file, closed
     * @param target the final path
     * @throws IOException when forcing or renaming fails; {@code target} is then unchanged and the
     *     caller removes {@code tmp}
     */
    public static void publish(Path tmp, Path target) throws IOException {
        // a finished scone file is an ordinary one, whatever the temporary's permissions
        if (Files.getFileStore(tmp).supportsFileAttributeView(PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        }
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}

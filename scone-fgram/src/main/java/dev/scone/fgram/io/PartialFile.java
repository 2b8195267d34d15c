package dev.scone.fgram.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file written at positions of the writer's choosing (a header last, say) that appears at its
 * target only when {@link #publish()} succeeds: until then the bytes go to a hidden temporary
 * beside the target ({@link Temporaries}), and {@link #close()} before publishing removes it. The
 * file writers that stream their content (token-id files, vocabulary files) keep one each.
 */
public final class PartialFile implements AutoCloseable {

    private final Path target;
    private final Path tmp;
    private final FileChannel channel;
    private boolean done; // published or abandoned

    private PartialFile(Path target, Path tmp, FileChannel channel) {
        this.target = target;
        this.tmp = tmp;
        this.channel = channel;
    }

    /**
     * Creates the temporary file of {@code target} (and the target's folder).
     *
     * @param target the path the file will have once published
     * @return the open file
     * @throws IOException when the folder or the temporary cannot be created
     */
    public static PartialFile create(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = Temporaries.createFile(abs, AtomicFiles.PARTIAL);
        FileChannel ch = null;
        try {
            ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
        } finally {
            if (ch == null) {
                Files.deleteIfExists(tmp);
            }
        }
        return new PartialFile(abs, tmp, ch);
    }

    /** @return the path the file will have once published (absolute) */
    public Path target() {
        return target;
    }

    /** @return whether the file was published or abandoned: nothing more can be written */
    public boolean isDone() {
        return done;
    }

    /**
     * Writes all of {@code bytes} at {@code position}.
     *
     * @param bytes what to write (its position moves to its limit)
     * @param position where in the file
     * @throws IOException when writing fails
     * @throws IllegalStateException when the file is published or abandoned
     */
    public void write(ByteBuffer bytes, long position) throws IOException {
        if (done) {
            throw new IllegalStateException(target + " is already published or abandoned");
        }
        long p = position;
        while (bytes.hasRemaining()) {
            p += channel.write(bytes, p);
        }
    }

    /**
     * Closes the file and moves it to its target ({@link AtomicFiles#publish}: forced, renamed
     * atomically). On failure the target is unchanged and the temporary is removed.
     *
     * @throws IOException when closing or renaming fails
     * @throws IllegalStateException when the file is published or abandoned
     */
    public void publish() throws IOException {
        if (done) {
            throw new IllegalStateException(target + " is already published or abandoned");
        }
        boolean ok = false;
        try {
            channel.close();
            AtomicFiles.publish(tmp, target);
            ok = true;
        } finally {
            done = true;
            if (!ok) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** Abandons the file unless it was published: the temporary is removed; nothing is left at the target. */
    @Override
    public void close() throws IOException {
        if (!done) {
            done = true;
            try {
                channel.close();
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
    }
}

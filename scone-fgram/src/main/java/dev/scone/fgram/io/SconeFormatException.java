package dev.scone.fgram.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A scone file is not what it claims to be: wrong magic number, unknown format version,
 * truncated, failed checksum, or contents that contradict its header. The message names the
 * file and the problem.
 */
public final class SconeFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient Path path;

    /**
     * Creates an exception for a damaged or foreign file.
     *
     * @param path the file (may be {@code null} for a stream)
     * @param problem what is wrong, as a sentence fragment
     */
    public SconeFormatException(Path path, String problem) {
        super((path == null ? "stream" : path.toString()) + ": " + problem);
        this.path = path;
    }

    /**
     * Creates an exception for a damaged or foreign file, with its cause.
     *
     * @param path the file (may be {@code null} for a stream)
     * @param problem what is wrong
     * @param cause the underlying error
     */
    public SconeFormatException(Path path, String problem, Throwable cause) {
        super((path == null ? "stream" : path.toString()) + ": " + problem, cause);
        this.path = path;
    }

    /** @return the offending file, or {@code null} when it was a stream */
    public Path path() {
        return path;
    }
}

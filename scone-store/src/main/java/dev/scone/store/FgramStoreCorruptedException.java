package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import java.io.UncheckedIOException;

/**
 * A lookup found damage in an open store (a vector whose checksum fails, an index entry that
 * points to another f-gram's row or outside the vector file). Unchecked so that lookups keep a
 * plain signature; the cause is a {@link SconeFormatException} naming the file and the problem.
 * No vector is returned for a damaged entry.
 */
public final class FgramStoreCorruptedException extends UncheckedIOException {

    private static final long serialVersionUID = 1L;

    /** @param cause the format error, naming the file and the problem */
    public FgramStoreCorruptedException(SconeFormatException cause) {
        super(cause.getMessage(), cause);
    }

    @Override
    public synchronized SconeFormatException getCause() {
        return (SconeFormatException) super.getCause();
    }
}

package dev.scone.fgram.vocab;

import dev.scone.fgram.io.SconeFormatException;
import java.io.UncheckedIOException;

/**
 * Reading a memory-mapped vocabulary found damage: a block of records whose checksum or content
 * is wrong when it is first read, or a file cut or unreadable under its mapping. Unchecked so
 * that record reads keep a plain signature; the cause is a {@link SconeFormatException} naming
 * the file and the problem. No record of a damaged block is returned.
 */
public final class FgramVocabularyCorruptedException extends UncheckedIOException {

    private static final long serialVersionUID = 1L;

    /** @param cause the format error, naming the file and the problem */
    public FgramVocabularyCorruptedException(SconeFormatException cause) {
        super(cause.getMessage(), cause);
    }

    @Override
    public synchronized SconeFormatException getCause() {
        return (SconeFormatException) super.getCause();
    }
}

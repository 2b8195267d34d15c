package dev.scone.fgram.vocab;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An f-gram vocabulary file open for reading ({@link FgramVocabularyFile#open}): a file of the
 * current format is memory-mapped, so that its {@link #vocabulary()} reads records from the file's
 * pages as they are asked for and holds none of them on the heap; a consumer of a range of ids
 * (a precompute over a slice of V_fgram) touches only that range's pages. Each block of records is
 * checked (checksum and content) when it is first read; {@link #verify()} checks the whole file
 * in one streaming pass, the fingerprint included. A file of format version 1 or 2 has no block
 * index: it is read whole onto the heap and checked at once.
 *
 * <p>{@link #close()} refuses later reads of a mapped vocabulary (and later calls of this object);
 * the mapping itself is released when the garbage collector drops it (Java 17 cannot unmap). Safe
 * for concurrent reads.
 */
public final class MappedFgramVocabulary implements AutoCloseable {

    private final Path path;
    private final int formatVersion;
    private final FgramVocabulary vocabulary;
    private final FgramVocabularyFile.CountedOn countedOn;
    private volatile boolean closed;

    MappedFgramVocabulary(Path path, int formatVersion, FgramVocabulary vocabulary,
            FgramVocabularyFile.CountedOn countedOn) {
        this.path = path;
        this.formatVersion = formatVersion;
        this.vocabulary = vocabulary;
        this.countedOn = countedOn;
    }

    /** @return the file */
    public Path path() {
        return path;
    }

    /** @return the file's format version */
    public int formatVersion() {
        return formatVersion;
    }

    /** @return whether the records are mapped (format version 3) rather than read onto the heap */
    public boolean isMapped() {
        return vocabulary.isMapped();
    }

    /**
     * @return the vocabulary; its reads refuse once this file is closed
     * @throws IllegalStateException when this file is closed
     */
    public FgramVocabulary vocabulary() {
        checkOpen();
        return vocabulary;
    }

    /** @return the corpus the vocabulary was counted on, or null when the file does not record it */
    public FgramVocabularyFile.CountedOn countedOn() {
        return countedOn;
    }

    /**
     * Checks the whole file in one streaming pass: every block's checksum and records, and that
     * the content's fingerprint is the one the file records. Reads each block once from the file
     * (not through the mapping), one block at a time.
     *
     * @throws SconeFormatException naming the file and the first problem found
     * @throws IOException when the file cannot be read
     * @throws IllegalStateException when this file is closed
     */
    public void verify() throws IOException {
        checkOpen();
        if (!vocabulary.isMapped()) {
            return; // read whole and checked when it was opened
        }
        RecordStore records = vocabulary.records();
        FingerprintDigest digest = new FingerprintDigest(records.tokenVocabularySize, records.maxN, records.size);
        int[] scratch = new int[records.maxN];
        for (int b = 0; b < records.heldBlocks(); b++) {
            ByteBuffer block = records.readBlock(b);
            BlockLayout.digest(block, records.fgramsIn(b), digest, scratch);
        }
        FgramVocabularyFile.checkFingerprint(path, vocabulary.fingerprint(), digest.finish());
    }

    /**
     * Checks the blocks that hold the ids {@code [from, to)}: their checksums and records (what
     * reading them checks anyway, done at once so that a task fails before it starts its work).
     *
     * @param from the first id
     * @param to the id after the last
     * @throws SconeFormatException naming the file and the first problem found
     * @throws IOException when the file cannot be read
     * @throws IndexOutOfBoundsException when the range is not within {@code [0, S]}
     * @throws IllegalStateException when this file is closed
     */
    public void verify(int from, int to) throws IOException {
        checkOpen();
        Objects.checkFromToIndex(from, to, vocabulary.size());
        if (!vocabulary.isMapped() || from == to) {
            return;
        }
        RecordStore records = vocabulary.records();
        int first = (from >>> records.blockBits) - records.firstBlock();
        int last = ((to - 1) >>> records.blockBits) - records.firstBlock();
        for (int b = first; b <= last; b++) {
            records.readBlock(b);
        }
    }

    /** Refuses later reads of the vocabulary. Idempotent. */
    @Override
    public void close() {
        closed = true;
        if (vocabulary.isMapped()) {
            vocabulary.records().close();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the vocabulary file " + path + " is closed");
        }
    }

    @Override
    public String toString() {
        return "MappedFgramVocabulary[" + path + ", version " + formatVersion + ", " + vocabulary + "]";
    }
}

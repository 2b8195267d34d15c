package dev.scone.fgram.vocab;

import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.SconeFormatException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * Reads and writes an {@link FgramVocabulary} as a file (version 2; version 1 is read too).
 *
 * <p>Layout, little-endian:
 *
 * <pre>
 *   offset  size  field
 *   0       8     magic "SCONEFGV"
 *   8       4     format version (2; version 1 has no counted-on block and its records start at 32)
 *   12      4     token vocabulary size
 *   16      4     maxN (K)
 *   20      4     S, the number of f-grams
 *   24      8     total file length in bytes
 *   32      40    the corpus it was counted on ({@link CountedOn}): flags (bit 0 recorded, bit 1
 *                 compacted), the ids' tokenizer (8) and compaction (12) fingerprints, its
 *                 documents (4), tokens (8) and token-section CRC32C (4); zero when not recorded
 *   72      ...   S records in id order: int length n, n int token ids, long count
 *   end-20  16    the vocabulary fingerprint ({@link FgramVocabulary#fingerprint()}, raw bytes)
 *   end-4   4     CRC32C of every byte before it
 * </pre>
 *
 * Files are written atomically ({@link AtomicFiles}). Reading checks, in this order, the magic
 * number, the format version, the length, the checksum, every record, and finally that the
 * content's fingerprint equals the stored one; any failure is a {@link SconeFormatException}
 * naming the file and the problem.
 */
public final class FgramVocabularyFile {

    /** The first 8 bytes of every f-gram vocabulary file: "SCONEFGV" in ASCII. */
    public static final long MAGIC = 0x564746454E4F4353L; // "SCONEFGV" read as a little-endian long
    /** The format version this class writes; it reads this one and version 1. */
    public static final int VERSION = 2;
    static final int VERSION_1 = 1;
    /** Bytes of the fixed header fields. */
    static final int HEADER_BYTES = 32;
    /** Bytes of the counted-on block (version 2). */
    static final int COUNTED_ON_BYTES = 40;
    /** Bytes before the first record, in the current version. */
    static final int RECORDS_AT = HEADER_BYTES + COUNTED_ON_BYTES;

    /**
     * The token-id corpus a vocabulary was counted on: where its ids come from and which file it
     * was (its size and the checksum of its token section), so that a vocabulary is used only with
     * ids that mean what it counted.
     *
     * @param origin the tokenizer and compaction behind its ids, or null when its file did not record them
     * @param documents its documents
     * @param tokens its tokens
     * @param tokensCrc the CRC32C of its token section
     */
    public record CountedOn(dev.scone.fgram.corpus.TokenIdFile.Origin origin, int documents, long tokens,
            int tokensCrc) {

        /**
         * @param file a token-id file
         * @return what a vocabulary counted on it records
         */
        public static CountedOn of(dev.scone.fgram.corpus.TokenIdFile file) {
            return new CountedOn(file.origin(), file.documentCount(), file.tokenCount(), file.tokensCrc());
        }
    }
    /** Bytes after the last record: fingerprint and checksum. */
    static final int TRAILER_BYTES = 20;

    private FgramVocabularyFile() {}

    /**
     * Writes {@code vocabulary} to {@code path} atomically, replacing any existing file.
     *
     * @param vocabulary the vocabulary
     * @param path the target file
     * @throws IOException when writing fails; the target is then unchanged
     */
    public static void write(FgramVocabulary vocabulary, Path path) throws IOException {
        write(vocabulary, path, null);
    }

    /**
     * Writes {@code vocabulary} to {@code path} atomically with the corpus it was counted on.
     *
     * @param vocabulary the vocabulary
     * @param path the target file
     * @param countedOn the corpus, or null when not known
     * @throws IOException when writing fails; the target is then unchanged
     */
    public static void write(FgramVocabulary vocabulary, Path path, CountedOn countedOn) throws IOException {
        Objects.requireNonNull(vocabulary, "vocabulary");
        Objects.requireNonNull(path, "path");
        AtomicFiles.write(path, tmp -> {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                writeTo(vocabulary, countedOn, out);
            }
        });
    }

    /** @return the exact size in bytes of the file {@link #write} produces for {@code vocabulary} */
    public static long fileLength(FgramVocabulary vocabulary) {
        long length = RECORDS_AT + TRAILER_BYTES;
        for (int id = 0; id < vocabulary.size(); id++) {
            length += 12L + 4L * vocabulary.length(id);
        }
        return length;
    }

    private static void writeTo(FgramVocabulary v, CountedOn on, OutputStream out) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC).putInt(VERSION).putInt(v.tokenVocabularySize()).putInt(v.maxN()).putInt(v.size())
                .putLong(fileLength(v));
        byte[] block = new byte[COUNTED_ON_BYTES];
        if (on != null) {
            ByteBuffer c = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
            int flags = 1;
            if (on.origin() != null) {
                c.position(4).put(HexFormat.of().parseHex(on.origin().tokenizer()));
                if (on.origin().compaction() != null) {
                    c.position(12).put(HexFormat.of().parseHex(on.origin().compaction()));
                    flags |= 2;
                }
                flags |= 4;
            }
            c.putInt(0, flags).putInt(24, on.documents()).putLong(28, on.tokens()).putInt(36, on.tokensCrc());
        }
        b.put(block);
        int[] gram = new int[v.maxN()];
        for (int id = 0; id < v.size(); id++) {
            if (b.remaining() < 12 + 4 * gram.length) {
                flush(b, crc, out);
            }
            int n = v.copyTokens(id, gram, 0);
            b.putInt(n);
            for (int k = 0; k < n; k++) {
                b.putInt(gram[k]);
            }
            b.putLong(v.count(id));
        }
        if (b.remaining() < TRAILER_BYTES) {
            flush(b, crc, out);
        }
        b.put(HexFormat.of().parseHex(v.fingerprint()));
        flush(b, crc, out);
        b.putInt((int) crc.getValue());
        flush(b, null, out);
    }

    private static void flush(ByteBuffer b, CRC32C crc, OutputStream out) throws IOException {
        b.flip();
        if (crc != null) {
            crc.update(b.array(), 0, b.limit());
        }
        out.write(b.array(), 0, b.limit());
        b.clear();
    }

    /**
     * Reads a vocabulary written by {@link #write}.
     *
     * @param path the file
     * @return the vocabulary, identical (same fingerprint) to the one written
     * @throws SconeFormatException when the file is truncated, corrupt, foreign or of an unknown
     *     version; the message names the file and the problem
     * @throws IOException when the file cannot be read
     */
    public static FgramVocabulary read(Path path) throws IOException {
        return readContents(path).vocabulary();
    }

    /**
     * Reads (and checks, as {@link #read} does) a vocabulary file and returns the corpus it was
     * counted on.
     *
     * @param path the file
     * @return the corpus, or null when the file does not record it (version 1, or written without)
     * @throws SconeFormatException as {@link #read}
     * @throws IOException when the file cannot be read
     */
    public static CountedOn countedOn(Path path) throws IOException {
        return readContents(path).countedOn();
    }

    /**
     * Everything a vocabulary file holds.
     *
     * @param vocabulary the vocabulary
     * @param countedOn the corpus it was counted on, or null when not recorded
     */
    public record Contents(FgramVocabulary vocabulary, CountedOn countedOn) {}

    /**
     * Reads and checks a vocabulary file once, as {@link #read} does, for a caller that needs both
     * the vocabulary and its corpus.
     *
     * @param path the file
     * @return its contents
     * @throws SconeFormatException as {@link #read}
     * @throws IOException when the file cannot be read
     */
    public static Contents readContents(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        ByteBuffer b;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE - 8) {
                throw new SconeFormatException(path, "file of " + size + " bytes is larger than a vocabulary file"
                        + " can be (2 GiB)");
            }
            b = ByteBuffer.allocate((int) size);
            while (b.hasRemaining() && ch.read(b) >= 0) {
                // read fully
            }
            b.flip();
        }
        b.order(ByteOrder.LITTLE_ENDIAN);
        long size = b.limit();
        if (size < 8) {
            throw new SconeFormatException(path, "truncated: " + size + " bytes, shorter than the 8-byte magic number");
        }
        long magic = b.getLong(0);
        if (magic != MAGIC) {
            throw new SconeFormatException(path, "not an f-gram vocabulary file: magic number 0x"
                    + Long.toHexString(magic) + ", expected 0x" + Long.toHexString(MAGIC) + " (\"SCONEFGV\")");
        }
        if (size < 12) {
            throw new SconeFormatException(path, "truncated: " + size + " bytes, the header needs " + HEADER_BYTES);
        }
        int version = b.getInt(8);
        if (version != VERSION && version != VERSION_1) {
            throw new SconeFormatException(path, "unknown format version " + version + " (this build reads versions "
                    + VERSION_1 + " and " + VERSION + ")");
        }
        int first = version == VERSION_1 ? HEADER_BYTES : RECORDS_AT;
        if (size < first + TRAILER_BYTES) {
            throw new SconeFormatException(path, "truncated: " + size + " bytes, an empty vocabulary needs "
                    + (first + TRAILER_BYTES));
        }
        long declared = b.getLong(24);
        if (declared != size) {
            throw new SconeFormatException(path, (size < declared ? "truncated" : "trailing bytes") + ": the header"
                    + " says " + declared + " bytes, the file has " + size);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, (int) size - 4);
        int stored = b.getInt((int) size - 4);
        if (stored != (int) crc.getValue()) {
            throw new SconeFormatException(path, "checksum mismatch: stored CRC32C 0x" + Integer.toHexString(stored)
                    + ", content gives 0x" + Integer.toHexString((int) crc.getValue()) + " (file damaged)");
        }
        int tokenVocabularySize = b.getInt(12);
        int maxN = b.getInt(16);
        int s = b.getInt(20);
        if (maxN < FgramVocabulary.MIN_N || s < 0) {
            throw new SconeFormatException(path, "invalid header: maxN " + maxN + ", S " + s);
        }
        long end = size - TRAILER_BYTES;
        if ((end - first) / 16 < s) {
            throw new SconeFormatException(path, "header says " + s + " f-grams, the file has room for at most "
                    + (end - first) / 16);
        }
        int[] offsets = new int[s + 1];
        long tokenTotal = (end - first - 12L * s) / 4;
        if (tokenTotal < 0) {
            throw new SconeFormatException(path, "records shorter than " + s + " f-grams");
        }
        int[] tokens = new int[(int) tokenTotal];
        long[] counts = new long[s];
        int pos = first;
        int t = 0;
        for (int id = 0; id < s; id++) {
            if (pos + 4 > end) {
                throw new SconeFormatException(path, "record " + id + " runs past the end of the records");
            }
            int n = b.getInt(pos);
            pos += 4;
            if (n < FgramVocabulary.MIN_N || n > maxN) {
                throw new SconeFormatException(path, "f-gram " + id + " has length " + n + ", outside ["
                        + FgramVocabulary.MIN_N + ", " + maxN + "]");
            }
            if (pos + 4L * n + 8 > end) {
                throw new SconeFormatException(path, "record " + id + " runs past the end of the records");
            }
            for (int k = 0; k < n; k++) {
                tokens[t++] = b.getInt(pos);
                pos += 4;
            }
            counts[id] = b.getLong(pos);
            pos += 8;
            offsets[id + 1] = t;
        }
        if (pos != end || t != tokens.length) {
            throw new SconeFormatException(path, (end - pos) + " bytes left over after " + s + " f-grams");
        }
        FgramVocabulary v;
        try {
            v = FgramVocabulary.of(tokenVocabularySize, maxN, offsets, tokens, counts);
        } catch (IllegalArgumentException e) {
            throw new SconeFormatException(path, "invalid content: " + e.getMessage(), e);
        }
        byte[] fp = new byte[16];
        b.get((int) end, fp);
        String storedFingerprint = HexFormat.of().formatHex(fp);
        if (!storedFingerprint.equals(v.fingerprint())) {
            throw new SconeFormatException(path, "fingerprint mismatch: stored " + storedFingerprint
                    + ", content gives " + v.fingerprint());
        }
        return new Contents(v, version == VERSION_1 ? null : countedOnOf(b, path));
    }

    private static CountedOn countedOnOf(ByteBuffer b, Path path) throws SconeFormatException {
        int flags = b.getInt(HEADER_BYTES);
        if (flags == 0) {
            return null;
        }
        if ((flags & ~7) != 0 || (flags & 1) == 0 || ((flags & 2) != 0 && (flags & 4) == 0)) {
            throw new SconeFormatException(path, "invalid counted-on flags " + flags);
        }
        dev.scone.fgram.corpus.TokenIdFile.Origin origin = null;
        if ((flags & 4) != 0) {
            byte[] t = new byte[8];
            byte[] c = new byte[12];
            b.get(HEADER_BYTES + 4, t);
            b.get(HEADER_BYTES + 12, c);
            origin = new dev.scone.fgram.corpus.TokenIdFile.Origin(HexFormat.of().formatHex(t),
                    (flags & 2) != 0 ? HexFormat.of().formatHex(c) : null);
        }
        return new CountedOn(origin, b.getInt(HEADER_BYTES + 24), b.getLong(HEADER_BYTES + 28),
                b.getInt(HEADER_BYTES + 36));
    }
}

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
 * Reads and writes an {@link FgramVocabulary} as a file (version 1).
 *
 * <p>Layout, little-endian:
 *
 * <pre>
 *   offset  size  field
 *   0       8     magic "SCONEFGV"
 *   8       4     format version (1)
 *   12      4     token vocabulary size
 *   16      4     maxN (K)
 *   20      4     S, the number of f-grams
 *   24      8     total file length in bytes
 *   32      ...   S records in id order: int length n, n int token ids, long count
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
    /** The format version this class writes and reads. */
    public static final int VERSION = 1;
    /** Bytes before the first record. */
    static final int HEADER_BYTES = 32;
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
        Objects.requireNonNull(vocabulary, "vocabulary");
        Objects.requireNonNull(path, "path");
        AtomicFiles.write(path, tmp -> {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                writeTo(vocabulary, out);
            }
        });
    }

    /** @return the exact size in bytes of the file {@link #write} produces for {@code vocabulary} */
    public static long fileLength(FgramVocabulary vocabulary) {
        long length = HEADER_BYTES + TRAILER_BYTES;
        for (int id = 0; id < vocabulary.size(); id++) {
            length += 12L + 4L * vocabulary.length(id);
        }
        return length;
    }

    private static void writeTo(FgramVocabulary v, OutputStream out) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC).putInt(VERSION).putInt(v.tokenVocabularySize()).putInt(v.maxN()).putInt(v.size())
                .putLong(fileLength(v));
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
        if (version != VERSION) {
            throw new SconeFormatException(path, "unknown format version " + version + " (this build reads version "
                    + VERSION + ")");
        }
        if (size < HEADER_BYTES + TRAILER_BYTES) {
            throw new SconeFormatException(path, "truncated: " + size + " bytes, an empty vocabulary needs "
                    + (HEADER_BYTES + TRAILER_BYTES));
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
        if ((end - HEADER_BYTES) / 16 < s) {
            throw new SconeFormatException(path, "header says " + s + " f-grams, the file has room for at most "
                    + (end - HEADER_BYTES) / 16);
        }
        int[] offsets = new int[s + 1];
        long tokenTotal = (end - HEADER_BYTES - 12L * s) / 4;
        if (tokenTotal < 0) {
            throw new SconeFormatException(path, "records shorter than " + s + " f-grams");
        }
        int[] tokens = new int[(int) tokenTotal];
        long[] counts = new long[s];
        int pos = HEADER_BYTES;
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
        return v;
    }
}

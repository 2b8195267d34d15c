package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.CRC32C;
import net.openhft.chronicle.hash.impl.VanillaChronicleHash;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;

/**
 * The files of a store folder and the vector file's header.
 *
 * <p>Vector file: a 64-byte little-endian header, then one row per f-gram: the encoded vector
 * followed by a CRC32C of (the f-gram's index key bytes, the encoded vector). Because the row
 * checksum covers the key, an index entry that was damaged into pointing at another f-gram's row
 * fails the check.
 *
 * <p>The header, format version {@value #VECTOR_VERSION}:
 *
 * <pre>
 * offset  bytes  field
 *      0      4  magic "SCNV"
 *      4      4  vector file format version (2; version 1 ends after the row count)
 *      8      4  dtype (VectorDtype ordinal)
 *     12      4  d
 *     16      4  row bytes
 *     20      4  reserved, 0
 *     24      8  rows
 *     32     16  model: the manifest's modelFingerprint as 16 bytes (StoreManifest#bindingOf)
 *     48      8  f-gram vocabulary: the first 8 of those bytes of fgramVocabularyFingerprint
 *     56      4  reserved, 0
 *     60      4  CRC32C of bytes 0..60
 * </pre>
 *
 * <p>The model and vocabulary bytes bind the vectors to the manifest: a vector file of another
 * store, even one over the same V_fgram (same index, same size), is refused at open. Version 1
 * files (no binding) still open under manifests of format versions 1 and 2.
 *
 * <p>Store format version 2 and later store no Bloom filter file: the reader rebuilds the filter
 * from the index (version 1 stores carried a {@code filter.bin}, which later readers ignore).
 */
final class StoreLayout {

    static final String VECTORS = "vectors.bin";
    static final String INDEX = "index.cm";

    static final int VECTOR_MAGIC = 0x564E4353; // "SCNV" little-endian
    static final int VECTOR_VERSION = 2;
    /** The vector file format version without model binding. */
    static final int UNBOUND_VECTOR_VERSION = 1;
    static final int HEADER_BYTES = 64;
    static final int MODEL_AT = 32;
    static final int MODEL_BYTES = 16;
    static final int VOCABULARY_AT = 48;
    static final int VOCABULARY_BYTES = 8;
    /** Rows are mapped in chunks of at most this many bytes (one MappedByteBuffer holds < 2 GiB). */
    static final long CHUNK_BYTES = 1L << 30;

    private static final HexFormat HEX = HexFormat.of();

    private StoreLayout() {}

    static int rowBytes(VectorDtype dtype, int d) {
        return dtype.vectorBytes(d) + 4;
    }

    static int rowsPerChunk(int rowBytes) {
        return (int) Math.max(1, CHUNK_BYTES / rowBytes);
    }

    /**
     * A version-{@value #VECTOR_VERSION} header.
     *
     * @param model the model binding, {@value #MODEL_BYTES} bytes
     * @param vocabulary the f-gram vocabulary binding, {@value #VOCABULARY_BYTES} bytes
     */
    static ByteBuffer header(VectorDtype dtype, int d, long rows, byte[] model, byte[] vocabulary) {
        if (model.length != MODEL_BYTES || vocabulary.length != VOCABULARY_BYTES) {
            throw new IllegalArgumentException("bindings of " + model.length + " and " + vocabulary.length
                    + " bytes, expected " + MODEL_BYTES + " and " + VOCABULARY_BYTES);
        }
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, VECTOR_MAGIC).putInt(4, VECTOR_VERSION).putInt(8, dtype.ordinal()).putInt(12, d)
                .putInt(16, rowBytes(dtype, d)).putLong(24, rows).put(MODEL_AT, model).put(VOCABULARY_AT, vocabulary);
        sealHeader(h);
        return h;
    }

    /** Writes the header's CRC32C (over its first 60 bytes) into its last 4 bytes. */
    static void sealHeader(ByteBuffer h) {
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, HEADER_BYTES - 4);
        h.putInt(HEADER_BYTES - 4, (int) crc.getValue());
    }

    /**
     * Checks a vector file's header against its manifest: magic, checksum, version, shape, and
     * (version {@value #VECTOR_VERSION}) that it holds the vectors of the manifest's model and
     * f-gram vocabulary.
     *
     * @throws SconeFormatException naming the vector file and the problem
     */
    static void checkHeader(Path file, ByteBuffer h, StoreManifest m) throws SconeFormatException {
        if (h.getInt(0) != VECTOR_MAGIC) {
            throw new SconeFormatException(file, "not an f-gram vector file (bad magic)");
        }
        CRC32C crc = new CRC32C();
        byte[] first = new byte[HEADER_BYTES - 4];
        h.get(0, first);
        crc.update(first);
        if ((int) crc.getValue() != h.getInt(HEADER_BYTES - 4)) {
            throw new SconeFormatException(file, "header checksum mismatch: the vector file header is damaged");
        }
        int version = h.getInt(4);
        if (version != VECTOR_VERSION && version != UNBOUND_VECTOR_VERSION) {
            throw new SconeFormatException(file, "unknown vector file format version " + version + " (this code reads "
                    + UNBOUND_VECTOR_VERSION + " and " + VECTOR_VERSION + ")");
        }
        int dtype = h.getInt(8);
        if (dtype != m.dtype().ordinal() || h.getInt(12) != m.embeddingSize() || h.getLong(24) != m.size()
                || h.getInt(16) != rowBytes(m.dtype(), m.embeddingSize())) {
            throw new SconeFormatException(file, "header (dtype #" + dtype + ", d=" + h.getInt(12) + ", rows="
                    + h.getLong(24) + ") contradicts the manifest (" + m.dtype() + ", d=" + m.embeddingSize()
                    + ", size=" + m.size() + ")");
        }
        if (version == UNBOUND_VECTOR_VERSION) {
            if (m.formatVersion() >= StoreManifest.MAIN_MODEL_VERSION) {
                throw new SconeFormatException(file, "the vector file belongs to another store (version-1 vectors of"
                        + " an unrecorded model, manifest of format " + m.formatVersion() + " says model "
                        + m.modelFingerprint() + ")");
            }
            return;
        }
        byte[] model = new byte[MODEL_BYTES];
        h.get(MODEL_AT, model);
        byte[] expected = m.vectorBinding();
        if (!Arrays.equals(model, expected)) {
            throw new SconeFormatException(file, "the vector file belongs to another store (vectors of model "
                    + HEX.formatHex(model) + ", manifest says " + recorded(m.modelFingerprint(), expected) + ")");
        }
        byte[] vocabulary = new byte[VOCABULARY_BYTES];
        h.get(VOCABULARY_AT, vocabulary);
        expected = m.vocabularyBinding();
        if (!Arrays.equals(vocabulary, expected)) {
            throw new SconeFormatException(file, "the vector file belongs to another store (vectors of f-gram"
                    + " vocabulary " + HEX.formatHex(vocabulary) + ", manifest says "
                    + recorded(m.fgramVocabularyFingerprint(), expected) + ")");
        }
    }

    /** A manifest fingerprint, with the header bytes it stands for when they are not its own prefix. */
    private static String recorded(String fingerprint, byte[] binding) {
        String hex = HEX.formatHex(binding);
        return fingerprint.startsWith(hex) ? fingerprint : fingerprint + ", recorded as " + hex;
    }

    /** The Chronicle Map builder of the key index (byte[] exact key -> 4-byte row index). */
    static ChronicleMapBuilder<byte[], byte[]> indexBuilder(FgramKeyCodec codec, long entries) {
        ChronicleValueClasses.install(); // before Chronicle Map needs them: no javac at run time
        ChronicleMapBuilder<byte[], byte[]> b = ChronicleMap.of(byte[].class, byte[].class)
                .name("scone-fgram-index")
                .entries(Math.max(16, entries))
                .constantValueSizeBySample(new byte[4])
                // rows carry their own CRC over (key, vector): Chronicle's entry checksums add nothing
                .checksumEntries(false);
        return codec.constantKeySize() ? b.constantKeySizeBySample(new byte[8])
                : b.averageKeySize(codec.averageKeyBytes());
    }

    static long crc32cOf(Path file) throws IOException {
        return crc32cOf(file, new long[0]);
    }

    /** Bytes of a Chronicle Map segment's lock word (the first field of its segment header). */
    static final int LOCK_WORD_BYTES = 8;

    /**
     * The CRC32C of a file with the {@value #LOCK_WORD_BYTES} bytes at each of {@code lockWords}
     * (ascending file offsets) read as zeros, which is what they hold when no process is inside
     * the map: the checksum of an index as written, whatever locks other readers hold now.
     */
    static long crc32cOf(Path file, long[] lockWords) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buf = new byte[1 << 20];
        long at = 0;
        int next = 0;
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                for (; next < lockWords.length && lockWords[next] < at + n; next++) {
                    long from = Math.max(lockWords[next], at);
                    long to = Math.min(lockWords[next] + LOCK_WORD_BYTES, at + n);
                    java.util.Arrays.fill(buf, (int) (from - at), (int) (to - at), (byte) 0);
                    if (lockWords[next] + LOCK_WORD_BYTES > at + n) {
                        break; // the word runs on into the next read
                    }
                }
                crc.update(buf, 0, n);
                at += n;
            }
        }
        return crc.getValue();
    }

    /**
     * Where the lock words of an open map's segments lie in its file: the only bytes that a
     * process reading the map writes (each read takes and releases its segment's read lock).
     *
     * @return ascending file offsets; empty if this Chronicle version does not expose its layout
     *     (the checksum then covers every byte)
     */
    static long[] lockWordOffsets(ChronicleMap<?, ?> map) {
        if (!(map instanceof VanillaChronicleHash<?, ?, ?, ?> h)) {
            return new long[0];
        }
        long[] offsets = new long[h.actualSegments];
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = h.segmentHeaderAddress(i) - h.bsAddress(); // the map is mapped from file offset 0
        }
        java.util.Arrays.sort(offsets);
        return offsets;
    }
}

package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;

/**
 * The files of a store folder and the vector file's header.
 *
 * <p>Vector file: a 64-byte header (magic, format version, dtype, d, row bytes, row count,
 * CRC32C of the header), then one row per f-gram: the encoded vector followed by a CRC32C of
 * (the f-gram's index key bytes, the encoded vector). Because the row checksum covers the key,
 * an index entry that was damaged into pointing at another f-gram's row fails the check.
 *
 * <p>Format version 2 stores no Bloom filter file: the reader rebuilds the filter from the index
 * (version 1 stores carried a {@code filter.bin}, which version 2 readers ignore).
 */
final class StoreLayout {

    static final String VECTORS = "vectors.bin";
    static final String INDEX = "index.cm";

    static final int VECTOR_MAGIC = 0x564E4353; // "SCNV" little-endian
    static final int VECTOR_VERSION = 1;
    static final int HEADER_BYTES = 64;
    /** Rows are mapped in chunks of at most this many bytes (one MappedByteBuffer holds < 2 GiB). */
    static final long CHUNK_BYTES = 1L << 30;

    private StoreLayout() {}

    static int rowBytes(VectorDtype dtype, int d) {
        return dtype.vectorBytes(d) + 4;
    }

    static int rowsPerChunk(int rowBytes) {
        return (int) Math.max(1, CHUNK_BYTES / rowBytes);
    }

    static ByteBuffer header(VectorDtype dtype, int d, long rows) {
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, VECTOR_MAGIC).putInt(4, VECTOR_VERSION).putInt(8, dtype.ordinal()).putInt(12, d)
                .putInt(16, rowBytes(dtype, d)).putLong(24, rows);
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, HEADER_BYTES - 4);
        h.putInt(HEADER_BYTES - 4, (int) crc.getValue());
        return h;
    }

    /** Checks a vector file's header against its manifest. */
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
        if (h.getInt(4) != VECTOR_VERSION) {
            throw new SconeFormatException(file, "unknown vector file format version " + h.getInt(4));
        }
        int dtype = h.getInt(8);
        if (dtype != m.dtype().ordinal() || h.getInt(12) != m.embeddingSize() || h.getLong(24) != m.size()
                || h.getInt(16) != rowBytes(m.dtype(), m.embeddingSize())) {
            throw new SconeFormatException(file, "header (dtype #" + dtype + ", d=" + h.getInt(12) + ", rows="
                    + h.getLong(24) + ") contradicts the manifest (" + m.dtype() + ", d=" + m.embeddingSize()
                    + ", size=" + m.size() + ")");
        }
    }

    /** The Chronicle Map builder of the key index (byte[] exact key -> 4-byte row index). */
    static ChronicleMapBuilder<byte[], byte[]> indexBuilder(FgramKeyCodec codec, long entries) {
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
        CRC32C crc = new CRC32C();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                crc.update(buf, 0, n);
            }
        }
        return crc.getValue();
    }
}

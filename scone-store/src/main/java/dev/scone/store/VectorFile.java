package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * A store's vector file ({@value StoreLayout#VECTORS}), opened read-only: its header checked
 * against the manifest (shape, and that it holds the vectors of the manifest's model and f-gram
 * vocabulary), its exact size checked, its rows mapped in chunks of at most 1 GiB. A read copies a
 * row out of the mapping into the calling thread's {@link Cursor}, checks its CRC32C over (key,
 * vector) and decodes the vector.
 */
final class VectorFile {

    private final Path file;
    private final VectorDtype dtype;
    private final int d;
    private final long rows;
    private final long bytes;
    private final int rowBytes;
    private final int vectorBytes;
    private final int rowsPerChunk;
    // Mapped once for the store's life: the JDK unmaps only on GC, which is safe with concurrent readers.
    private final ByteBuffer[] chunks;

    private VectorFile(Path file, StoreManifest m, ByteBuffer[] chunks) {
        this.file = file;
        this.dtype = m.dtype();
        this.d = m.embeddingSize();
        this.rows = m.size();
        this.bytes = m.vectorFileBytes();
        this.rowBytes = StoreLayout.rowBytes(dtype, d);
        this.vectorBytes = dtype.vectorBytes(d);
        this.rowsPerChunk = StoreLayout.rowsPerChunk(rowBytes);
        this.chunks = chunks;
    }

    /**
     * Opens and checks the vector file of a store.
     *
     * @param file the vector file
     * @param m its store's manifest
     * @return the mapped file
     * @throws SconeFormatException when it is missing, has the wrong size, a damaged header, or
     *     holds the vectors of another model or f-gram vocabulary
     * @throws IOException when reading fails
     */
    static VectorFile open(Path file, StoreManifest m) throws IOException {
        int rowBytes = StoreLayout.rowBytes(m.dtype(), m.embeddingSize());
        long expected = StoreLayout.HEADER_BYTES + m.size() * rowBytes;
        if (!Files.isRegularFile(file)) {
            throw new SconeFormatException(file, "vector file is missing");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long actual = ch.size();
            if (actual != expected || m.vectorFileBytes() != expected) {
                throw new SconeFormatException(file, (actual < expected ? "truncated" : "wrong size") + ": " + actual
                        + " bytes, expected " + expected + " for " + m.size() + " rows of " + rowBytes + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate(StoreLayout.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (header.hasRemaining() && ch.read(header, header.position()) > 0) {
                // the header sits at the start of the file: buffer position = file position
            }
            StoreLayout.checkHeader(file, header, m);
            int perChunk = StoreLayout.rowsPerChunk(rowBytes);
            int n = (int) ((m.size() + perChunk - 1) / perChunk);
            ByteBuffer[] chunks = new ByteBuffer[n];
            for (int c = 0; c < n; c++) {
                long first = (long) c * perChunk;
                long count = Math.min(perChunk, m.size() - first);
                chunks[c] = ch.map(FileChannel.MapMode.READ_ONLY, StoreLayout.HEADER_BYTES + first * rowBytes,
                        count * rowBytes).order(ByteOrder.LITTLE_ENDIAN);
            }
            return new VectorFile(file, m, chunks);
        }
    }

    /** @return the file */
    Path file() {
        return file;
    }

    /** @return the number of rows */
    long rows() {
        return rows;
    }

    /** @return how the file changed since open (cut or replaced), or {@code null} */
    String changeSinceOpen() {
        return StoreFolder.changeSince(file, bytes);
    }

    /** @return the reusable buffers a thread reads rows of this file (or any of the same row size) with */
    Cursor cursor() {
        return new Cursor(rowBytes);
    }

    /**
     * Reads row {@code row}, checks it against the key it was found under and decodes its
     * vector into {@code out[outOffset .. outOffset + d)}.
     *
     * @param cursor the calling thread's buffers
     * @param row the row, in [0, rows)
     * @param key the f-gram's index key (all of it)
     * @param tokens holds the f-gram, for a message
     * @param from its first token
     * @param len its length
     * @param out destination
     * @param outOffset where the vector goes
     * @throws FgramStoreCorruptedException when the row fails its checksum
     * @throws InternalError when a page of the mapping cannot be read (the file was cut)
     */
    void read(Cursor cursor, int row, byte[] key, int[] tokens, int from, int len, float[] out, int outOffset) {
        int c = row / rowsPerChunk;
        // One bulk copy out of the mapping: a page that is gone (the file was cut after open) raises
        // InternalError here, where checksumming the mapping in place would kill the JVM with SIGBUS.
        chunks[c].get((row - c * rowsPerChunk) * rowBytes, cursor.row, 0, rowBytes);
        CRC32C crc = cursor.crc;
        crc.reset();
        crc.update(key, 0, key.length);
        crc.update(cursor.row, 0, vectorBytes);
        if ((int) crc.getValue() != cursor.rowView.getInt(vectorBytes)) {
            throw StoreFolder.corrupted(file, "row " + row + " (f-gram "
                    + Arrays.toString(Arrays.copyOfRange(tokens, from, from + len)) + ") fails its checksum: the vector"
                    + " or the index entry is damaged");
        }
        if (dtype == VectorDtype.FLOAT32) {
            cursor.rowFloats.get(0, out, outOffset, d);
        } else {
            dtype.decode(cursor.rowView, 0, d, out, outOffset);
        }
    }

    /**
     * One thread's buffers for reading rows: a row, its views and a checksum. It holds no
     * reference to the mapping, so a closed store's per-thread buffers never keep its files mapped.
     */
    static final class Cursor {
        private final byte[] row;
        private final ByteBuffer rowView;
        private final FloatBuffer rowFloats;
        private final CRC32C crc = new CRC32C();

        private Cursor(int rowBytes) {
            row = new byte[rowBytes];
            rowView = ByteBuffer.wrap(row).order(ByteOrder.LITTLE_ENDIAN);
            rowFloats = rowView.asFloatBuffer();
        }
    }
}

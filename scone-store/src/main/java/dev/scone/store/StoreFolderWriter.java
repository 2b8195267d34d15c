package dev.scone.store;

import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.Temporaries;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;
import net.openhft.chronicle.map.ChronicleMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one store folder (a single store, or one shard of a sharded store) for
 * {@link FgramStoreWriter}: f-grams with their encoded keys and checked vectors go in, in any
 * order, each once; {@link #commit()} finishes the files, writes the manifest and publishes the
 * folder. Everything is written into a hidden temporary folder beside the target and renamed into
 * place only when complete, so a failure, an exception or a killed process leaves no store or the
 * previous one, never a half one that opens. Closing a writer that was not committed discards
 * what it wrote. Not thread-safe.
 */
final class StoreFolderWriter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StoreFolderWriter.class);
    private static final int BUFFER_BYTES = 1 << 20;

    /**
     * What a folder records besides its f-grams.
     *
     * @param embeddingSize d
     * @param dtype how vectors are stored
     * @param codec K and the token vocabulary's size, and the key encoding
     * @param tokenVocabularyFingerprint the token vocabulary's fingerprint
     * @param fgramVocabularyFingerprint V_fgram's fingerprint
     * @param modelFingerprint the fingerprint of the weights the vectors come from
     * @param mainModelFingerprint the serving weights' fingerprint
     */
    record Settings(int embeddingSize, VectorDtype dtype, FgramKeyCodec codec, String tokenVocabularyFingerprint,
            String fgramVocabularyFingerprint, String modelFingerprint, String mainModelFingerprint) {}

    private final Path target;
    private final Path tmpDir;
    private final Settings settings;
    private final long expectedEntries;
    private final byte[] modelBinding;
    private final byte[] vocabularyBinding;
    private final int rowBytes;
    private final int vectorBytes;
    private final FileChannel vectors;
    private final ChronicleMap<byte[], byte[]> index;
    private final ByteBuffer buffer;
    private final CRC32C crc = new CRC32C();
    private final byte[] scratchRow = new byte[4];
    private long count;
    private boolean finished;

    /**
     * Starts writing: creates the hidden temporary folder (removing a killed writer's leftovers),
     * the vector file and the index sized for {@code expectedEntries}.
     */
    StoreFolderWriter(Path target, Settings settings, long expectedEntries) throws IOException {
        this(target, settings, expectedEntries, expectedEntries);
    }

    /** As above, with the index sized for {@code indexEntries} (tests: fewer, to make Chronicle chain tiers). */
    StoreFolderWriter(Path target, Settings settings, long expectedEntries, long indexEntries) throws IOException {
        this.target = target;
        this.settings = settings;
        this.expectedEntries = expectedEntries;
        this.modelBinding = StoreManifest.bindingOf(settings.modelFingerprint());
        this.vocabularyBinding = Arrays.copyOf(StoreManifest.bindingOf(settings.fgramVocabularyFingerprint()),
                StoreLayout.VOCABULARY_BYTES);
        this.rowBytes = StoreLayout.rowBytes(settings.dtype(), settings.embeddingSize());
        this.vectorBytes = settings.dtype().vectorBytes(settings.embeddingSize());
        Files.createDirectories(target.getParent());
        this.tmpDir = Temporaries.createFolder(target); // also removes the leftovers of a killed writer
        FileChannel ch = null;
        try {
            ch = FileChannel.open(tmpDir.resolve(StoreLayout.VECTORS), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            // rewritten with the row count at commit
            ch.write(header(0), 0);
            ch.position(StoreLayout.HEADER_BYTES);
            this.vectors = ch;
            this.index = StoreLayout.indexBuilder(settings.codec(), indexEntries)
                    .createPersistedTo(tmpDir.resolve(StoreLayout.INDEX).toFile());
        } catch (IOException | RuntimeException e) {
            if (ch != null) {
                ch.close();
            }
            deleteTree(tmpDir);
            throw e;
        }
        this.buffer = ByteBuffer.allocate(Math.max(BUFFER_BYTES, rowBytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Adds one f-gram, already checked: its encoded key and its finite vector.
     *
     * @return {@code false} when the key was added before (nothing is written then)
     * @throws IllegalArgumentException when the folder already holds its expected entries
     * @throws IOException when writing fails
     */
    boolean add(byte[] key, float[] vectors, int vectorOffset) throws IOException {
        int pos = reserve(key);
        if (pos < 0) {
            return false;
        }
        settings.dtype().encode(vectors, vectorOffset, settings.embeddingSize(), buffer, pos);
        finishRow(key, pos);
        return true;
    }

    /**
     * Adds one f-gram, already checked: its encoded key and its vector encoded in this folder's
     * dtype ({@code vectorBytes} bytes from {@code offset}), written as it is.
     *
     * @return {@code false} when the key was added before (nothing is written then)
     * @throws IllegalArgumentException when the folder already holds its expected entries
     * @throws IOException when writing fails
     */
    boolean addEncoded(byte[] key, byte[] encoded, int offset) throws IOException {
        int pos = reserve(key);
        if (pos < 0) {
            return false;
        }
        buffer.put(pos, encoded, offset, vectorBytes);
        finishRow(key, pos);
        return true;
    }

    /** @return how vectors are encoded */
    VectorDtype dtype() {
        return settings.dtype();
    }

    /**
     * Puts a new key in the index under the next row and makes room for the row in the buffer.
     *
     * @return where the row's vector goes in the buffer, or -1 when the key was added before
     */
    private int reserve(byte[] key) throws IOException {
        if (count >= expectedEntries) {
            throw new IllegalArgumentException("more f-grams than the " + expectedEntries + " expected entries");
        }
        int row = (int) count;
        scratchRow[0] = (byte) row;
        scratchRow[1] = (byte) (row >>> 8);
        scratchRow[2] = (byte) (row >>> 16);
        scratchRow[3] = (byte) (row >>> 24);
        if (index.putIfAbsent(key, scratchRow) != null) { // Chronicle copies the bytes
            return -1;
        }
        if (buffer.remaining() < rowBytes) {
            flush();
        }
        return buffer.position();
    }

    /** Ends the row whose vector is at {@code pos}: its CRC32C over (key, vector). */
    private void finishRow(byte[] key, int pos) {
        crc.reset();
        crc.update(key);
        crc.update(buffer.array(), pos, vectorBytes);
        buffer.putInt(pos + vectorBytes, (int) crc.getValue());
        buffer.position(pos + rowBytes);
        count++;
    }

    /**
     * Finishes the files, forces them to disk and renames the folder into place (replacing a
     * previous store there). The writer is closed afterwards.
     *
     * @return the manifest written
     * @throws IOException when finishing or publishing fails; no store is then published
     */
    StoreManifest commit() throws IOException {
        boolean ok = false;
        try {
            flush();
            vectors.write(header(count), 0);
            long vectorFileBytes = StoreLayout.HEADER_BYTES + count * rowBytes;
            vectors.force(true);
            vectors.close();
            index.close();
            Path indexFile = tmpDir.resolve(StoreLayout.INDEX);
            force(indexFile);
            long indexCrc = StoreLayout.crc32cOf(indexFile);
            Settings s = settings;
            StoreManifest m = new StoreManifest(StoreManifest.FORMAT_VERSION, s.embeddingSize(), s.dtype(),
                    s.codec().maxN(), count, s.codec().tokenVocabularySize(), s.tokenVocabularyFingerprint(),
                    s.fgramVocabularyFingerprint(), s.modelFingerprint(), s.mainModelFingerprint(), vectorFileBytes,
                    indexCrc);
            m.write(tmpDir.resolve(StoreManifest.FILE_NAME));
            force(tmpDir.resolve(StoreManifest.FILE_NAME));
            AtomicFiles.forceFolder(tmpDir);
            // A crash between its two renames leaves no store, never a mix; the next writer cleans up.
            Temporaries.publishFolder(tmpDir, target, t -> Files.exists(t.resolve(StoreManifest.FILE_NAME)),
                    "an f-gram store");
            ok = true;
            LOG.info("{}: wrote {} f-grams, d={}, {}", target, count, s.embeddingSize(), s.dtype());
            return m;
        } finally {
            finished = true;
            if (!ok) {
                abort();
            }
        }
    }

    /** Discards everything written unless {@link #commit()} succeeded. Throws nothing. */
    @Override
    public void close() {
        if (!finished) {
            finished = true;
            abort();
        }
    }

    private ByteBuffer header(long rows) {
        return StoreLayout.header(settings.dtype(), settings.embeddingSize(), rows, modelBinding, vocabularyBinding);
    }

    private void flush() throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) {
            vectors.write(buffer);
        }
        buffer.clear();
    }

    private void abort() {
        try {
            vectors.close();
        } catch (IOException | RuntimeException e) {
            LOG.debug("closing the vector file", e);
        }
        try {
            if (!index.isClosed()) {
                index.close();
            }
        } catch (RuntimeException e) {
            LOG.debug("closing the index", e);
        }
        deleteTree(tmpDir);
    }

    private static void force(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    private static void deleteTree(Path dir) {
        try {
            Temporaries.deleteTree(dir);
        } catch (IOException e) {
            LOG.warn("could not delete {}", dir, e);
        }
    }
}

package dev.scone.store;

import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.Temporaries;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Objects;
import java.util.zip.CRC32C;
import net.openhft.chronicle.map.ChronicleMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes an f-gram store folder: (f-gram, vector) pairs go in, in any order, each f-gram once;
 * {@link #commit()} publishes the folder. Everything is written into a hidden temporary folder
 * beside the target and renamed into place only when complete, so a failure, an exception or a
 * killed process leaves no store or the previous one, never a half one that opens. Closing a
 * writer that was not committed discards what it wrote.
 *
 * <p>Vectors are (d) floats; a batch of n is row-major (n, d). Not thread-safe.
 *
 * <p>The manifest (format {@value StoreManifest#FORMAT_VERSION}) records the fingerprints given
 * to the builder; the vector file's header records the model and f-gram vocabulary fingerprints
 * too, so that the vector file is refused by any store whose manifest names another model.
 *
 * <pre>{@code
 * try (FgramStoreWriter w = FgramStoreWriter.builder()
 *         .setPath(dir).optVocabulary(vocab).setEmbeddingSize(256).optDtype(VectorDtype.BFLOAT16)
 *         .optTokenVocabularyFingerprint(tokFp).optModelFingerprint(modelFp).optMainModelFingerprint(mainFp).build()) {
 *     w.addBatch(fgramIds, vectors);
 *     w.commit();
 * }
 * }</pre>
 */
public final class FgramStoreWriter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FgramStoreWriter.class);
    private static final String UNSPECIFIED = StoreManifest.UNSPECIFIED;
    private static final int BUFFER_BYTES = 1 << 20;

    private final Path target;
    private final Path tmpDir;
    private final int d;
    private final VectorDtype dtype;
    private final long expectedEntries;
    private final FgramVocabulary vocabulary;
    private final FgramKeyCodec codec;
    private final String tokenFingerprint;
    private final String fgramFingerprint;
    private final String modelFingerprint;
    private final String mainModelFingerprint;
    private final byte[] modelBinding;
    private final byte[] vocabularyBinding;
    private final int rowBytes;
    private final int vectorBytes;
    private final FileChannel vectors;
    private final ChronicleMap<byte[], byte[]> index;
    private final ByteBuffer buffer;
    private final CRC32C crc = new CRC32C();
    private final int[] scratchTokens;
    private final byte[][] scratchKeys; // by length; Chronicle copies the bytes on insert
    private final byte[] scratchRow = new byte[4];
    private long count;
    private boolean failed;
    private boolean finished;

    private FgramStoreWriter(Builder b, VectorDtype dtype, long expected) throws IOException {
        this.target = b.path.toAbsolutePath().normalize();
        this.d = b.embeddingSize;
        this.dtype = dtype;
        this.expectedEntries = expected;
        this.vocabulary = b.vocabulary;
        this.codec = new FgramKeyCodec(b.tokenVocabularySize, b.maxN);
        this.tokenFingerprint = b.tokenVocabularyFingerprint;
        this.fgramFingerprint = b.fgramVocabularyFingerprint;
        this.modelFingerprint = b.modelFingerprint;
        this.mainModelFingerprint = b.mainModelFingerprint;
        this.modelBinding = StoreManifest.bindingOf(modelFingerprint);
        this.vocabularyBinding = Arrays.copyOf(StoreManifest.bindingOf(fgramFingerprint), StoreLayout.VOCABULARY_BYTES);
        this.rowBytes = StoreLayout.rowBytes(dtype, d);
        this.vectorBytes = dtype.vectorBytes(d);
        this.scratchTokens = new int[b.maxN];
        this.scratchKeys = new byte[b.maxN + 1][];
        for (int n = FgramVocabulary.MIN_N; n <= b.maxN; n++) {
            scratchKeys[n] = new byte[codec.keyBytes(n)];
        }
        Path parent = target.getParent();
        Files.createDirectories(parent);
        this.tmpDir = Temporaries.createFolder(target); // also removes the leftovers of a killed writer
        FileChannel ch = null;
        try {
            ch = FileChannel.open(tmpDir.resolve(StoreLayout.VECTORS), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            // rewritten with the row count at commit
            ch.write(StoreLayout.header(dtype, d, 0, modelBinding, vocabularyBinding), 0);
            ch.position(StoreLayout.HEADER_BYTES);
            this.vectors = ch;
            this.index = StoreLayout.indexBuilder(codec, expected)
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

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the number of f-grams added so far */
    public long count() {
        return count;
    }

    /**
     * Adds one f-gram.
     *
     * @param tokens the f-gram's token ids (length 2..K)
     * @param vector its (d) vector
     * @throws IllegalArgumentException for a bad length, token id, vector size, a non-finite
     *     element, a duplicate f-gram, or more f-grams than expected
     * @throws IOException when writing fails (the writer is then unusable)
     */
    public void add(int[] tokens, float[] vector) throws IOException {
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(vector, "vector");
        if (vector.length != d) {
            throw new IllegalArgumentException("vector has " + vector.length + " elements, expected d = " + d);
        }
        add(tokens, 0, tokens.length, vector, 0);
    }

    /**
     * Adds one f-gram given as {@code tokens[from .. from + len)} with its vector at
     * {@code vectors[vectorOffset .. vectorOffset + d)}.
     *
     * @param tokens token ids
     * @param from first token
     * @param len f-gram length (2..K)
     * @param vectors array holding the vector
     * @param vectorOffset where it starts
     * @throws IOException when writing fails
     */
    public void add(int[] tokens, int from, int len, float[] vectors, int vectorOffset) throws IOException {
        checkOpen();
        if (len < FgramVocabulary.MIN_N || len > codec.maxN()) {
            throw new IllegalArgumentException("f-gram length " + len + " is outside [" + FgramVocabulary.MIN_N + ", "
                    + codec.maxN() + "]");
        }
        Objects.checkFromIndexSize(from, len, tokens.length);
        Objects.checkFromIndexSize(vectorOffset, d, vectors.length);
        codec.checkTokens(tokens, from, len);
        for (int i = 0; i < d; i++) {
            if (!Float.isFinite(vectors[vectorOffset + i])) {
                throw new IllegalArgumentException("vector of f-gram " + describe(tokens, from, len) + " has element "
                        + i + " = " + vectors[vectorOffset + i]);
            }
        }
        if (count >= expectedEntries) {
            throw new IllegalArgumentException("more f-grams than the " + expectedEntries + " expected entries");
        }
        byte[] key = scratchKeys[len];
        codec.encode(tokens, from, len, key);
        int row = (int) count;
        scratchRow[0] = (byte) row;
        scratchRow[1] = (byte) (row >>> 8);
        scratchRow[2] = (byte) (row >>> 16);
        scratchRow[3] = (byte) (row >>> 24);
        if (index.putIfAbsent(key, scratchRow) != null) {
            throw new IllegalArgumentException("f-gram " + describe(tokens, from, len) + " was already added");
        }
        try {
            if (buffer.remaining() < rowBytes) {
                flush();
            }
            int pos = buffer.position();
            dtype.encode(vectors, vectorOffset, d, buffer, pos);
            crc.reset();
            crc.update(key);
            crc.update(buffer.array(), pos, vectorBytes);
            buffer.putInt(pos + vectorBytes, (int) crc.getValue());
            buffer.position(pos + rowBytes);
        } catch (IOException | RuntimeException e) {
            failed = true;
            throw e;
        }
        count++;
    }

    /**
     * Adds one f-gram of the builder's vocabulary by id.
     *
     * @param fgramId id in the vocabulary
     * @param vectors array holding the vector
     * @param vectorOffset where it starts
     * @throws IllegalStateException when the builder was given no vocabulary
     * @throws IOException when writing fails
     */
    public void add(int fgramId, float[] vectors, int vectorOffset) throws IOException {
        if (vocabulary == null) {
            throw new IllegalStateException("adding by f-gram id needs the builder's vocabulary(...)");
        }
        int len = vocabulary.copyTokens(fgramId, scratchTokens, 0);
        add(scratchTokens, 0, len, vectors, vectorOffset);
    }

    /**
     * Adds a batch of f-grams by id.
     *
     * @param fgramIds ids in the builder's vocabulary
     * @param vectors (n, d) row-major
     * @throws IOException when writing fails
     */
    public void addBatch(int[] fgramIds, float[] vectors) throws IOException {
        if ((long) fgramIds.length * d != vectors.length) {
            throw new IllegalArgumentException(fgramIds.length + " f-grams need " + (long) fgramIds.length * d
                    + " floats, got " + vectors.length);
        }
        for (int i = 0; i < fgramIds.length; i++) {
            add(fgramIds[i], vectors, i * d);
        }
    }

    /**
     * Adds a batch of f-grams given by their tokens.
     *
     * @param fgrams the f-grams' token ids
     * @param vectors (n, d) row-major
     * @throws IOException when writing fails
     */
    public void addBatch(int[][] fgrams, float[] vectors) throws IOException {
        if ((long) fgrams.length * d != vectors.length) {
            throw new IllegalArgumentException(fgrams.length + " f-grams need " + (long) fgrams.length * d
                    + " floats, got " + vectors.length);
        }
        for (int i = 0; i < fgrams.length; i++) {
            add(fgrams[i], 0, fgrams[i].length, vectors, i * d);
        }
    }

    /**
     * Finishes the files, forces them to disk and renames the folder into place (replacing a
     * previous store there). The writer is closed afterwards.
     *
     * @return the manifest written
     * @throws IOException when finishing or publishing fails; no store is then published
     */
    public StoreManifest commit() throws IOException {
        checkOpen();
        if (vocabulary != null && count != vocabulary.size()) {
            LOG.warn("{}: committing {} f-grams of a vocabulary of {}", target, count, vocabulary.size());
        }
        boolean ok = false;
        try {
            flush();
            vectors.write(StoreLayout.header(dtype, d, count, modelBinding, vocabularyBinding), 0);
            long vectorFileBytes = StoreLayout.HEADER_BYTES + count * rowBytes;
            vectors.force(true);
            vectors.close();
            index.close();
            Path indexFile = tmpDir.resolve(StoreLayout.INDEX);
            force(indexFile);
            long indexCrc = StoreLayout.crc32cOf(indexFile);
            StoreManifest m = new StoreManifest(StoreManifest.FORMAT_VERSION, d, dtype, codec.maxN(), count,
                    codec.tokenVocabularySize(), tokenFingerprint, fgramFingerprint, modelFingerprint,
                    mainModelFingerprint, vectorFileBytes, indexCrc);
            m.write(tmpDir.resolve(StoreManifest.FILE_NAME));
            force(tmpDir.resolve(StoreManifest.FILE_NAME));
            AtomicFiles.forceFolder(tmpDir);
            publish();
            ok = true;
            LOG.info("{}: wrote {} f-grams, d={}, {}", target, count, d, dtype);
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

    private void publish() throws IOException {
        // A crash between its two renames leaves no store, never a mix; the next writer cleans up.
        Temporaries.publishFolder(tmpDir, target, t -> Files.exists(t.resolve(StoreManifest.FILE_NAME)),
                "an f-gram store");
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

    private void checkOpen() {
        if (finished) {
            throw new IllegalStateException("writer for " + target + " is closed");
        }
        if (failed) {
            throw new IllegalStateException("writer for " + target + " failed earlier; close it and start again");
        }
    }

    private static String describe(int[] tokens, int from, int len) {
        return Arrays.toString(Arrays.copyOfRange(tokens, from, from + len));
    }

    private static void force(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }


    static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            Temporaries.deleteTree(dir);
        } catch (IOException e) {
            LOG.warn("could not delete {}", dir, e);
        }
    }

    /**
     * Configures a {@link FgramStoreWriter}. Required: {@link Builder#setPath}, {@link Builder#setEmbeddingSize},
     * and either {@link Builder#optVocabulary} or all of {@link Builder#optMaxN}, {@link Builder#optTokenVocabularySize},
     * {@link Builder#optExpectedEntries}.
     */
    public static final class Builder {
        private Path path;
        private int embeddingSize = -1;
        private VectorDtype dtype;
        private int maxN = -1;
        private int tokenVocabularySize = -1;
        private long expectedEntries = -1;
        private FgramVocabulary vocabulary;
        private String tokenVocabularyFingerprint = UNSPECIFIED;
        private String fgramVocabularyFingerprint;
        private String modelFingerprint = UNSPECIFIED;
        private String mainModelFingerprint = UNSPECIFIED;

        private Builder() {}

        /** @param storeFolder the store folder to create or replace @return this */
        public Builder setPath(Path storeFolder) {
            this.path = Objects.requireNonNull(storeFolder, "path");
            return this;
        }

        /** @param d the vector length (&gt;= 1) @return this */
        public Builder setEmbeddingSize(int d) {
            this.embeddingSize = d;
            return this;
        }

        /**
         * @param value how vectors are stored; when not set: {@link VectorDtype#FLOAT32} for
         *     stores whose float32 payload is at most 1 GiB, else {@link VectorDtype#BFLOAT16}
         * @return this
         */
        public Builder optDtype(VectorDtype value) {
            this.dtype = Objects.requireNonNull(value, "dtype");
            return this;
        }

        /** @param k the longest f-gram length (&gt;= 2) @return this */
        public Builder optMaxN(int k) {
            this.maxN = k;
            return this;
        }

        /** @param size the token vocabulary size (&gt;= 1) @return this */
        public Builder optTokenVocabularySize(int size) {
            this.tokenVocabularySize = size;
            return this;
        }

        /** @param entries the most f-grams that will be added (sizes the index) @return this */
        public Builder optExpectedEntries(long entries) {
            this.expectedEntries = entries;
            return this;
        }

        /**
         * Takes K, the token vocabulary size, the expected entries and the f-gram fingerprint
         * from the vocabulary (unless set explicitly) and allows adding by f-gram id.
         *
         * @param value the f-gram vocabulary
         * @return this
         */
        public Builder optVocabulary(FgramVocabulary value) {
            this.vocabulary = Objects.requireNonNull(value, "vocabulary");
            return this;
        }

        /** @param fingerprint fingerprint of the token vocabulary (default "unspecified") @return this */
        public Builder optTokenVocabularyFingerprint(String fingerprint) {
            this.tokenVocabularyFingerprint = fingerprint;
            return this;
        }

        /** @param fingerprint fingerprint of V_fgram (default: the vocabulary's, else "unspecified") @return this */
        public Builder optFgramVocabularyFingerprint(String fingerprint) {
            this.fgramVocabularyFingerprint = fingerprint;
            return this;
        }

        /**
         * @param fingerprint fingerprint of the weights the vectors come from (T and A_fgram;
         *     default "unspecified"); the vector file's header records it too
         * @return this
         */
        public Builder optModelFingerprint(String fingerprint) {
            this.modelFingerprint = fingerprint;
            return this;
        }

        /**
         * @param fingerprint fingerprint of the serving weights (token embedding, positions,
         *     decoder, output head: everything but A_fgram) of the model whose A_fgram produced
         *     the vectors (default "unspecified"), so that a store is refused for another main model
         * @return this
         */
        public Builder optMainModelFingerprint(String fingerprint) {
            this.mainModelFingerprint = fingerprint;
            return this;
        }

        /**
         * Checks the configuration and starts the write (creating the temporary folder and index).
         *
         * @return the writer
         * @throws IllegalArgumentException naming the first bad or missing setting
         * @throws IOException when the temporary folder or index cannot be created
         */
        public FgramStoreWriter build() throws IOException {
            if (path == null) {
                throw new IllegalArgumentException("path is required");
            }
            if (embeddingSize < 1) {
                throw new IllegalArgumentException("embeddingSize must be >= 1, got " + embeddingSize);
            }
            if (vocabulary != null) {
                if (maxN < 0) {
                    maxN = vocabulary.maxN();
                }
                if (tokenVocabularySize < 0) {
                    tokenVocabularySize = vocabulary.tokenVocabularySize();
                }
                if (expectedEntries < 0) {
                    expectedEntries = vocabulary.size();
                }
                if (fgramVocabularyFingerprint == null) {
                    fgramVocabularyFingerprint = vocabulary.fingerprint();
                }
                if (maxN != vocabulary.maxN() || tokenVocabularySize != vocabulary.tokenVocabularySize()) {
                    throw new IllegalArgumentException("maxN " + maxN + " / tokenVocabularySize " + tokenVocabularySize
                            + " contradict the vocabulary's " + vocabulary.maxN() + " / "
                            + vocabulary.tokenVocabularySize());
                }
            }
            if (fgramVocabularyFingerprint == null) {
                fgramVocabularyFingerprint = UNSPECIFIED;
            }
            if (maxN < FgramVocabulary.MIN_N) {
                throw new IllegalArgumentException("maxN must be >= " + FgramVocabulary.MIN_N + ", got " + maxN);
            }
            if (tokenVocabularySize < 1) {
                throw new IllegalArgumentException("tokenVocabularySize must be >= 1, got " + tokenVocabularySize);
            }
            if (expectedEntries < 0 || expectedEntries > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("expectedEntries must be in [0, " + Integer.MAX_VALUE + "], got "
                        + expectedEntries);
            }
            checkFingerprint("tokenVocabularyFingerprint", tokenVocabularyFingerprint);
            checkFingerprint("fgramVocabularyFingerprint", fgramVocabularyFingerprint);
            checkFingerprint("modelFingerprint", modelFingerprint);
            checkFingerprint("mainModelFingerprint", mainModelFingerprint);
            VectorDtype chosen = dtype != null ? dtype
                    : expectedEntries * embeddingSize * 4L <= StoreLayout.CHUNK_BYTES ? VectorDtype.FLOAT32
                            : VectorDtype.BFLOAT16;
            return new FgramStoreWriter(this, chosen, expectedEntries);
        }

        private static void checkFingerprint(String name, String value) {
            if (value == null || value.isBlank() || value.chars().anyMatch(c -> c == '\n' || c == '\r')) {
                throw new IllegalArgumentException(name + " must be one non-blank line, got '" + value + "'");
            }
        }
    }
}

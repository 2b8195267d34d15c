package dev.scone.store;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes an f-gram store: (f-gram, vector) pairs go in, in any order, each f-gram once;
 * {@link #commit()} publishes the store. A single store folder by default; with
 * {@link Builder#optShards} above 1 a sharded store, every f-gram routed to its shard's folder
 * and the sharded manifest written last (the steps a distributed writer takes one by one are in
 * {@link ShardedFgramStoreWriter}). Each folder is written into a hidden temporary folder beside
 * its target and renamed into place only when complete, so a failure, an exception or a killed
 * process leaves no store or the previous one, never a half one that opens. Closing a writer that
 * was not committed discards what it wrote.
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

    private final Path target;
    private final int d;
    private final FgramVocabulary vocabulary;
    private final FgramKeyCodec codec;
    private final StoreFolderWriter[] shards;
    private final int[] scratchTokens;
    private final byte[][] scratchKeys; // by length
    private final float[] scratchVector;
    private long count;
    private boolean failed;
    private boolean finished;

    private FgramStoreWriter(Path target, StoreFolderWriter.Settings settings, FgramVocabulary vocabulary,
            long expectedEntries, int shardCount) throws IOException {
        this.target = target;
        this.d = settings.embeddingSize();
        this.vocabulary = vocabulary;
        this.codec = settings.codec();
        this.scratchTokens = new int[codec.maxN()];
        this.scratchVector = new float[d];
        this.scratchKeys = new byte[codec.maxN() + 1][];
        for (int n = FgramVocabulary.MIN_N; n <= codec.maxN(); n++) {
            scratchKeys[n] = new byte[codec.keyBytes(n)];
        }
        this.shards = new StoreFolderWriter[shardCount];
        if (shardCount == 1) {
            shards[0] = new StoreFolderWriter(target, settings, expectedEntries);
            return;
        }
        ShardedFgramStoreWriter.prepare(target);
        long[] sizes = ShardedFgramStoreWriter.shardSizes(vocabulary, shardCount);
        try {
            for (int s = 0; s < shardCount; s++) {
                shards[s] = new StoreFolderWriter(target.resolve(ShardedStoreManifest.shardFolder(s)), settings,
                        sizes[s]);
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
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
     * @throws IllegalArgumentException for a bad length, token id, a non-finite element, a
     *     duplicate f-gram, or more f-grams than expected
     * @throws IOException when writing fails (the writer is then unusable)
     */
    public void add(int[] tokens, int from, int len, float[] vectors, int vectorOffset) throws IOException {
        checkOpen();
        checkFgram(tokens, from, len);
        Objects.checkFromIndexSize(vectorOffset, d, vectors.length);
        for (int i = 0; i < d; i++) {
            if (!Float.isFinite(vectors[vectorOffset + i])) {
                throw new IllegalArgumentException("vector of f-gram " + describe(tokens, from, len) + " has element "
                        + i + " = " + vectors[vectorOffset + i]);
            }
        }
        put(tokens, from, len, vectors, vectorOffset, null, 0);
    }

    /**
     * Adds one f-gram with its vector already encoded in the store's {@link #dtype()}
     * ({@link VectorDtype#encode}, {@link VectorDtype#vectorBytes} bytes): how a distributed
     * precompute ships its rows to the shard writers, in the store's size. The encoded vector is
     * written as it is, after checking that it decodes to finite values.
     *
     * @param tokens token ids
     * @param from first token
     * @param len f-gram length (2..K)
     * @param encoded array holding the encoded vector
     * @param encodedOffset where it starts
     * @throws IllegalArgumentException for a bad length, token id, a vector that does not decode
     *     to finite values, a duplicate f-gram, or more f-grams than expected
     * @throws IOException when writing fails (the writer is then unusable)
     */
    public void addEncoded(int[] tokens, int from, int len, byte[] encoded, int encodedOffset) throws IOException {
        checkOpen();
        checkFgram(tokens, from, len);
        VectorDtype dtype = dtype();
        Objects.checkFromIndexSize(encodedOffset, dtype.vectorBytes(d), encoded.length);
        float[] decoded = scratchVector;
        dtype.decode(java.nio.ByteBuffer.wrap(encoded).order(java.nio.ByteOrder.LITTLE_ENDIAN), encodedOffset, d,
                decoded, 0);
        for (int i = 0; i < d; i++) {
            if (!Float.isFinite(decoded[i])) {
                throw new IllegalArgumentException("encoded vector of f-gram " + describe(tokens, from, len)
                        + " has element " + i + " = " + decoded[i]);
            }
        }
        put(tokens, from, len, null, 0, encoded, encodedOffset);
    }

    /** @return how the store encodes vectors */
    public VectorDtype dtype() {
        return shards[0].dtype();
    }

    /** @return d, the vector length */
    public int embeddingSize() {
        return d;
    }

    private void checkFgram(int[] tokens, int from, int len) {
        if (len < FgramVocabulary.MIN_N || len > codec.maxN()) {
            throw new IllegalArgumentException("f-gram length " + len + " is outside [" + FgramVocabulary.MIN_N + ", "
                    + codec.maxN() + "]");
        }
        Objects.checkFromIndexSize(from, len, tokens.length);
        codec.checkTokens(tokens, from, len);
    }

    /** Adds a checked f-gram with its vector, as floats or ({@code vectors == null}) encoded. */
    private void put(int[] tokens, int from, int len, float[] vectors, int vectorOffset, byte[] encoded,
            int encodedOffset) throws IOException {
        byte[] key = scratchKeys[len];
        codec.encode(tokens, from, len, key);
        StoreFolderWriter shard = shards[shards.length == 1 ? 0 : ShardedStoreManifest.shardOf(tokens, from, len,
                shards.length)];
        boolean added;
        try {
            added = vectors != null ? shard.add(key, vectors, vectorOffset) : shard.addEncoded(key, encoded,
                    encodedOffset);
        } catch (IllegalArgumentException e) {
            throw e; // nothing was written
        } catch (IOException | RuntimeException e) {
            failed = true;
            throw e;
        }
        if (!added) {
            throw new IllegalArgumentException("f-gram " + describe(tokens, from, len) + " was already added");
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
     * Finishes the files, forces them to disk and renames each folder into place (replacing a
     * previous store there); for a sharded store, then writes the sharded manifest. The writer is
     * closed afterwards.
     *
     * @return the manifest written: a {@link StoreManifest}, or for a sharded store a
     *     {@link ShardedStoreManifest}
     * @throws IOException when finishing or publishing fails; no store is then published
     */
    public StoreDescription commit() throws IOException {
        checkOpen();
        if (vocabulary != null && count != vocabulary.size()) {
            LOG.warn("{}: committing {} f-grams of a vocabulary of {}", target, count, vocabulary.size());
        }
        try {
            if (shards.length == 1) {
                return shards[0].commit();
            }
            for (StoreFolderWriter w : shards) {
                w.commit();
            }
            return ShardedFgramStoreWriter.publish(target, shards.length);
        } finally {
            finished = true;
            close();
        }
    }

    /** Discards every folder not yet committed. Throws nothing. */
    @Override
    public void close() {
        finished = true;
        for (StoreFolderWriter w : shards) {
            if (w != null) {
                w.close();
            }
        }
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

    /**
     * Configures a {@link FgramStoreWriter}. Required: {@link Builder#setPath}, {@link Builder#setEmbeddingSize},
     * and either {@link Builder#optVocabulary} or all of {@link Builder#optMaxN}, {@link Builder#optTokenVocabularySize},
     * {@link Builder#optExpectedEntries}; a sharded store ({@link Builder#optShards} above 1) needs the vocabulary.
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
        private int shards = 1;

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

        /**
         * @param value the number of shards (default 1: a single store folder); above 1 the
         *     folder becomes a sharded store ({@link ShardedFgramStore}) of that many shards, each
         *     f-gram in shard {@link ShardedStoreManifest#shardOf shardOf(g)}
         * @return this
         */
        public Builder optShards(int value) {
            this.shards = value;
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
            if (shards < 1) {
                throw new IllegalArgumentException("shards must be >= 1, got " + shards);
            }
            if (shards > 1 && vocabulary == null) {
                throw new IllegalArgumentException("a sharded store needs the vocabulary (optVocabulary) to size its"
                        + " shards");
            }
            VectorDtype chosen = dtype != null ? dtype
                    : expectedEntries * embeddingSize * 4L <= StoreLayout.CHUNK_BYTES ? VectorDtype.FLOAT32
                            : VectorDtype.BFLOAT16;
            StoreFolderWriter.Settings settings = new StoreFolderWriter.Settings(embeddingSize, chosen,
                    new FgramKeyCodec(tokenVocabularySize, maxN), tokenVocabularyFingerprint,
                    fgramVocabularyFingerprint, modelFingerprint, mainModelFingerprint);
            return new FgramStoreWriter(path.toAbsolutePath().normalize(), settings, vocabulary, expectedEntries,
                    shards);
        }

        private static void checkFingerprint(String name, String value) {
            if (value == null || value.isBlank() || value.chars().anyMatch(c -> c == '\n' || c == '\r')) {
                throw new IllegalArgumentException(name + " must be one non-blank line, got '" + value + "'");
            }
        }
    }
}

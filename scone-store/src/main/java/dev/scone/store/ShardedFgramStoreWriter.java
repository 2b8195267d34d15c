package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Writes a sharded f-gram store: N ordinary store folders ({@code shard-00000}, ...) and a
 * {@link ShardedStoreManifest} listing them. Shards can be written by different processes
 * (a Spark job writes one per task) with {@link #shardWriter} and then published together by
 * {@link #publish}; or, in one process, through an instance ({@link #builder()}) that routes
 * every f-gram to its shard.
 *
 * <p>Publishing happens last: until the sharded manifest is written the folder is not a store,
 * and a shard replaced later no longer matches its listed fingerprint, so a half-written or
 * mixed store is never served.
 *
 * <pre>{@code
 * try (ShardedFgramStoreWriter w = ShardedFgramStoreWriter.builder().setPath(dir).setVocabulary(vocab)
 *         .setShards(8).setEmbeddingSize(256).optDtype(VectorDtype.BFLOAT16)
 *         .optTokenVocabularyFingerprint(tokFp).optModelFingerprint(modelFp).build()) {
 *     w.add(fgramId, vectors, 0);
 *     w.commit();
 * }
 * }</pre>
 */
public final class ShardedFgramStoreWriter implements AutoCloseable {

    private final Path dir;
    private final FgramVocabulary vocabulary;
    private final FgramStoreWriter[] shards;
    private final int[] scratch;
    private boolean finished;

    private ShardedFgramStoreWriter(Builder b) throws IOException {
        this.dir = b.path.toAbsolutePath().normalize();
        this.vocabulary = b.vocabulary;
        this.scratch = new int[vocabulary.maxN()];
        this.shards = new FgramStoreWriter[b.shards];
        prepare(dir);
        try {
            for (int s = 0; s < b.shards; s++) {
                FgramStoreWriter.Builder w = shardWriter(dir, s, b.shards, vocabulary).setEmbeddingSize(b.embeddingSize)
                        .optTokenVocabularyFingerprint(b.tokenVocabularyFingerprint).optModelFingerprint(b.modelFingerprint)
                        .optMainModelFingerprint(b.mainModelFingerprint);
                if (b.dtype != null) {
                    w.optDtype(b.dtype);
                }
                shards[s] = w.build();
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

    /**
     * Removes the sharded manifest of a previous store in {@code dir}, if any, so that the folder
     * is not served while its shards are rewritten.
     *
     * @param dir the sharded store folder
     * @throws IOException when it cannot be removed
     */
    public static void prepare(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(ShardedStoreManifest.FILE_NAME));
    }

    /**
     * @param vocabulary the whole f-gram vocabulary
     * @param shards the number of shards, at least 1
     * @return how many of its f-grams each shard holds
     */
    public static long[] shardSizes(FgramVocabulary vocabulary, int shards) {
        checkShards(shards);
        long[] sizes = new long[shards];
        int[] g = new int[vocabulary.maxN()];
        for (int id = 0; id < vocabulary.size(); id++) {
            int n = vocabulary.copyTokens(id, g, 0);
            sizes[ShardedStoreManifest.shardOf(g, 0, n, shards)]++;
        }
        return sizes;
    }

    /**
     * A writer for one shard, set up for its place in the sharded store: its folder, K, the token
     * vocabulary size, its expected entries and the whole vocabulary's fingerprint. The caller
     * sets the embedding size, dtype and fingerprints, adds exactly the f-grams of that shard by
     * their tokens, and commits.
     *
     * @param dir the sharded store folder
     * @param shard the shard, in {@code [0, shards)}
     * @param shards the number of shards
     * @param vocabulary the whole f-gram vocabulary
     * @return the configured builder
     */
    public static FgramStoreWriter.Builder shardWriter(Path dir, int shard, int shards, FgramVocabulary vocabulary) {
        checkShards(shards);
        Objects.checkIndex(shard, shards);
        return FgramStoreWriter.builder().setPath(dir.resolve(ShardedStoreManifest.shardFolder(shard)))
                .optMaxN(vocabulary.maxN()).optTokenVocabularySize(vocabulary.tokenVocabularySize())
                .optExpectedEntries(shardSizes(vocabulary, shards)[shard])
                .optFgramVocabularyFingerprint(vocabulary.fingerprint());
    }

    /**
     * Checks that the {@code shards} shard folders in {@code dir} were written for the same store
     * (same d, dtype, K, token vocabulary, f-gram vocabulary, model and main model) and writes the sharded
     * manifest listing them with their fingerprints.
     *
     * @param dir the sharded store folder
     * @param shards the number of shards
     * @return the manifest written
     * @throws SconeFormatException when a shard is missing, damaged, or disagrees with shard 0
     * @throws IOException when reading or writing fails
     */
    public static ShardedStoreManifest publish(Path dir, int shards) throws IOException {
        checkShards(shards);
        List<ShardedStoreManifest.Shard> list = new ArrayList<>();
        StoreManifest first = null;
        long size = 0;
        for (int s = 0; s < shards; s++) {
            Path shardDir = dir.resolve(ShardedStoreManifest.shardFolder(s));
            if (!Files.isDirectory(shardDir)) {
                throw new SconeFormatException(shardDir, "shard " + s + " of " + shards + " is missing");
            }
            StoreManifest m = StoreManifest.read(shardDir.resolve(StoreManifest.FILE_NAME));
            if (first == null) {
                first = m;
            } else {
                agree(shardDir, s, "embeddingSize", first.embeddingSize(), m.embeddingSize());
                agree(shardDir, s, "dtype", first.dtype(), m.dtype());
                agree(shardDir, s, "maxN", first.maxN(), m.maxN());
                agree(shardDir, s, "tokenVocabularySize", first.tokenVocabularySize(), m.tokenVocabularySize());
                agree(shardDir, s, "tokenVocabularyFingerprint", first.tokenVocabularyFingerprint(),
                        m.tokenVocabularyFingerprint());
                agree(shardDir, s, "fgramVocabularyFingerprint", first.fgramVocabularyFingerprint(),
                        m.fgramVocabularyFingerprint());
                agree(shardDir, s, "modelFingerprint", first.modelFingerprint(), m.modelFingerprint());
                agree(shardDir, s, "mainModelFingerprint", first.mainModelFingerprint(), m.mainModelFingerprint());
            }
            size += m.size();
            list.add(new ShardedStoreManifest.Shard(ShardedStoreManifest.shardFolder(s), m.size(),
                    ShardedStoreManifest.fingerprintOf(shardDir)));
        }
        ShardedStoreManifest manifest = new ShardedStoreManifest(ShardedStoreManifest.FORMAT_VERSION,
                first.embeddingSize(), first.dtype(), first.maxN(), size, first.tokenVocabularySize(),
                first.tokenVocabularyFingerprint(), first.fgramVocabularyFingerprint(), first.modelFingerprint(),
                first.mainModelFingerprint(), list);
        manifest.write(dir.resolve(ShardedStoreManifest.FILE_NAME));
        return manifest;
    }

    private static void agree(Path shardDir, int shard, String field, Object expected, Object actual)
            throws SconeFormatException {
        if (!expected.equals(actual)) {
            throw new SconeFormatException(shardDir, "shard " + shard + " says " + field + "=" + actual
                    + " but shard 0 says " + expected + ": the shards come from different stores");
        }
    }

    private static void checkShards(int shards) {
        if (shards < 1) {
            throw new IllegalArgumentException("shards must be >= 1, got " + shards);
        }
    }

    /**
     * Adds one f-gram of the vocabulary by id, to its shard.
     *
     * @param fgramId the id
     * @param vectors array holding its (d) vector
     * @param vectorOffset where the vector starts
     * @throws IOException when writing fails
     */
    public void add(int fgramId, float[] vectors, int vectorOffset) throws IOException {
        if (finished) {
            throw new IllegalStateException("writer for " + dir + " is committed or closed");
        }
        int n = vocabulary.copyTokens(fgramId, scratch, 0);
        shards[ShardedStoreManifest.shardOf(scratch, 0, n, shards.length)].add(scratch, 0, n, vectors, vectorOffset);
    }

    /**
     * Commits every shard, then publishes the sharded manifest.
     *
     * @return the manifest
     * @throws IOException when a shard cannot be committed or the manifest written
     */
    public ShardedStoreManifest commit() throws IOException {
        if (finished) {
            throw new IllegalStateException("writer for " + dir + " is committed or closed");
        }
        try {
            for (FgramStoreWriter w : shards) {
                w.commit();
            }
            return publish(dir, shards.length);
        } finally {
            finished = true;
            close();
        }
    }

    /** Discards the shards not yet committed. Throws nothing. */
    @Override
    public void close() {
        finished = true;
        for (FgramStoreWriter w : shards) {
            if (w != null) {
                w.close();
            }
        }
    }

    /** Configures a {@link ShardedFgramStoreWriter}; required: path, vocabulary, shards, embeddingSize. */
    public static final class Builder {
        private Path path;
        private FgramVocabulary vocabulary;
        private int shards = -1;
        private int embeddingSize = -1;
        private VectorDtype dtype;
        private String tokenVocabularyFingerprint = StoreManifest.UNSPECIFIED;
        private String modelFingerprint = StoreManifest.UNSPECIFIED;
        private String mainModelFingerprint = StoreManifest.UNSPECIFIED;

        private Builder() {}

        /** @param value the sharded store folder @return this */
        public Builder setPath(Path value) {
            this.path = Objects.requireNonNull(value, "path");
            return this;
        }

        /** @param value the whole f-gram vocabulary @return this */
        public Builder setVocabulary(FgramVocabulary value) {
            this.vocabulary = Objects.requireNonNull(value, "vocabulary");
            return this;
        }

        /** @param value the number of shards (&gt;= 1) @return this */
        public Builder setShards(int value) {
            this.shards = value;
            return this;
        }

        /** @param value d (&gt;= 1) @return this */
        public Builder setEmbeddingSize(int value) {
            this.embeddingSize = value;
            return this;
        }

        /** @param value how vectors are stored (default: as {@link FgramStoreWriter} chooses per shard) @return this */
        public Builder optDtype(VectorDtype value) {
            this.dtype = Objects.requireNonNull(value, "dtype");
            return this;
        }

        /** @param value the token vocabulary's fingerprint @return this */
        public Builder optTokenVocabularyFingerprint(String value) {
            this.tokenVocabularyFingerprint = value;
            return this;
        }

        /** @param value the fingerprint of the weights the vectors come from (T and A_fgram) @return this */
        public Builder optModelFingerprint(String value) {
            this.modelFingerprint = value;
            return this;
        }

        /**
         * @param value the fingerprint of the serving weights (everything but A_fgram) of the model
         *     the vectors come from (default {@value StoreManifest#UNSPECIFIED}), recorded in every
         *     shard and in the sharded manifest
         * @return this
         */
        public Builder optMainModelFingerprint(String value) {
            this.mainModelFingerprint = value;
            return this;
        }

        /**
         * @return the writer, with every shard's writer started
         * @throws IllegalArgumentException naming a missing or bad setting
         * @throws IOException when a shard cannot be started
         */
        public ShardedFgramStoreWriter build() throws IOException {
            if (path == null || vocabulary == null) {
                throw new IllegalArgumentException("path and vocabulary are required (got path " + path + ", "
                        + (vocabulary == null ? "no vocabulary" : "a vocabulary") + ")");
            }
            checkShards(shards);
            if (embeddingSize < 1) {
                throw new IllegalArgumentException("embeddingSize must be >= 1, got " + embeddingSize);
            }
            if (dtype == null) {
                // every shard must agree: choose once for the whole store, as a single store would
                dtype = (long) vocabulary.size() * embeddingSize * 4L <= StoreLayout.CHUNK_BYTES ? VectorDtype.FLOAT32
                        : VectorDtype.BFLOAT16;
            }
            return new ShardedFgramStoreWriter(this);
        }
    }
}

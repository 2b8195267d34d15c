package dev.scone.store;

import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.InferenceModel;
import dev.scone.core.ParameterFingerprint;
import dev.scone.core.SconeEmbeddingBlock;
import dev.scone.fgram.progress.ProgressListener;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After training: runs the trained A_fgram over every f-gram of V_fgram and writes the vectors
 * into a store (paper Sec. 2: the inference table F). Batches of f-grams go through
 * {@link SconeEmbeddingBlock#computeFgramVectors} (each batch in its own NDManager sub-manager;
 * PyTorch's intra-op threads use the cores) and stream into an {@link FgramStoreWriter}; the
 * store appears only when complete.
 *
 * <p>The manifest records the f-gram vocabulary's fingerprint, the caller's token vocabulary
 * fingerprint and {@link #modelFingerprint the model-weights fingerprint} of T and A_fgram, so
 * that {@link #open(Path, SconeEmbeddingBlock, String, FgramStore.OpenOptions)} refuses the store
 * for any other model with a {@link StoreMismatchException}; and, when the caller gives it
 * ({@link Builder#mainModelFingerprint}), the fingerprint of the main model's serving weights,
 * which {@link StoreExpectations#withMainModelFingerprint} checks.
 *
 * <pre>{@code
 * StoreManifest m = FgramStorePrecompute.builder()
 *         .setBlock(scone).setPath(dir).optDtype(VectorDtype.BFLOAT16)
 *         .setTokenVocabularyFingerprint(tokenizerFingerprint)
 *         .optProgress(new ProgressBarListener("f-grams")).build().run();
 * }</pre>
 */
public final class FgramStorePrecompute {

    private static final Logger LOG = LoggerFactory.getLogger(FgramStorePrecompute.class);
    private static final long BF16_THRESHOLD_BYTES = 1L << 30;
    private static final long LOG_INTERVAL_NANOS = 10_000_000_000L;

    private final SconeEmbeddingBlock block;
    private final Path path;
    private final VectorDtype dtype;
    private final int batchSize;
    private final String tokenVocabularyFingerprint;
    private final String mainModelFingerprint;
    private final ProgressListener progress;

    private FgramStorePrecompute(Builder b, VectorDtype dtype) {
        this.block = b.block;
        this.path = b.path;
        this.dtype = dtype;
        this.batchSize = b.batchSize;
        this.tokenVocabularyFingerprint = b.tokenVocabularyFingerprint;
        this.mainModelFingerprint = b.mainModelFingerprint;
        this.progress = b.progress;
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The fingerprint of the weights a store's vectors come from: {@link ParameterFingerprint} of
     * the SCONE embedding block (T and A_fgram).
     *
     * @param block an initialized SCONE embedding block
     * @return 32 hex digits
     */
    public static String modelFingerprint(SconeEmbeddingBlock block) {
        return ParameterFingerprint.of(block);
    }

    /**
     * What a store must say to serve {@code block}: its E, K, f-gram vocabulary, token vocabulary
     * and weights (the dtype is free).
     *
     * @param block the initialized SCONE embedding block that will read the store
     * @param tokenVocabularyFingerprint the caller's token vocabulary fingerprint
     * @return the expectations
     */
    public static StoreExpectations expectationsFor(SconeEmbeddingBlock block, String tokenVocabularyFingerprint) {
        Objects.requireNonNull(block, "block");
        return StoreExpectations.none().withEmbeddingSize(block.embeddingSize())
                .withFgramVocabulary(block.vocabulary())
                .withTokenVocabularyFingerprint(tokenVocabularyFingerprint)
                .withModelFingerprint(modelFingerprint(block));
    }

    /**
     * Opens a store for {@code block}, checking {@link #expectationsFor} (on top of those in
     * {@code options}, which they replace).
     *
     * @param dir the store folder
     * @param block the SCONE embedding block that will read it
     * @param tokenVocabularyFingerprint the caller's token vocabulary fingerprint
     * @param options how to open it
     * @return the open store
     * @throws StoreMismatchException when the store was built for another model, vocabulary or size
     * @throws IOException when the store cannot be read
     */
    public static FgramStore open(Path dir, SconeEmbeddingBlock block, String tokenVocabularyFingerprint,
            FgramStore.OpenOptions options) throws IOException {
        return FgramStore.open(dir, options.withExpectations(expectationsFor(block, tokenVocabularyFingerprint)));
    }

    /**
     * Opens a store folder for {@code block} whichever kind it is: a sharded store (a folder with
     * {@value ShardedStoreManifest#FILE_NAME}, as {@link ShardedFgramStoreWriter} and the Spark
     * precompute write) or a single one, checking {@link #expectationsFor} either way.
     *
     * @param dir the store folder
     * @param block the SCONE embedding block that will read it
     * @param tokenVocabularyFingerprint the caller's token vocabulary fingerprint
     * @param options how to open it (each shard, for a sharded store)
     * @return the open store
     * @throws StoreMismatchException when the store was built for another model, vocabulary or size
     * @throws IOException when the store cannot be read
     */
    public static FgramEmbeddingTable openAny(Path dir, SconeEmbeddingBlock block, String tokenVocabularyFingerprint,
            FgramStore.OpenOptions options) throws IOException {
        if (Files.isRegularFile(dir.resolve(ShardedStoreManifest.FILE_NAME))) {
            return ShardedFgramStore.open(dir,
                    options.withExpectations(expectationsFor(block, tokenVocabularyFingerprint)));
        }
        return open(dir, block, tokenVocabularyFingerprint, options);
    }

    /**
     * What a store must say to serve an inference model: its E, K, f-gram vocabulary, token
     * vocabulary, and the weights its vectors came from (the dtype is free).
     *
     * @param header the inference model's header (a SCONE model's)
     * @return the expectations
     * @throws IllegalArgumentException for a baseline, which reads no store
     */
    public static StoreExpectations expectationsFor(InferenceModel.Header header) {
        InferenceModel.Binding b = header.binding();
        if (!b.isScone()) {
            throw new IllegalArgumentException("a baseline reads no f-gram store");
        }
        StoreExpectations e = StoreExpectations.none().withEmbeddingSize(header.config().embeddingSize())
                .withMaxN(b.maxN()).withFgramVocabularyFingerprint(b.fgramVocabularyFingerprint())
                .withModelFingerprint(b.fgramModelFingerprint()).withMainModelFingerprint(b.mainModelFingerprint());
        return InferenceModel.UNSPECIFIED.equals(b.tokenVocabularyFingerprint()) ? e
                : e.withTokenVocabularyFingerprint(b.tokenVocabularyFingerprint());
    }

    /**
     * Opens a store folder (single or sharded) for an inference model, checking
     * {@link #expectationsFor(InferenceModel.Header)}: a store precomputed from another model, or
     * over another vocabulary, is refused.
     *
     * @param dir the store folder
     * @param header the inference model's header
     * @param options how to open it (its expectations are replaced)
     * @return the open store
     * @throws StoreMismatchException when the store does not belong to the model
     * @throws IOException when the store cannot be read
     */
    public static FgramEmbeddingTable openFor(Path dir, InferenceModel.Header header, FgramStore.OpenOptions options)
            throws IOException {
        FgramStore.OpenOptions o = options.withExpectations(expectationsFor(header));
        if (Files.isRegularFile(dir.resolve(ShardedStoreManifest.FILE_NAME))) {
            return ShardedFgramStore.open(dir, o);
        }
        return FgramStore.open(dir, o);
    }

    /**
     * Computes every f-gram vector and writes the store.
     *
     * @return the manifest written
     * @throws IOException when writing fails (no store is then published)
     */
    public StoreManifest run() throws IOException {
        FgramVocabulary vocabulary = block.vocabulary();
        int total = vocabulary.size();
        int d = block.embeddingSize();
        String modelFingerprint = modelFingerprint(block);
        int[] ids = new int[batchSize];
        long start = System.nanoTime();
        long lastLog = start;
        progress.start("precompute f-gram store", total);
        try (FgramStoreWriter writer = FgramStoreWriter.builder().setPath(path).optVocabulary(vocabulary).setEmbeddingSize(d)
                .optDtype(dtype).optTokenVocabularyFingerprint(tokenVocabularyFingerprint)
                .optModelFingerprint(modelFingerprint).optMainModelFingerprint(mainModelFingerprint).build()) {
            for (int from = 0; from < total; from += batchSize) {
                int count = Math.min(batchSize, total - from);
                float[] vectors = block.computeFgramVectors(from, count); // (count, E)
                for (int i = 0; i < count; i++) {
                    writer.add(from + i, vectors, i * d);
                }
                progress.advance(count);
                long now = System.nanoTime();
                if (now - lastLog >= LOG_INTERVAL_NANOS) {
                    lastLog = now;
                    logRate(from + count, total, now - start);
                }
            }
            StoreManifest m = (StoreManifest) writer.commit(); // one folder: a single store's manifest
            logRate(total, total, System.nanoTime() - start);
            return m;
        } finally {
            progress.finish();
        }
    }

    private void logRate(long done, long total, long nanos) {
        double perSecond = done / Math.max(1e-9, nanos / 1e9);
        LOG.info(String.format(Locale.ROOT, "%s: %,d of %,d f-grams, %,.0f f-grams/s, ETA %.0f s", path, done, total,
                perSecond, (total - done) / Math.max(1e-9, perSecond)));
    }

    /**
     * Configures a precompute run. Required: {@link Builder#setBlock}, {@link Builder#setPath},
     * {@link Builder#setTokenVocabularyFingerprint}.
     */
    public static final class Builder {
        private SconeEmbeddingBlock block;
        private Path path;
        private VectorDtype dtype;
        private int batchSize = 1024;
        private String tokenVocabularyFingerprint;
        private String mainModelFingerprint = StoreManifest.UNSPECIFIED;
        private ProgressListener progress = ProgressListener.NONE;

        private Builder() {}

        /** @param value the trained SCONE embedding block (T, A_fgram, V_fgram) @return this */
        public Builder setBlock(SconeEmbeddingBlock value) {
            this.block = Objects.requireNonNull(value, "block");
            return this;
        }

        /** @param storeFolder the store folder to create or replace @return this */
        public Builder setPath(Path storeFolder) {
            this.path = Objects.requireNonNull(storeFolder, "path");
            return this;
        }

        /**
         * @param value how vectors are stored; when not set: {@link VectorDtype#FLOAT32} when the
         *     float32 payload is at most 1 GiB, else {@link VectorDtype#BFLOAT16}
         * @return this
         */
        public Builder optDtype(VectorDtype value) {
            this.dtype = Objects.requireNonNull(value, "dtype");
            return this;
        }

        /** @param value f-grams per A_fgram batch (&gt;= 1, default 1024) @return this */
        public Builder optBatchSize(int value) {
            this.batchSize = value;
            return this;
        }

        /** @param fingerprint the token vocabulary's fingerprint (recorded in the manifest) @return this */
        public Builder setTokenVocabularyFingerprint(String fingerprint) {
            this.tokenVocabularyFingerprint = Objects.requireNonNull(fingerprint, "fingerprint");
            return this;
        }

        /**
         * @param fingerprint the fingerprint of the serving weights (token embedding, positions,
         *     decoder, output head: everything but A_fgram) of the model the block belongs to,
         *     recorded in the manifest (default {@value StoreManifest#UNSPECIFIED}); a store is then
         *     refused for another main model ({@link StoreExpectations#withMainModelFingerprint})
         * @return this
         */
        public Builder optMainModelFingerprint(String fingerprint) {
            this.mainModelFingerprint = Objects.requireNonNull(fingerprint, "fingerprint");
            return this;
        }

        /** @param listener hears the f-grams done (default: nothing) @return this */
        public Builder optProgress(ProgressListener listener) {
            this.progress = Objects.requireNonNull(listener, "progress");
            return this;
        }

        /**
         * @return the configured run
         * @throws IllegalArgumentException when a required setting is missing or out of range
         */
        public FgramStorePrecompute build() {
            if (block == null || path == null || tokenVocabularyFingerprint == null) {
                throw new IllegalArgumentException("block, path and tokenVocabularyFingerprint are required (got "
                        + (block == null ? "no block" : "a block") + ", path " + path + ", fingerprint "
                        + tokenVocabularyFingerprint + ")");
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
            }
            if (tokenVocabularyFingerprint.isBlank() || tokenVocabularyFingerprint.contains("\n")) {
                throw new IllegalArgumentException("tokenVocabularyFingerprint must be one non-blank line, got '"
                        + tokenVocabularyFingerprint + "'");
            }
            if (mainModelFingerprint.isBlank() || mainModelFingerprint.contains("\n")
                    || mainModelFingerprint.contains("\r")) {
                throw new IllegalArgumentException("mainModelFingerprint must be one non-blank line, got '"
                        + mainModelFingerprint + "'");
            }
            VectorDtype chosen = dtype;
            if (chosen == null) {
                long f32 = (long) block.vocabulary().size() * block.embeddingSize() * 4;
                chosen = f32 <= BF16_THRESHOLD_BYTES ? VectorDtype.FLOAT32 : VectorDtype.BFLOAT16;
            }
            return new FgramStorePrecompute(this, chosen);
        }
    }
}

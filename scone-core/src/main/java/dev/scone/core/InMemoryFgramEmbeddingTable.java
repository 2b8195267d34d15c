package dev.scone.core;

import dev.scone.fgram.match.FgramMatcher;
import dev.scone.fgram.nn.FgramModelBlock;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Objects;

/**
 * An {@link FgramEmbeddingTable} on the Java heap: one dense float32 matrix of S x E vectors
 * indexed by f-gram id, and an {@link FgramMatcher} that finds the f-gram ids. Float32 vectors are
 * bit-exact copies of A_fgram's output, which makes this table the reference the persisted stores
 * are compared with.
 */
public final class InMemoryFgramEmbeddingTable implements FgramEmbeddingTable {

    private final FgramVocabulary vocabulary;
    private final FgramMatcher matcher;
    private final int embeddingSize;
    private final float[] vectors; // (S, E) row-major
    private final String fgramModelFingerprint; // null when the vectors came from elsewhere
    // Per-thread scratch for matched ids, grown on demand: no allocation per lookup once warm.
    private final ThreadLocal<int[]> scratch = ThreadLocal.withInitial(() -> new int[0]);
    private volatile boolean closed;

    private InMemoryFgramEmbeddingTable(FgramVocabulary vocabulary, FgramMatcher matcher, int embeddingSize,
            float[] vectors, String fgramModelFingerprint) {
        this.fgramModelFingerprint = fgramModelFingerprint;
        this.vocabulary = vocabulary;
        this.matcher = matcher;
        this.embeddingSize = embeddingSize;
        this.vectors = vectors;
    }

    /**
     * Wraps precomputed vectors.
     *
     * @param vocabulary V_fgram; f-gram id i owns {@code vectors[i * E .. (i + 1) * E)}
     * @param matcher finds f-gram ids of {@code vocabulary} (same ids, same K)
     * @param embeddingSize E, at least 1
     * @param vectors S * E floats (taken, not copied)
     * @return the table
     */
    public static InMemoryFgramEmbeddingTable of(FgramVocabulary vocabulary, FgramMatcher matcher, int embeddingSize,
            float[] vectors) {
        return of(vocabulary, matcher, embeddingSize, vectors, null);
    }

    private static InMemoryFgramEmbeddingTable of(FgramVocabulary vocabulary, FgramMatcher matcher,
            int embeddingSize, float[] vectors, String fgramModelFingerprint) {
        Objects.requireNonNull(vocabulary, "vocabulary");
        Objects.requireNonNull(matcher, "matcher");
        Objects.requireNonNull(vectors, "vectors");
        if (embeddingSize < 1) {
            throw new IllegalArgumentException("embeddingSize must be >= 1, got " + embeddingSize);
        }
        if (matcher.maxN() != vocabulary.maxN()) {
            throw new IllegalArgumentException("matcher K = " + matcher.maxN() + " differs from the vocabulary's K = "
                    + vocabulary.maxN());
        }
        if ((long) vocabulary.size() * embeddingSize != vectors.length) {
            throw new IllegalArgumentException(vectors.length + " floats do not hold " + vocabulary.size()
                    + " vectors of size " + embeddingSize);
        }
        return new InMemoryFgramEmbeddingTable(vocabulary, matcher, embeddingSize, vectors, fgramModelFingerprint);
    }

    /**
     * Runs A_fgram over every f-gram of the block's vocabulary, {@code batchSize} at a time, and
     * matches with the pipeline's matcher ({@link LanguageModel#matcherFor}).
     *
     * @param block a trained SCONE embedding (T, A_fgram, V_fgram), initialized
     * @param batchSize f-grams per A_fgram batch, at least 1
     * @return the table
     */
    public static InMemoryFgramEmbeddingTable precompute(SconeEmbeddingBlock block, int batchSize) {
        return precompute(block, batchSize, LanguageModel.matcherFor(block.vocabulary()));
    }

    /**
     * Runs A_fgram over every f-gram of the block's vocabulary, {@code batchSize} at a time.
     *
     * @param block a trained SCONE embedding (T, A_fgram, V_fgram), initialized
     * @param batchSize f-grams per A_fgram batch, at least 1
     * @param matcher finds f-gram ids of the block's vocabulary
     * @return the table
     */
    public static InMemoryFgramEmbeddingTable precompute(SconeEmbeddingBlock block, int batchSize,
            FgramMatcher matcher) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }
        FgramVocabulary vocabulary = block.vocabulary();
        int e = block.embeddingSize();
        long total = (long) vocabulary.size() * e;
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(vocabulary.size() + " vectors of size " + e
                    + " do not fit one Java array: use a persisted store");
        }
        float[] vectors = new float[(int) total];
        for (int from = 0; from < vocabulary.size(); from += batchSize) {
            int count = Math.min(batchSize, vocabulary.size() - from);
            float[] batch = block.computeFgramVectors(from, count);
            System.arraycopy(batch, 0, vectors, from * e, batch.length);
        }
        return of(vocabulary, matcher, e, vectors, ParameterFingerprint.of(block));
    }

    /**
     * Runs a trained A_fgram over every f-gram of {@code vocabulary} reading the trained token
     * embedding T.
     *
     * @param tokenEmbedding T, initialized
     * @param fgramModel A_fgram, initialized
     * @param vocabulary V_fgram
     * @param batchSize f-grams per A_fgram batch
     * @return the table
     */
    public static InMemoryFgramEmbeddingTable precompute(TokenEmbeddingBlock tokenEmbedding, FgramModelBlock fgramModel,
            FgramVocabulary vocabulary, int batchSize) {
        return precompute(new SconeEmbeddingBlock(tokenEmbedding, fgramModel, vocabulary), batchSize);
    }

    /** @return V_fgram */
    public FgramVocabulary vocabulary() {
        return vocabulary;
    }

    /**
     * Copies one f-gram's vector.
     *
     * @param fgramId an id in [0, S)
     * @param dst destination
     * @param dstOffset where its E floats go
     */
    public void vector(int fgramId, float[] dst, int dstOffset) {
        checkOpen();
        Objects.checkIndex(fgramId, vocabulary.size());
        System.arraycopy(vectors, fgramId * embeddingSize, dst, dstOffset, embeddingSize);
    }

    @Override
    public String fgramModelFingerprint() {
        return fgramModelFingerprint;
    }

    @Override
    public int embeddingSize() {
        return embeddingSize;
    }

    @Override
    public int maxN() {
        return vocabulary.maxN();
    }

    @Override
    public long size() {
        return vocabulary.size();
    }

    @Override
    public int lookup(int[] tokenIds, int rows, int length, float[] out, int[] matchLengths) {
        checkOpen();
        if (rows < 0 || length < 0) {
            throw new IllegalArgumentException("rows and length must be >= 0, got " + rows + " x " + length);
        }
        long positions = (long) rows * length;
        if (tokenIds.length < positions || matchLengths.length < positions
                || out.length < positions * embeddingSize) {
            throw new IllegalArgumentException("a window of " + rows + " x " + length + " needs " + positions
                    + " token ids, " + positions + " match lengths and " + positions * embeddingSize
                    + " floats; got " + tokenIds.length + ", " + matchLengths.length + " and " + out.length);
        }
        int n = (int) positions;
        int[] ids = scratch.get();
        if (ids.length < n) {
            ids = new int[n];
            scratch.set(ids);
        }
        for (int r = 0; r < rows; r++) {
            matcher.match(tokenIds, r * length, length, ids, r * length);
        }
        int matched = 0;
        for (int p = 0; p < n; p++) {
            int id = ids[p];
            if (id < 0) {
                matchLengths[p] = 0;
            } else {
                matchLengths[p] = vocabulary.length(id);
                System.arraycopy(vectors, id * embeddingSize, out, p * embeddingSize, embeddingSize);
                matched++;
            }
        }
        return matched;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the f-gram embedding table is closed");
        }
    }

    @Override
    public void close() {
        closed = true;
    }
}

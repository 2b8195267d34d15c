package dev.scone.store;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Objects;

/**
 * What the caller expects of a store it opens; each field left {@code null} is not checked.
 * Opening a store whose manifest disagrees with any set field throws
 * {@link StoreMismatchException} naming the field and both values.
 *
 * @param embeddingSize expected d
 * @param dtype expected vector dtype
 * @param maxN expected K
 * @param tokenVocabularyFingerprint expected token vocabulary fingerprint
 * @param fgramVocabularyFingerprint expected {@code FgramVocabulary.fingerprint()}
 * @param modelFingerprint expected fingerprint of the weights the vectors come from (T and A_fgram)
 * @param mainModelFingerprint expected fingerprint of the serving weights (everything but
 *     A_fgram) of the model the store was precomputed from; a store written without one
 *     ({@value StoreManifest#UNSPECIFIED}) is refused when this is set
 */
public record StoreExpectations(Integer embeddingSize, VectorDtype dtype, Integer maxN,
        String tokenVocabularyFingerprint, String fgramVocabularyFingerprint, String modelFingerprint,
        String mainModelFingerprint) {

    /**
     * Expectations without a main-model fingerprint.
     *
     * @param embeddingSize expected d
     * @param dtype expected vector dtype
     * @param maxN expected K
     * @param tokenVocabularyFingerprint expected token vocabulary fingerprint
     * @param fgramVocabularyFingerprint expected {@code FgramVocabulary.fingerprint()}
     * @param modelFingerprint expected fingerprint of the weights the vectors come from
     */
    public StoreExpectations(Integer embeddingSize, VectorDtype dtype, Integer maxN,
            String tokenVocabularyFingerprint, String fgramVocabularyFingerprint, String modelFingerprint) {
        this(embeddingSize, dtype, maxN, tokenVocabularyFingerprint, fgramVocabularyFingerprint, modelFingerprint,
                null);
    }

    /** @return expectations that check nothing */
    public static StoreExpectations none() {
        return new StoreExpectations(null, null, null, null, null, null, null);
    }

    /**
     * @param d expected embedding size
     * @return a copy that also checks d
     */
    public StoreExpectations withEmbeddingSize(int d) {
        return new StoreExpectations(d, dtype, maxN, tokenVocabularyFingerprint, fgramVocabularyFingerprint,
                modelFingerprint, mainModelFingerprint);
    }

    /**
     * @param expected expected dtype
     * @return a copy that also checks the dtype
     */
    public StoreExpectations withDtype(VectorDtype expected) {
        return new StoreExpectations(embeddingSize, Objects.requireNonNull(expected, "dtype"), maxN,
                tokenVocabularyFingerprint, fgramVocabularyFingerprint, modelFingerprint, mainModelFingerprint);
    }

    /**
     * @param k expected longest f-gram length
     * @return a copy that also checks K
     */
    public StoreExpectations withMaxN(int k) {
        return new StoreExpectations(embeddingSize, dtype, k, tokenVocabularyFingerprint, fgramVocabularyFingerprint,
                modelFingerprint, mainModelFingerprint);
    }

    /**
     * @param fingerprint expected token vocabulary fingerprint
     * @return a copy that also checks it
     */
    public StoreExpectations withTokenVocabularyFingerprint(String fingerprint) {
        return new StoreExpectations(embeddingSize, dtype, maxN, Objects.requireNonNull(fingerprint, "fingerprint"),
                fgramVocabularyFingerprint, modelFingerprint, mainModelFingerprint);
    }

    /**
     * @param fingerprint expected f-gram vocabulary fingerprint
     * @return a copy that also checks it
     */
    public StoreExpectations withFgramVocabularyFingerprint(String fingerprint) {
        return new StoreExpectations(embeddingSize, dtype, maxN, tokenVocabularyFingerprint,
                Objects.requireNonNull(fingerprint, "fingerprint"), modelFingerprint, mainModelFingerprint);
    }

    /**
     * Expects the vocabulary's fingerprint and its K.
     *
     * @param vocabulary the f-gram vocabulary the caller uses
     * @return a copy that also checks the f-gram vocabulary fingerprint and K
     */
    public StoreExpectations withFgramVocabulary(FgramVocabulary vocabulary) {
        return withFgramVocabularyFingerprint(vocabulary.fingerprint()).withMaxN(vocabulary.maxN());
    }

    /**
     * @param fingerprint expected model weights fingerprint
     * @return a copy that also checks it
     */
    public StoreExpectations withModelFingerprint(String fingerprint) {
        return new StoreExpectations(embeddingSize, dtype, maxN, tokenVocabularyFingerprint, fgramVocabularyFingerprint,
                Objects.requireNonNull(fingerprint, "fingerprint"), mainModelFingerprint);
    }

    /**
     * @param fingerprint expected fingerprint of the serving weights (everything but A_fgram) of
     *     the model the store was precomputed from
     * @return a copy that also checks it; a store written without a main-model fingerprint is then refused
     */
    public StoreExpectations withMainModelFingerprint(String fingerprint) {
        return new StoreExpectations(embeddingSize, dtype, maxN, tokenVocabularyFingerprint, fgramVocabularyFingerprint,
                modelFingerprint, Objects.requireNonNull(fingerprint, "fingerprint"));
    }

    /** @throws StoreMismatchException at the first field that differs */
    void check(java.nio.file.Path store, StoreDescription m) {
        check(store, "embeddingSize", embeddingSize, m.embeddingSize());
        check(store, "dtype", dtype, m.dtype());
        check(store, "maxN", maxN, m.maxN());
        check(store, "tokenVocabularyFingerprint", tokenVocabularyFingerprint, m.tokenVocabularyFingerprint());
        check(store, "fgramVocabularyFingerprint", fgramVocabularyFingerprint, m.fgramVocabularyFingerprint());
        check(store, "modelFingerprint", modelFingerprint, m.modelFingerprint());
        if (mainModelFingerprint != null && !mainModelFingerprint.equals(m.mainModelFingerprint())
                && StoreManifest.UNSPECIFIED.equals(m.mainModelFingerprint())) {
            throw new StoreMismatchException(store, "mainModelFingerprint", mainModelFingerprint,
                    m.mainModelFingerprint(),
                    "the store was written without a main-model fingerprint and must be precomputed again");
        }
        check(store, "mainModelFingerprint", mainModelFingerprint, m.mainModelFingerprint());
    }

    /**
     * @param d what a store says about itself
     * @return expectations of everything it says (d, dtype, K and every fingerprint)
     */
    static StoreExpectations all(StoreDescription d) {
        return new StoreExpectations(d.embeddingSize(), d.dtype(), d.maxN(), d.tokenVocabularyFingerprint(),
                d.fgramVocabularyFingerprint(), d.modelFingerprint(), d.mainModelFingerprint());
    }

    private static void check(java.nio.file.Path store, String field, Object expected, Object actual) {
        if (expected != null && !expected.equals(actual)) {
            throw new StoreMismatchException(store, field, String.valueOf(expected), String.valueOf(actual));
        }
    }
}

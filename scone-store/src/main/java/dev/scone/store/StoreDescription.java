package dev.scone.store;

/**
 * What a store holds and what it was built for, as its manifest says: the fields that a
 * single store's {@link StoreManifest} and a sharded store's {@link ShardedStoreManifest} share.
 * Expectations ({@link StoreExpectations}) are checked against it, whichever layout the store has.
 */
public sealed interface StoreDescription permits StoreManifest, ShardedStoreManifest {

    /** @return the manifest's format version */
    int formatVersion();

    /** @return d, the length of every vector */
    int embeddingSize();

    /** @return how vectors are stored */
    VectorDtype dtype();

    /** @return K, the longest f-gram length */
    int maxN();

    /** @return S, the number of f-grams stored */
    long size();

    /** @return the size of the token vocabulary f-gram tokens are drawn from */
    int tokenVocabularySize();

    /** @return the token vocabulary's fingerprint (given by the writer's caller) */
    String tokenVocabularyFingerprint();

    /** @return {@code FgramVocabulary.fingerprint()} of V_fgram */
    String fgramVocabularyFingerprint();

    /** @return the fingerprint of the weights that produced the vectors (T and A_fgram) */
    String modelFingerprint();

    /**
     * @return the fingerprint of the serving weights (everything but A_fgram) of the model the
     *     vectors come from, or {@value StoreManifest#UNSPECIFIED}
     */
    String mainModelFingerprint();
}

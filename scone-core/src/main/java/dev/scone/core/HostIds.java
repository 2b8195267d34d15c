package dev.scone.core;

import ai.djl.ndarray.types.Shape;
import ai.djl.util.PairList;
import java.util.Objects;

/**
 * The host copies of a batch's (B, T) token ids and pre-scanned f-gram ids, handed to the input
 * embedding through a forward pass's parameters ({@link #KEY}), so that it neither copies the ids
 * back from the device nor checks the f-gram ids against the tokens again. Only for ids that
 * scone's own pre-scan produced ({@code WindowBatch.hostIds()}): the embedding still checks that
 * the shape and the f-gram vocabulary are its own, and the token ids' range.
 *
 * @param tokenIds (B, T) token ids, row-major
 * @param fgramIds (B, T) f-gram ids of the vocabulary whose fingerprint is given, -1 = none
 * @param shape (B, T)
 * @param fgramVocabularyFingerprint the fingerprint of the vocabulary the f-gram ids belong to, or
 *     null when no vocabulary was used (every id -1)
 */
public record HostIds(int[] tokenIds, int[] fgramIds, Shape shape, String fgramVocabularyFingerprint) {

    /** The name under which a forward pass's parameters carry them. */
    public static final String KEY = "scone.hostIds";

    /** Checks the lengths agree with the shape. */
    public HostIds {
        Objects.requireNonNull(tokenIds, "tokenIds");
        Objects.requireNonNull(fgramIds, "fgramIds");
        Objects.requireNonNull(shape, "shape");
        if (shape.dimension() != 2 || tokenIds.length != shape.size() || fgramIds.length != shape.size()) {
            throw new IllegalArgumentException(tokenIds.length + " token ids and " + fgramIds.length
                    + " f-gram ids do not make a (B, T) batch of shape " + shape);
        }
    }

    /** @return forward parameters carrying these ids */
    public PairList<String, Object> asParams() {
        PairList<String, Object> params = new PairList<>();
        params.add(KEY, this);
        return params;
    }

    /**
     * @param params a forward pass's parameters, or null
     * @param tokenShape the shape of the token ids array the block was given
     * @return the host ids they carry for that shape, or null when none (or for another shape)
     */
    static HostIds of(PairList<String, Object> params, Shape tokenShape) {
        if (params == null) {
            return null;
        }
        Object o = params.get(KEY);
        return o instanceof HostIds h && h.shape.equals(tokenShape) ? h : null;
    }
}

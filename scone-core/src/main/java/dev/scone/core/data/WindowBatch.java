package dev.scone.core.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.scone.core.HostIds;
import java.util.Objects;

/**
 * A batch of training windows held in Java arrays, row-major (B, T): the model inputs (token ids
 * and pre-scanned f-gram ids) and the next-token labels. {@link #inputs(NDManager)} and {@link
 * #labels(NDManager)} turn it into the NDArrays a model takes.
 */
public final class WindowBatch {

    private final int batchSize;
    private final int contextLength;
    private final int[] tokenIds;
    private final int[] labels;
    private final int[] fgramIds;
    private final String fgramVocabularyFingerprint;

    /**
     * @param batchSize B
     * @param contextLength T
     * @param tokenIds (B, T) input token ids (taken, not copied)
     * @param labels (B, T) next-token labels (taken)
     * @param fgramIds (B, T) matched f-gram id per input position, or -1 (taken)
     * @throws IllegalArgumentException when an array is not B * T long
     */
    public WindowBatch(int batchSize, int contextLength, int[] tokenIds, int[] labels, int[] fgramIds) {
        this(batchSize, contextLength, tokenIds, labels, fgramIds, null);
    }

    /**
     * @param batchSize B
     * @param contextLength T
     * @param tokenIds (B, T) input token ids (taken, not copied)
     * @param labels (B, T) next-token labels (taken)
     * @param fgramIds (B, T) matched f-gram id per input position, or -1 (taken)
     * @param fgramVocabularyFingerprint the fingerprint of the vocabulary the f-gram ids were matched
     *     against, or null when none was
     * @throws IllegalArgumentException when an array is not B * T long
     */
    public WindowBatch(int batchSize, int contextLength, int[] tokenIds, int[] labels, int[] fgramIds,
            String fgramVocabularyFingerprint) {
        long n = (long) batchSize * contextLength;
        if (batchSize < 1 || contextLength < 1) {
            throw new IllegalArgumentException("batch shape must be positive, got (" + batchSize + ", " + contextLength
                    + ")");
        }
        if (tokenIds.length != n || labels.length != n || fgramIds.length != n) {
            throw new IllegalArgumentException("arrays of a (" + batchSize + ", " + contextLength + ") batch must hold "
                    + n + " values, got " + tokenIds.length + ", " + labels.length + ", " + fgramIds.length);
        }
        this.batchSize = batchSize;
        this.contextLength = contextLength;
        this.tokenIds = Objects.requireNonNull(tokenIds);
        this.labels = Objects.requireNonNull(labels);
        this.fgramIds = Objects.requireNonNull(fgramIds);
        this.fgramVocabularyFingerprint = fgramVocabularyFingerprint;
    }

    /**
     * @return the batch's ids as the host copies a forward pass may carry ({@link HostIds#asParams()}),
     *     so that the input embedding does not read them back from the device
     */
    public HostIds hostIds() {
        return new HostIds(tokenIds, fgramIds, new Shape(batchSize, contextLength), fgramVocabularyFingerprint);
    }

    /** @return B */
    public int batchSize() {
        return batchSize;
    }

    /** @return T */
    public int contextLength() {
        return contextLength;
    }

    /** @return the (B, T) input token ids, row-major (the batch's own array: do not modify) */
    public int[] tokenIds() {
        return tokenIds;
    }

    /** @return the (B, T) labels: the token that follows each input position */
    public int[] labels() {
        return labels;
    }

    /** @return the (B, T) matched f-gram ids, or -1 where no f-gram ends at a position */
    public int[] fgramIds() {
        return fgramIds;
    }

    /** @return the number of positions whose f-gram id is not -1 */
    public int matchedPositions() {
        int c = 0;
        for (int f : fgramIds) {
            if (f >= 0) {
                c++;
            }
        }
        return c;
    }

    /**
     * @param manager where the arrays are created
     * @return NDList(tokenIds (B, T) int32, fgramIds (B, T) int32): the model's input
     */
    public NDList inputs(NDManager manager) {
        Shape s = new Shape(batchSize, contextLength);
        NDArray t = manager.create(tokenIds, s);
        NDArray f = manager.create(fgramIds, s);
        return new NDList(t, f);
    }

    /**
     * @param manager where the array is created
     * @return the labels as a (B * T) int32 array, flattened to match (B * T, V) logits
     */
    public NDArray labels(NDManager manager) {
        return manager.create(labels, new Shape((long) batchSize * contextLength));
    }
}

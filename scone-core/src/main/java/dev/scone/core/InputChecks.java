package dev.scone.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;

/** Validation of the (token ids, f-gram ids) input that every input-embedding block shares. */
final class InputChecks {

    private InputChecks() {}

    /**
     * @param inputs the block's input: the token ids, and optionally the f-gram ids
     * @return the token ids array
     */
    static NDArray tokenIdsOf(NDList inputs) {
        if (inputs.isEmpty() || inputs.size() > 2) {
            throw new IllegalArgumentException("expected NDList(tokenIds (B, T), fgramIds (B, T)), got " + inputs.size()
                    + " arrays");
        }
        return inputs.get(0);
    }

    /**
     * Reads a (B, T) array of integer ids into Java.
     *
     * @param a the array
     * @param name its name in messages
     * @return the ids, row-major
     */
    static int[] ids2d(NDArray a, String name) {
        Shape s = a.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException(name + " must have shape (B, T), got " + s);
        }
        DataType type = a.getDataType();
        if (type == DataType.INT32) {
            return a.toIntArray();
        }
        if (type == DataType.INT64) {
            long[] l = a.toLongArray();
            int[] r = new int[l.length];
            for (int i = 0; i < l.length; i++) {
                if (l[i] != (int) l[i]) {
                    throw new IllegalArgumentException(name + " value " + l[i] + " at " + where(i, s.get(1))
                            + " does not fit in an int");
                }
                r[i] = (int) l[i];
            }
            return r;
        }
        throw new IllegalArgumentException(name + " must be int32 or int64, got " + type);
    }

    /**
     * Reads and range-checks token ids.
     *
     * @param tokenIds (B, T) ids
     * @param vocabularySize V
     * @return the ids, row-major
     */
    static int[] tokenIds(NDArray tokenIds, int vocabularySize) {
        return checkTokenIds(ids2d(tokenIds, "tokenIds"), tokenIds.getShape(), vocabularySize);
    }

    /**
     * Range-checks token ids already on the host.
     *
     * @param ids (B, T) ids, row-major
     * @param shape (B, T)
     * @param vocabularySize V
     * @return {@code ids}
     */
    static int[] checkTokenIds(int[] ids, Shape shape, int vocabularySize) {
        long t = shape.get(1);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabularySize) {
                throw new IllegalArgumentException("token id " + ids[i] + " at " + where(i, t)
                        + " is outside the token vocabulary [0, " + vocabularySize + ")");
            }
        }
        return ids;
    }

    /**
     * Reads f-gram ids and checks them against the vocabulary and the tokens they claim to match.
     *
     * @param fgramIds (B, T) ids, -1 = no match
     * @param tokenShape the token ids' shape
     * @param tokens the token ids, row-major
     * @param vocabulary V_fgram
     * @return the ids, row-major
     */
    static int[] fgramIds(NDArray fgramIds, Shape tokenShape, int[] tokens, FgramVocabulary vocabulary) {
        if (!fgramIds.getShape().equals(tokenShape)) {
            throw new IllegalArgumentException("fgramIds shape " + fgramIds.getShape() + " differs from tokenIds shape "
                    + tokenShape);
        }
        int[] ids = ids2d(fgramIds, "fgramIds");
        int t = (int) tokenShape.get(1);
        int size = vocabulary.size();
        for (int i = 0; i < ids.length; i++) {
            int f = ids[i];
            if (f == -1) {
                continue;
            }
            if (f < -1 || f >= size) {
                throw new IllegalArgumentException("f-gram id " + f + " at " + where(i, t)
                        + " is outside [-1, " + size + ") (-1 = no match, " + size + " f-grams)");
            }
            int n = vocabulary.length(f);
            int pos = i % t;
            if (n > pos + 1) {
                throw new IllegalArgumentException("f-gram id " + f + " at " + where(i, t) + " has length " + n
                        + " and would reach before the start of its row");
            }
            for (int k = 0; k < n; k++) {
                if (tokens[i - n + 1 + k] != vocabulary.token(f, k)) {
                    throw new IllegalArgumentException("f-gram id " + f + " at " + where(i, t) + " is "
                            + Arrays.toString(vocabulary.tokens(f)) + " but the tokens ending there are "
                            + Arrays.toString(Arrays.copyOfRange(tokens, i - n + 1, i + 1)));
                }
            }
        }
        return ids;
    }

    static String where(long flatIndex, long length) {
        return "(row " + flatIndex / length + ", position " + flatIndex % length + ")";
    }
}

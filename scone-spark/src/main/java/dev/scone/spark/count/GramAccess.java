package dev.scone.spark.count;

/** Lets the serializer build an n-gram without copying its tokens. Not for general use. */
public final class GramAccess {

    private GramAccess() {}

    /**
     * @param tokens token ids, owned by the result from now on
     * @return the n-gram
     */
    public static Gram wrap(int[] tokens) {
        return Gram.wrap(tokens);
    }
}

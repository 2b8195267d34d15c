package dev.scone.spark.count;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.Serializable;
import java.util.Arrays;
import java.util.Comparator;

/**
 * An n-gram as a shuffle key: its token ids, compared exactly. The hash is
 * {@link FgramVocabulary#hash}, so Spark's hash partitioner spreads n-grams evenly. The natural
 * order is the counter's tie-break order: shorter first, then lexicographically smaller token ids.
 */
public final class Gram implements Serializable, Comparable<Gram> {

    private static final long serialVersionUID = 1L;

    /**
     * The rank order of the f-gram vocabulary: higher count first, then {@link Gram}'s natural
     * order. Serializable, so Spark can ship it (e.g. to {@code takeOrdered}).
     */
    public static final Comparator<scala.Tuple2<Gram, Long>> RANK = new RankOrder();

    /** The natural order as a serializable comparator. */
    public static final Comparator<Gram> NATURAL = new NaturalOrder();

    private final int[] tokens;
    private transient int hash;

    private Gram(int[] tokens) {
        this.tokens = tokens;
    }

    /**
     * @param seq array holding the n-gram
     * @param from its first token
     * @param n its length
     * @return the n-gram (a copy)
     */
    public static Gram of(int[] seq, int from, int n) {
        return new Gram(Arrays.copyOfRange(seq, from, from + n));
    }

    /**
     * @param tokens token ids, owned by the n-gram from now on (not copied; for deserializers)
     * @return the n-gram
     */
    public static Gram wrap(int[] tokens) {
        return new Gram(tokens);
    }

    /**
     * @param tokens the token ids
     * @return the n-gram (a copy)
     */
    public static Gram of(int... tokens) {
        return new Gram(tokens.clone());
    }

    /** @return n */
    public int length() {
        return tokens.length;
    }

    /** @param k position @return the k-th token id */
    public int token(int k) {
        return tokens[k];
    }

    /** @return a copy of the token ids */
    public int[] tokens() {
        return tokens.clone();
    }

    /** @return the (n-1)-prefix */
    public Gram prefix() {
        return new Gram(Arrays.copyOf(tokens, tokens.length - 1));
    }

    /** @return the (n-1)-suffix */
    public Gram suffix() {
        return new Gram(Arrays.copyOfRange(tokens, 1, tokens.length));
    }

    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) {
            long x = FgramVocabulary.hash(tokens, 0, tokens.length);
            h = (int) (x ^ (x >>> 32));
            if (h == 0) {
                h = 1;
            }
            hash = h;
        }
        return h;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Gram g && Arrays.equals(tokens, g.tokens);
    }

    @Override
    public int compareTo(Gram o) {
        int c = Integer.compare(tokens.length, o.tokens.length);
        return c != 0 ? c : Arrays.compare(tokens, o.tokens);
    }

    @Override
    public String toString() {
        return Arrays.toString(tokens);
    }

    private static final class NaturalOrder implements Comparator<Gram>, Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public int compare(Gram a, Gram b) {
            return a.compareTo(b);
        }
    }

    private static final class RankOrder implements Comparator<scala.Tuple2<Gram, Long>>, Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public int compare(scala.Tuple2<Gram, Long> a, scala.Tuple2<Gram, Long> b) {
            int c = Long.compare(b._2(), a._2());
            return c != 0 ? c : a._1().compareTo(b._1());
        }
    }
}

package dev.scone.spark.count;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serializable;
import java.util.Collection;

/**
 * An immutable set of n-grams of one length, compact enough to broadcast: the tokens in one int
 * array and an open-addressing index that is rebuilt where the set is deserialized, not shipped.
 * Safe for concurrent lookups.
 */
final class GramSet implements Serializable {

    private static final long serialVersionUID = 1L;

    private final int n;
    private final int size;
    private final int[] tokens; // size * n
    private transient int[] table; // entry + 1, 0 = empty
    private transient int mask;

    GramSet(int n, Collection<Gram> grams) {
        if ((long) grams.size() * n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(grams.size() + " " + n + "-grams are too many to broadcast; use the"
                    + " join strategy");
        }
        this.n = n;
        this.size = grams.size();
        this.tokens = new int[size * n];
        int i = 0;
        for (Gram g : grams) {
            if (g.length() != n) {
                throw new IllegalArgumentException("a set of " + n + "-grams cannot hold " + g);
            }
            for (int k = 0; k < n; k++) {
                tokens[i * n + k] = g.token(k);
            }
            i++;
        }
        index();
    }

    private void index() {
        int cap = Integer.highestOneBit(Math.max(4, size * 2 - 1)) << 1;
        table = new int[cap];
        mask = cap - 1;
        for (int e = 0; e < size; e++) {
            int slot = (int) FgramVocabulary.hash(tokens, e * n, n) & mask;
            while (table[slot] != 0) {
                slot = (slot + 1) & mask;
            }
            table[slot] = e + 1;
        }
    }

    /** @return n */
    int n() {
        return n;
    }

    /** @return the number of n-grams */
    int size() {
        return size;
    }

    /** @return whether {@code seq[from .. from + n)} is in the set */
    boolean contains(int[] seq, int from) {
        int slot = (int) FgramVocabulary.hash(seq, from, n) & mask;
        while (true) {
            int e = table[slot];
            if (e == 0) {
                return false;
            }
            if (java.util.Arrays.equals(tokens, (e - 1) * n, e * n, seq, from, from + n)) {
                return true;
            }
            slot = (slot + 1) & mask;
        }
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        index();
    }
}

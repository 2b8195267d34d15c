package dev.scone.fgram.count;

/**
 * How an n-gram becomes one non-negative long key, exactly. When its n token ids fit in 63 bits
 * (n * bits &lt;= 63, bits = the width of the largest token id) the key is the tokens packed
 * big-endian; otherwise it is (survivor index of its (n-1)-prefix &lt;&lt; 32 | last token), which
 * is exact because a counted n-gram's prefix always survived the previous scan. Either way,
 * ascending key order is lexicographic order of the tokens (prefix indexes are themselves
 * assigned in lexicographic order).
 */
final class KeyScheme {

    final int bits;

    KeyScheme(int vocabularySize) {
        this.bits = Math.max(1, 32 - Integer.numberOfLeadingZeros(vocabularySize - 1));
    }

    /** @return whether n-grams of length {@code n} are keyed by their packed tokens */
    boolean packed(int n) {
        return (long) n * bits <= 63;
    }

    /** @return the packed key of {@code tok[from .. from + n)} */
    long pack(int[] tok, int from, int n) {
        long k = 0;
        for (int j = 0; j < n; j++) {
            k = (k << bits) | tok[from + j];
        }
        return k;
    }

    /** @return the key of an n-gram that is not packed */
    static long composite(int prefixIndex, int lastToken) {
        return ((long) prefixIndex << 32) | lastToken;
    }
}

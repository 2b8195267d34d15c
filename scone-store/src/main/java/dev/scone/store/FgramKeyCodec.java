package dev.scone.store;

/**
 * The exact byte encoding of an f-gram used as the index key: each token {@code t} becomes the
 * digit {@code t + 1} of {@code bitsPerToken} bits, written big-endian after enough leading zero
 * bits to fill the key. Digits are never zero, so the encoding is injective across lengths: two
 * different token sequences never share a key. When {@code maxN * bitsPerToken <= 64} every key
 * is 8 bytes (constant-size keys make the Chronicle Map index smaller, and its queries hash
 * and compare one long); otherwise a key of n tokens takes {@code ceil(n * bitsPerToken / 8)}
 * bytes.
 */
final class FgramKeyCodec {

    private final int tokenVocabularySize;
    private final int maxN;
    private final int bits;
    private final int[] keyBytes; // by length n, 0 for n < 2

    FgramKeyCodec(int tokenVocabularySize, int maxN) {
        this.tokenVocabularySize = tokenVocabularySize;
        this.maxN = maxN;
        this.bits = 32 - Integer.numberOfLeadingZeros(tokenVocabularySize);
        this.keyBytes = new int[maxN + 1];
        for (int n = 2; n <= maxN; n++) {
            keyBytes[n] = maxN * bits <= 64 ? 8 : (n * bits + 7) / 8;
        }
    }

    int maxN() {
        return maxN;
    }

    int tokenVocabularySize() {
        return tokenVocabularySize;
    }

    /** @return the key length in bytes of an f-gram of {@code n} tokens (2 &lt;= n &lt;= maxN) */
    int keyBytes(int n) {
        return keyBytes[n];
    }

    /** @return the mean key size for Chronicle's sizing, assuming lengths are spread evenly */
    double averageKeyBytes() {
        double s = 0;
        for (int n = 2; n <= maxN; n++) {
            s += keyBytes[n];
        }
        return s / (maxN - 1);
    }

    /** @return whether every key has the same size (8 bytes) */
    boolean constantKeySize() {
        return maxN * bits <= 64;
    }

    /**
     * Checks that every token of {@code seq[from .. from + n)} is a token id.
     *
     * @throws IllegalArgumentException naming the first bad id and its position
     */
    void checkTokens(int[] seq, int from, int n) {
        for (int k = from; k < from + n; k++) {
            int t = seq[k];
            if (t < 0 || t >= tokenVocabularySize) {
                throw new IllegalArgumentException("token id " + t + " at position " + k
                        + " is outside the token vocabulary [0, " + tokenVocabularySize + ")");
            }
        }
    }

    /**
     * Encodes {@code seq[from .. from + n)} (ids already checked) into {@code dst}, whose length
     * must be {@link #keyBytes(int) keyBytes(n)}.
     */
    void encode(int[] seq, int from, int n, byte[] dst) {
        int len = keyBytes[n];
        long acc = 0;
        int held = len * 8 - n * bits; // leading zero padding
        int o = 0;
        for (int k = from; k < from + n; k++) {
            acc = (acc << bits) | (seq[k] + 1L);
            held += bits;
            while (held >= 8) {
                held -= 8;
                dst[o++] = (byte) (acc >>> held);
            }
            acc &= (1L << held) - 1;
        }
    }

    /**
     * Decodes a key back to its tokens.
     *
     * @return the tokens, or {@code null} when the bytes are not a valid key of this codec
     */
    int[] decode(byte[] key) {
        int[] out = new int[maxN];
        int n = decode(key, key.length, out);
        return n < 0 ? null : java.util.Arrays.copyOf(out, n);
    }

    /**
     * Decodes {@code key[0 .. len)} into {@code out} (at least K long).
     *
     * @return the f-gram's length, or -1 when the bytes are not a valid key of this codec
     */
    int decode(byte[] key, int len, int[] out) {
        if (len <= 16) {
            return decode128(key, len, out);
        }
        // a valid key has a nonzero leading digit, so at most one length decodes it
        for (int n = maxN; n >= 2; n--) {
            if (keyBytes[n] == len && decodeAs(key, len, n, out)) {
                return n;
            }
        }
        return -1;
    }

    /** {@link #decode(byte[], int, int[])} of a key of at most 16 bytes, through two longs. */
    private int decode128(byte[] key, int len, int[] out) {
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < len; i++) {
            hi = (hi << 8) | (lo >>> 56);
            lo = (lo << 8) | (key[i] & 0xFF);
        }
        int bitLength = hi != 0 ? 128 - Long.numberOfLeadingZeros(hi) : 64 - Long.numberOfLeadingZeros(lo);
        int n = (bitLength + bits - 1) / bits; // the leading digit is nonzero: its length fixes n
        if (n < 2 || n > maxN || keyBytes[n] != len) {
            return -1;
        }
        long mask = (1L << bits) - 1;
        for (int k = n - 1; k >= 0; k--) {
            long digit = lo & mask;
            if (digit == 0 || digit > tokenVocabularySize) {
                return -1;
            }
            out[k] = (int) digit - 1;
            lo = (lo >>> bits) | (hi << (64 - bits));
            hi >>>= bits;
        }
        return n;
    }

    private boolean decodeAs(byte[] key, int len, int n, int[] out) {
        int pad = len * 8 - n * bits;
        for (int i = 0; i < pad; i++) {
            if (bit(key, i) != 0) {
                return false;
            }
        }
        int p = pad;
        for (int k = 0; k < n; k++) {
            int digit = 0;
            for (int i = 0; i < bits; i++) {
                digit = (digit << 1) | bit(key, p++);
            }
            if (digit == 0 || digit > tokenVocabularySize) {
                return false;
            }
            out[k] = digit - 1;
        }
        return true;
    }

    private static int bit(byte[] key, int i) {
        return (key[i >>> 3] >>> (7 - (i & 7))) & 1;
    }
}

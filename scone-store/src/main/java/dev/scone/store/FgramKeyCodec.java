package dev.scone.store;

/**
 * The exact byte encoding of an f-gram used as the index key: each token {@code t} becomes the
 * digit {@code t + 1} of {@code bitsPerToken} bits, written big-endian after enough leading zero
 * bits to fill the key. Digits are never zero, so the encoding is injective across lengths: two
 * different token sequences never share a key. When {@code maxN * bitsPerToken <= 64} every key
 * is 8 bytes (constant-size keys make the Chronicle Map index smaller and faster) and the same
 * digits form a {@code long} ({@link #packedKey}), the key of the in-heap index; otherwise a key
 * of n tokens takes {@code ceil(n * bitsPerToken / 8)} bytes.
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

    int bitsPerToken() {
        return bits;
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
        return packsIntoLong();
    }

    /** @return whether every key also fits a {@code long} */
    boolean packsIntoLong() {
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

    /** The same digits as {@link #encode} as one number; only when {@link #packsIntoLong()}. */
    long packedKey(int[] seq, int from, int n) {
        long acc = 0;
        for (int k = from; k < from + n; k++) {
            acc = (acc << bits) | (seq[k] + 1L);
        }
        return acc;
    }

    /** Reads an encoded key back as its packed number; only when {@link #packsIntoLong()}. */
    static long packedKey(byte[] key) {
        long acc = 0;
        for (byte b : key) {
            acc = (acc << 8) | (b & 0xFF);
        }
        return acc;
    }

    /**
     * Unpacks a packed key ({@link #packedKey}) into its tokens; only when {@link #packsIntoLong()}.
     *
     * @param packed the packed key
     * @param dst receives the tokens from index 0 (at least K long)
     * @return the f-gram length, or -1 when the number is not a valid key of this codec
     */
    int unpack(long packed, int[] dst) {
        int bitLength = 64 - Long.numberOfLeadingZeros(packed);
        int n = (bitLength + bits - 1) / bits;
        if (n < 2 || n > maxN || !packsIntoLong()) {
            return -1;
        }
        long mask = (1L << bits) - 1;
        for (int k = n - 1, shift = 0; k >= 0; k--, shift += bits) {
            long digit = (packed >>> shift) & mask;
            if (digit == 0 || digit > tokenVocabularySize) {
                return -1;
            }
            dst[k] = (int) digit - 1;
        }
        return n;
    }

    /** The encoded key of a packed key ({@link #packedKey}); {@code null} when no length fits. */
    byte[] keyOfPacked(long packed) {
        int bitLength = 64 - Long.numberOfLeadingZeros(packed);
        int n = (bitLength + bits - 1) / bits;
        if (n < 2 || n > maxN || !packsIntoLong()) {
            return null;
        }
        byte[] key = new byte[keyBytes[n]];
        for (int i = key.length - 1, shift = 0; i >= 0; i--, shift += 8) {
            key[i] = (byte) (packed >>> shift);
        }
        return key;
    }

    /**
     * Decodes a key back to its tokens.
     *
     * @return the tokens, or {@code null} when the bytes are not a valid key of this codec
     */
    int[] decode(byte[] key) {
        int total = key.length * 8;
        // a valid key has a nonzero leading digit, so at most one length decodes it
        for (int cand = maxN; cand >= 2; cand--) {
            if (keyBytes[cand] != key.length) {
                continue;
            }
            int[] out = decodeAs(key, cand, total);
            if (out != null) {
                return out;
            }
        }
        return null;
    }

    private int[] decodeAs(byte[] key, int n, int total) {
        int pad = total - n * bits;
        for (int i = 0; i < pad; i++) {
            if (bit(key, i) != 0) {
                return null;
            }
        }
        int[] out = new int[n];
        int p = pad;
        for (int k = 0; k < n; k++) {
            int digit = 0;
            for (int i = 0; i < bits; i++) {
                digit = (digit << 1) | bit(key, p++);
            }
            if (digit == 0 || digit > tokenVocabularySize) {
                return null;
            }
            out[k] = digit - 1;
        }
        return out;
    }

    private static int bit(byte[] key, int i) {
        return (key[i >>> 3] >>> (7 - (i & 7))) & 1;
    }
}

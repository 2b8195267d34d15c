package dev.scone.fgram.vocab;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * The f-gram vocabulary V_fgram: an immutable list of token sequences of length 2..maxN, each
 * with its corpus count. The f-gram id is the index in this list; a vocabulary built by the
 * counter lists f-grams by rank (highest count first, ties shorter first, then lexicographic).
 *
 * <p>Lookups by token sequence are exact: two different sequences never share an id.
 */
public final class FgramVocabulary {

    /** The smallest f-gram length. */
    public static final int MIN_N = 2;

    private final int tokenVocabularySize;
    private final int maxN;
    private final int[] offsets; // (S + 1): f-gram i is tokens[offsets[i] .. offsets[i+1])
    private final int[] tokens;
    private final long[] counts;
    private final int[] table; // open addressing: f-gram id + 1, 0 = empty
    private final int mask;
    private volatile String fingerprint;

    private FgramVocabulary(int tokenVocabularySize, int maxN, int[] offsets, int[] tokens, long[] counts) {
        this.tokenVocabularySize = tokenVocabularySize;
        this.maxN = maxN;
        this.offsets = offsets;
        this.tokens = tokens;
        this.counts = counts;
        int size = counts.length;
        int cap = Integer.highestOneBit(Math.max(4, size * 2 - 1)) << 1;
        this.table = new int[cap];
        this.mask = cap - 1;
        for (int id = 0; id < size; id++) {
            int from = offsets[id];
            int len = offsets[id + 1] - from;
            int slot = (int) hash(tokens, from, len) & mask;
            while (table[slot] != 0) {
                int other = table[slot] - 1;
                if (equalsAt(other, tokens, from, len)) {
                    throw new IllegalArgumentException("f-gram " + Arrays.toString(Arrays.copyOfRange(tokens, from, from + len))
                            + " appears twice (ids " + other + " and " + id + ")");
                }
                slot = (slot + 1) & mask;
            }
            table[slot] = id + 1;
        }
    }

    /**
     * Builds a vocabulary.
     *
     * @param tokenVocabularySize size of the token vocabulary the f-grams are drawn from
     * @param maxN the longest f-gram length allowed (K), at least 2
     * @param fgrams the f-grams in id order; each of length 2..maxN with ids in range
     * @param counts the count of each f-gram (same order), each &gt;= 0
     * @return the vocabulary
     * @throws IllegalArgumentException on any violation, naming the offending f-gram
     */
    public static FgramVocabulary of(int tokenVocabularySize, int maxN, List<int[]> fgrams, long[] counts) {
        Objects.requireNonNull(fgrams, "fgrams");
        Objects.requireNonNull(counts, "counts");
        if (fgrams.size() != counts.length) {
            throw new IllegalArgumentException(fgrams.size() + " f-grams but " + counts.length + " counts");
        }
        int[] offsets = new int[fgrams.size() + 1];
        long total = 0;
        for (int i = 0; i < fgrams.size(); i++) {
            total += Objects.requireNonNull(fgrams.get(i), "f-gram " + i).length;
            if (total > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("too many f-gram tokens for one vocabulary");
            }
            offsets[i + 1] = (int) total;
        }
        int[] flat = new int[(int) total];
        for (int i = 0; i < fgrams.size(); i++) {
            System.arraycopy(fgrams.get(i), 0, flat, offsets[i], fgrams.get(i).length);
        }
        return of(tokenVocabularySize, maxN, offsets, flat, counts.clone());
    }

    /**
     * Builds a vocabulary from flat arrays (taken, not copied). F-gram {@code i} is
     * {@code tokens[offsets[i] .. offsets[i + 1])}.
     *
     * @param tokenVocabularySize size of the token vocabulary
     * @param maxN the longest f-gram length allowed (K), at least 2
     * @param offsets S + 1 non-decreasing offsets starting at 0
     * @param tokens all f-grams' tokens, concatenated
     * @param counts S counts
     * @return the vocabulary
     * @throws IllegalArgumentException on any violation
     */
    public static FgramVocabulary of(int tokenVocabularySize, int maxN, int[] offsets, int[] tokens, long[] counts) {
        if (tokenVocabularySize < 1) {
            throw new IllegalArgumentException("token vocabulary size must be >= 1, got " + tokenVocabularySize);
        }
        if (maxN < MIN_N) {
            throw new IllegalArgumentException("maxN (K) must be >= " + MIN_N + ", got " + maxN);
        }
        if (offsets.length != counts.length + 1 || offsets[0] != 0 || offsets[counts.length] != tokens.length) {
            throw new IllegalArgumentException("offsets do not describe " + counts.length + " f-grams over "
                    + tokens.length + " tokens");
        }
        for (int i = 0; i < counts.length; i++) {
            int len = offsets[i + 1] - offsets[i];
            if (len < MIN_N || len > maxN) {
                throw new IllegalArgumentException("f-gram " + i + " has length " + len + ", outside [" + MIN_N + ", "
                        + maxN + "]");
            }
            if (counts[i] < 0) {
                throw new IllegalArgumentException("f-gram " + i + " has negative count " + counts[i]);
            }
            for (int k = offsets[i]; k < offsets[i + 1]; k++) {
                if (tokens[k] < 0 || tokens[k] >= tokenVocabularySize) {
                    throw new IllegalArgumentException("f-gram " + i + " has token id " + tokens[k]
                            + " outside the token vocabulary [0, " + tokenVocabularySize + ")");
                }
            }
        }
        return new FgramVocabulary(tokenVocabularySize, maxN, offsets, tokens, counts);
    }

    /** @return the number of f-grams S */
    public int size() {
        return counts.length;
    }

    /** @return the longest f-gram length allowed (K) */
    public int maxN() {
        return maxN;
    }

    /** @return the size of the token vocabulary the f-grams are drawn from */
    public int tokenVocabularySize() {
        return tokenVocabularySize;
    }

    /**
     * @param fgramId an id in {@code [0, size())}
     * @return the f-gram's length in tokens
     */
    public int length(int fgramId) {
        Objects.checkIndex(fgramId, counts.length);
        return offsets[fgramId + 1] - offsets[fgramId];
    }

    /**
     * @param fgramId an id in {@code [0, size())}
     * @param k position inside the f-gram, {@code [0, length(fgramId))}
     * @return the k-th token id of the f-gram
     */
    public int token(int fgramId, int k) {
        Objects.checkIndex(k, length(fgramId));
        return tokens[offsets[fgramId] + k];
    }

    /**
     * @param fgramId an id in {@code [0, size())}
     * @return a copy of the f-gram's token ids
     */
    public int[] tokens(int fgramId) {
        Objects.checkIndex(fgramId, counts.length);
        return Arrays.copyOfRange(tokens, offsets[fgramId], offsets[fgramId + 1]);
    }

    /**
     * Copies the f-gram's tokens into {@code dst}.
     *
     * @param fgramId an id in {@code [0, size())}
     * @param dst destination
     * @param dstOffset where to start writing
     * @return the number of tokens written (the f-gram's length)
     */
    public int copyTokens(int fgramId, int[] dst, int dstOffset) {
        int len = length(fgramId);
        System.arraycopy(tokens, offsets[fgramId], dst, dstOffset, len);
        return len;
    }

    /**
     * @param fgramId an id in {@code [0, size())}
     * @return the f-gram's count in the corpus it was counted on
     */
    public long count(int fgramId) {
        return counts[Objects.checkIndex(fgramId, counts.length)];
    }

    /**
     * Exact lookup of a token sequence.
     *
     * @param seq array holding the sequence
     * @param from start of the sequence in {@code seq}
     * @param len its length
     * @return the f-gram id, or -1 when the sequence is not in the vocabulary
     */
    public int find(int[] seq, int from, int len) {
        if (len < MIN_N || len > maxN) {
            return -1;
        }
        int slot = (int) hash(seq, from, len) & mask;
        while (true) {
            int e = table[slot];
            if (e == 0) {
                return -1;
            }
            if (equalsAt(e - 1, seq, from, len)) {
                return e - 1;
            }
            slot = (slot + 1) & mask;
        }
    }

    /**
     * @param seq a token sequence
     * @return its f-gram id, or -1
     */
    public int find(int... seq) {
        return find(seq, 0, seq.length);
    }

    /**
     * A stable fingerprint of the vocabulary's content (token vocabulary size, K, every f-gram
     * in id order, and counts): 32 hex digits of SHA-256. Later stages record it so that a
     * model or store is never used with a different vocabulary.
     *
     * @return the fingerprint
     */
    public String fingerprint() {
        String f = fingerprint;
        if (f == null) {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
                b.putInt(tokenVocabularySize).putInt(maxN).putInt(counts.length);
                for (int i = 0; i < counts.length; i++) {
                    if (b.remaining() < 16 + 4 * maxN) {
                        b.flip();
                        md.update(b);
                        b.clear();
                    }
                    b.putInt(offsets[i + 1] - offsets[i]);
                    for (int k = offsets[i]; k < offsets[i + 1]; k++) {
                        b.putInt(tokens[k]);
                    }
                    b.putLong(counts[i]);
                }
                b.flip();
                md.update(b);
                f = HexFormat.of().formatHex(md.digest(), 0, 16);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 unavailable", e);
            }
            fingerprint = f;
        }
        return f;
    }

    private boolean equalsAt(int id, int[] seq, int from, int len) {
        int start = offsets[id];
        if (offsets[id + 1] - start != len) {
            return false;
        }
        for (int k = 0; k < len; k++) {
            if (tokens[start + k] != seq[from + k]) {
                return false;
            }
        }
        return true;
    }

    /**
     * The hash of a token sequence used by the vocabulary's exact index.
     *
     * @param seq array holding the sequence
     * @param from start
     * @param len length
     * @return a well-mixed 64-bit hash
     */
    public static long hash(int[] seq, int from, int len) {
        long h = 0x9E3779B97F4A7C15L * (len + 1);
        for (int k = 0; k < len; k++) {
            h = (h + (seq[from + k] & 0xFFFFFFFFL)) * 0xC2B2AE3D27D4EB4FL;
            h ^= h >>> 29;
        }
        h ^= h >>> 32;
        h *= 0xD6E8FEB86659FD93L;
        h ^= h >>> 32;
        return h;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof FgramVocabulary)) {
            return false;
        }
        FgramVocabulary v = (FgramVocabulary) o;
        return tokenVocabularySize == v.tokenVocabularySize && maxN == v.maxN && Arrays.equals(offsets, v.offsets)
                && Arrays.equals(tokens, v.tokens) && Arrays.equals(counts, v.counts);
    }

    @Override
    public int hashCode() {
        return fingerprint().hashCode();
    }

    @Override
    public String toString() {
        return "FgramVocabulary[size=" + size() + ", maxN=" + maxN + ", tokenVocabularySize=" + tokenVocabularySize
                + "]";
    }
}

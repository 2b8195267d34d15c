package dev.scone.fgram.match;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;
import java.util.Objects;

/**
 * The exact longest-suffix f-gram matcher (the paper's Algorithm 1): for every position {@code i}
 * of a document, the id of the longest f-gram {@code s[j .. i]} with {@code 2 <= i - j + 1 <= K}
 * and {@code j} inside the document, or {@link #NO_MATCH}.
 *
 * <p>The f-grams form a trie over reversed sequences: a node is a suffix {@code s[j .. i]} of
 * some f-gram, its parent the suffix one token shorter. Every node lives in one open-addressing
 * table, keyed exactly by (parent node, first token) and placed by a hash of its whole token
 * sequence, so the table slots of all candidate lengths at a position follow from the tokens
 * alone and the processor can fetch them in parallel. Matching at a position walks to longer
 * suffixes and stops at the first one that is not a node, or earlier when a small filter kept
 * with each node says that no longer node starts with the next token. A vocabulary that is not
 * suffix-closed is handled exactly: the missing suffixes become nodes that carry no f-gram id.
 * Keys are compared in full, never by hash, so a collision never produces a false match.
 *
 * <p>A matcher is built from a {@link FgramVocabulary} ({@link #of(FgramVocabulary)}) or from any
 * source of (f-gram id, token sequence) pairs through {@link #builder(int, int)}. It is immutable
 * and safe for concurrent use; matching allocates nothing.
 *
 * <p>Token ids outside {@code [0, tokenVocabularySize())} in the input (padding such as -1, for
 * instance) are accepted and never part of a match, since no f-gram contains them.
 *
 * <p>{@link LevelwiseMatcher} gives the same answers faster once the vocabulary outgrows the
 * cache, by looking up one length at a time with table reads that do not wait for each other.
 */
public final class LongestSuffixMatcher implements FgramMatcher {

    /** The most table slots a matcher may use. */
    static final int MAX_CAPACITY = 1 << 29;

    /** The largest fraction of slots a built table fills before it is rebuilt twice as large. */
    private static final double MAX_LOAD = 0.5;

    /** A free slot's key in the wide layout; no node has it, since its first token would be -1. */
    private static final long WIDE_EMPTY = -1L;

    /** The most bits of a node's child filter. */
    private static final int MAX_FILTER_BITS = 8;

    private final int tokenVocabularySize;
    private final int maxN;
    private final int size;
    private final int nodeCount;
    private final int mask;
    private final int shift;
    // A node's key is (parent, first token), where parent is the parent node's slot, or capacity
    // + last token for the nodes of length 2. Its value is its f-gram id and its child filter, a
    // one-word Bloom filter of the first tokens of its children: bit filterIndex(t) is clear only
    // if no node one token longer starts with t (so the walk can stop without a lookup).
    // Packed layout (when everything fits in 64 bits): slot s holds
    //   ((parent << tokenBits | first) + 1) << valueShift | filter << idBits | (fgramId + 1),
    // or 0 when free, where valueShift = idBits + filterBits.
    // Wide layout: slot s holds parent << 32 | first at [2 s] (WIDE_EMPTY when free) and
    //   filter << 32 | (fgramId or NO_MATCH) at [2 s + 1].
    private final boolean packed;
    private final int tokenBits;
    private final int idBits;
    private final int filterBits; // 0 (no filter), 1, 2, 4 or 8
    private final long[] table;
    // Bit t set iff some f-gram ends with token t; covers tokens [0, 64 * endTokens.length).
    private final long[] endTokens;

    private LongestSuffixMatcher(Builder b, Layout layout, int nodeCount, long[] table, long[] endTokens) {
        this.tokenVocabularySize = b.tokenVocabularySize;
        this.maxN = b.maxN;
        this.size = b.count;
        this.nodeCount = nodeCount;
        this.mask = layout.capacity - 1;
        this.shift = layout.shift();
        this.packed = layout.packed;
        this.tokenBits = layout.tokenBits;
        this.idBits = layout.idBits;
        this.filterBits = layout.filterBits;
        this.table = table;
        this.endTokens = endTokens;
    }

    /** Table geometry: capacity (a power of two), whether entries are packed, and field widths. */
    private record Layout(int capacity, boolean packed, int tokenBits, int idBits, int filterBits) {

        static Layout choose(int capacity, int tokenVocabularySize, int maxId, boolean allowPacked,
                int maxFilterBits) {
            int tokenBits = 32 - Integer.numberOfLeadingZeros(tokenVocabularySize - 1);
            int idBits = 64 - Long.numberOfLeadingZeros(maxId + 1L);
            long maxParent = capacity + (long) tokenVocabularySize - 1;
            int codeBits = 64 - Long.numberOfLeadingZeros(maxParent) + tokenBits + 1;
            int spare = 64 - codeBits - idBits;
            if (allowPacked && spare >= 0) {
                int f = Math.min(maxFilterBits, spare);
                return new Layout(capacity, true, tokenBits, idBits, f == 0 ? 0 : Integer.highestOneBit(f));
            }
            return new Layout(capacity, false, tokenBits, idBits, maxFilterBits);
        }

        int shift() {
            return 64 - Integer.numberOfTrailingZeros(capacity);
        }

        int longsPerSlot() {
            return packed ? 1 : 2;
        }
    }

    /**
     * Builds a matcher over every f-gram of a vocabulary, with the vocabulary's ids.
     *
     * @param vocabulary the f-gram vocabulary
     * @return the matcher
     */
    public static LongestSuffixMatcher of(FgramVocabulary vocabulary) {
        Objects.requireNonNull(vocabulary, "vocabulary");
        Builder b = builder(vocabulary.tokenVocabularySize(), vocabulary.maxN());
        int[] buf = new int[vocabulary.maxN()];
        for (int id = 0; id < vocabulary.size(); id++) {
            int len = vocabulary.copyTokens(id, buf, 0);
            b.add(id, buf, 0, len);
        }
        return b.build();
    }

    /**
     * Starts a matcher over f-grams from any source (a vocabulary, the keys of a store...).
     *
     * @param tokenVocabularySize size of the token vocabulary, at least 1
     * @param maxN the longest f-gram length K, at least 2
     * @return an empty builder
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static Builder builder(int tokenVocabularySize, int maxN) {
        return new Builder(tokenVocabularySize, maxN);
    }

    @Override
    public int maxN() {
        return maxN;
    }

    /** @return the size of the token vocabulary the f-grams are drawn from */
    public int tokenVocabularySize() {
        return tokenVocabularySize;
    }

    /** @return the number of f-grams the matcher finds */
    public int size() {
        return size;
    }

    /**
     * @return the number of trie nodes: one per distinct suffix of length &gt;= 2 of an f-gram;
     *     equal to {@link #size()} when the f-grams are suffix-closed
     */
    public int nodeCount() {
        return nodeCount;
    }

    /** @return whether each table slot is one long (key and id packed) rather than two */
    boolean isPacked() {
        return packed;
    }

    /** @return the bytes held by the matcher's arrays */
    public long memoryBytes() {
        return 8L * table.length + 8L * endTokens.length + 64;
    }

    @Override
    public void match(int[] tokens, int from, int len, int[] out, int outOffset) {
        matchInto(tokens, from, len, out, outOffset, null, 0);
    }

    /**
     * Matches one document and also writes the length of each match: {@code tokens[from .. from
     * + len)} as in {@link #match(int[], int, int, int[], int)}, and to {@code lengths[lengthsOffset
     * + (i - from)]} the number of tokens of the f-gram matched at {@code i}, or 1 where nothing
     * matched (Algorithm 1's span {@code s[i .. i]}).
     *
     * @param tokens token ids
     * @param from first position of the document
     * @param len number of positions
     * @param ids destination of the f-gram ids
     * @param idsOffset where position {@code from}'s id goes
     * @param lengths destination of the match lengths
     * @param lengthsOffset where position {@code from}'s length goes
     */
    public void match(int[] tokens, int from, int len, int[] ids, int idsOffset, int[] lengths, int lengthsOffset) {
        Objects.requireNonNull(lengths, "lengths");
        matchInto(tokens, from, len, ids, idsOffset, lengths, lengthsOffset);
    }

    /**
     * Matches a window of shape (B, T) laid out row-major, each row on its own: no match reaches
     * from one row into the previous one.
     *
     * @param window B * T token ids, row {@code b} at {@code [b * T, (b + 1) * T)}
     * @param rows B
     * @param cols T
     * @return the (B, T) f-gram ids, row-major, {@link #NO_MATCH} where none matched
     */
    public int[] matchRows(int[] window, int rows, int cols) {
        int[] ids = new int[MatchWindows.checkShape(window, rows, cols)];
        matchRows(window, rows, cols, ids, null);
        return ids;
    }

    /**
     * Matches a (B, T) row-major window, each row on its own, into caller-owned arrays.
     *
     * @param window B * T token ids, row-major
     * @param rows B
     * @param cols T
     * @param ids destination of the (B, T) f-gram ids, at least B * T long
     * @param lengths destination of the (B, T) match lengths (1 where none matched), or null
     */
    public void matchRows(int[] window, int rows, int cols, int[] ids, int[] lengths) {
        MatchWindows.checkShapeAndDestinations(window, rows, cols, ids, lengths);
        for (int r = 0; r < rows; r++) {
            matchInto(window, r * cols, cols, ids, r * cols, lengths, r * cols);
        }
    }

    private void matchInto(int[] tokens, int from, int len, int[] ids, int idsOffset, int[] lengths,
            int lengthsOffset) {
        Objects.checkFromIndexSize(from, len, tokens.length);
        Objects.checkFromIndexSize(idsOffset, len, ids.length);
        if (lengths != null) {
            Objects.checkFromIndexSize(lengthsOffset, len, lengths.length);
        }
        if (packed) {
            matchPacked(tokens, from, len, ids, idsOffset, lengths, lengthsOffset);
        } else {
            matchWide(tokens, from, len, ids, idsOffset, lengths, lengthsOffset);
        }
    }

    // The hot loops below are the same walk over the two table layouts; stats() and the builder
    // share the slower, layout-neutral helpers further down.

    private void matchPacked(int[] tokens, int from, int len, int[] ids, int idsOffset, int[] lengths,
            int lengthsOffset) {
        final long[] t = table;
        final long[] ends = endTokens;
        final int endBits = ends.length << 6;
        final int m = mask;
        final int sh = shift;
        final int k = maxN;
        final int vocab = tokenVocabularySize;
        final int tb = tokenBits;
        final int ib = idBits;
        final int vs = idBits + filterBits;
        final long idMask = (1L << ib) - 1;
        final long filterMask = (1L << filterBits) - 1;
        final long noFilter = filterBits == 0 ? -1L : 0L;
        final int filterIndexMask = filterBits - 1;
        final long rootCode = mask + 1L;
        for (int p = 0; p < len; p++) {
            int i = from + p;
            int last = tokens[i];
            int best = NO_MATCH;
            int bestLen = 1;
            int maxLen = Math.min(k, p + 1);
            if (maxLen >= 2 && Integer.compareUnsigned(last, endBits) < 0 && (ends[last >>> 6] & (1L << last)) != 0) {
                long h = seed(last);
                long parent = rootCode + last;
                long filter = -1L;
                walk:
                for (int n = 2; n <= maxLen; n++) {
                    int first = tokens[i - n + 1];
                    if (Integer.compareUnsigned(first, vocab) >= 0
                            || ((filter >>> (filterIndex(first) & filterIndexMask)) & 1) == 0) {
                        break;
                    }
                    h = step(h, first);
                    long code = packedCode(parent, first, tb);
                    int slot = (int) (h >>> sh);
                    long e;
                    while (((e = t[slot]) >>> vs) != code) {
                        if (e == 0) {
                            break walk;
                        }
                        slot = (slot + 1) & m;
                    }
                    int idPlusOne = (int) (e & idMask);
                    if (idPlusOne != 0) {
                        best = idPlusOne - 1;
                        bestLen = n;
                    }
                    filter = ((e >>> ib) & filterMask) | noFilter;
                    parent = slot;
                }
            }
            ids[idsOffset + p] = best;
            if (lengths != null) {
                lengths[lengthsOffset + p] = bestLen;
            }
        }
    }

    private void matchWide(int[] tokens, int from, int len, int[] ids, int idsOffset, int[] lengths,
            int lengthsOffset) {
        final long[] t = table;
        final long[] ends = endTokens;
        final int endBits = ends.length << 6;
        final int m = mask;
        final int sh = shift;
        final int k = maxN;
        final long noFilter = filterBits == 0 ? -1L : 0L;
        final int filterIndexMask = filterBits - 1;
        final long rootCode = mask + 1L;
        for (int p = 0; p < len; p++) {
            int i = from + p;
            int last = tokens[i];
            int best = NO_MATCH;
            int bestLen = 1;
            int maxLen = Math.min(k, p + 1);
            if (maxLen >= 2 && Integer.compareUnsigned(last, endBits) < 0 && (ends[last >>> 6] & (1L << last)) != 0) {
                long h = seed(last);
                long parent = rootCode + last;
                long filter = -1L;
                walk:
                for (int n = 2; n <= maxLen; n++) {
                    int first = tokens[i - n + 1];
                    if (((filter >>> (filterIndex(first) & filterIndexMask)) & 1) == 0) {
                        break;
                    }
                    h = step(h, first);
                    long key = wideKey(parent, first);
                    int slot = (int) (h >>> sh);
                    long e;
                    while ((e = t[slot << 1]) != key) {
                        if (e == WIDE_EMPTY) {
                            break walk;
                        }
                        slot = (slot + 1) & m;
                    }
                    long value = t[(slot << 1) + 1];
                    if ((int) value >= 0) {
                        best = (int) value;
                        bestLen = n;
                    }
                    filter = (value >>> 32) | noFilter;
                    parent = slot;
                }
            }
            ids[idsOffset + p] = best;
            if (lengths != null) {
                lengths[lengthsOffset + p] = bestLen;
            }
        }
    }

    /**
     * Counts the work {@link #match(int[], int, int, int[], int)} does on a document; for
     * benchmarks and tuning.
     *
     * @param tokens token ids
     * @param from first position of the document
     * @param len number of positions
     * @return the counts
     */
    public MatchStats stats(int[] tokens, int from, int len) {
        Objects.checkFromIndexSize(from, len, tokens.length);
        long[] slotsRead = new long[1];
        long lookups = 0;
        long matched = 0;
        Layout layout = new Layout(mask + 1, packed, tokenBits, idBits, filterBits);
        for (int p = 0; p < len; p++) {
            int i = from + p;
            int last = tokens[i];
            int maxLen = Math.min(maxN, p + 1);
            boolean found = false;
            if (maxLen >= 2 && Integer.compareUnsigned(last, endTokens.length << 6) < 0
                    && (endTokens[last >>> 6] & (1L << last)) != 0) {
                long h = seed(last);
                long parent = mask + 1L + last;
                long filter = -1L;
                for (int n = 2; n <= maxLen; n++) {
                    int first = tokens[i - n + 1];
                    if (((filter >>> (filterIndex(first) & (filterBits - 1))) & 1) == 0) {
                        break;
                    }
                    h = step(h, first);
                    lookups++;
                    int slot = lookup(table, layout, tokenVocabularySize, h, parent, first, slotsRead);
                    if (slot < 0) {
                        break;
                    }
                    found |= idAt(table, layout, slot) != NO_MATCH;
                    filter = filterAt(table, layout, slot);
                    parent = slot;
                }
            }
            matched += found ? 1 : 0;
        }
        return new MatchStats(len, lookups, slotsRead[0], matched);
    }

    // The slot of the node (parent, first) placed by hash h, or -1; counts the slots it reads.
    private static int lookup(long[] table, Layout layout, int tokenVocabularySize, long h, long parent, int first,
            long[] slotsRead) {
        int mask = layout.capacity - 1;
        int slot = (int) (h >>> layout.shift());
        if (layout.packed) {
            if (Integer.compareUnsigned(first, tokenVocabularySize) >= 0) {
                return -1;
            }
            long code = packedCode(parent, first, layout.tokenBits);
            while (true) {
                slotsRead[0]++;
                long e = table[slot];
                if (e >>> (layout.idBits + layout.filterBits) == code) {
                    return slot;
                }
                if (e == 0) {
                    return -1;
                }
                slot = (slot + 1) & mask;
            }
        }
        long key = wideKey(parent, first);
        while (true) {
            slotsRead[0]++;
            long e = table[slot << 1];
            if (e == key) {
                return slot;
            }
            if (e == WIDE_EMPTY) {
                return -1;
            }
            slot = (slot + 1) & mask;
        }
    }

    private static int idAt(long[] table, Layout layout, int slot) {
        return layout.packed ? (int) (table[slot] & ((1L << layout.idBits) - 1)) - 1 : (int) table[(slot << 1) + 1];
    }

    // The node's child filter, all ones when there is none.
    private static long filterAt(long[] table, Layout layout, int slot) {
        if (layout.filterBits == 0) {
            return -1L;
        }
        return layout.packed ? (table[slot] >>> layout.idBits) & ((1L << layout.filterBits) - 1)
                : table[(slot << 1) + 1] >>> 32;
    }

    // Marks token first in the child filter of the node at slot.
    private static void addToFilter(long[] table, Layout layout, int slot, int first) {
        if (layout.filterBits != 0) {
            int bit = filterIndex(first) & (layout.filterBits - 1);
            if (layout.packed) {
                table[slot] |= 1L << (layout.idBits + bit);
            } else {
                table[(slot << 1) + 1] |= 1L << (32 + bit);
            }
        }
    }

    // Which filter bit a token sets: the top bits of a multiplicative hash (masked by the caller).
    private static int filterIndex(int token) {
        return (int) ((token * 0x9E3779B97F4A7C15L) >>> 58);
    }

    /**
     * What matching a document cost.
     *
     * @param positions positions matched
     * @param lookups table lookups (one per candidate length tried; each may miss the cache)
     * @param slotsRead table slots read, including linear-probing steps
     * @param matched positions where an f-gram matched
     */
    public record MatchStats(long positions, long lookups, long slotsRead, long matched) {

        /** @return lookups per position */
        public double lookupsPerPosition() {
            return positions == 0 ? 0 : (double) lookups / positions;
        }

        /** @return the fraction of positions where an f-gram matched */
        public double matchRate() {
            return positions == 0 ? 0 : (double) matched / positions;
        }

        /**
         * @param o other counts
         * @return the sum of both
         */
        public MatchStats plus(MatchStats o) {
            return new MatchStats(positions + o.positions, lookups + o.lookups, slotsRead + o.slotsRead,
                    matched + o.matched);
        }
    }

    @Override
    public String toString() {
        return "LongestSuffixMatcher[size=" + size + ", maxN=" + maxN + ", nodes=" + nodeCount + ", slots="
                + (mask + 1) + ", " + (packed ? "packed" : "wide") + ", filter bits=" + filterBits + "]";
    }

    // The wide layout's key; parent < 2^31 + 2^29 and first < 2^31 - 1, so never WIDE_EMPTY.
    private static long wideKey(long parent, int first) {
        return (parent << 32) | (first & 0xFFFFFFFFL);
    }

    // The packed layout's key code, never 0; first must be in [0, tokenVocabularySize).
    private static long packedCode(long parent, int first, int tokenBits) {
        return ((parent << tokenBits) | first) + 1;
    }

    // Hash of the suffix s[i .. i]; step extends a suffix's hash by one token on the left.
    private static long seed(int last) {
        return ((last & 0xFFFFFFFFL) + 1) * 0x9E3779B97F4A7C15L;
    }

    private static long step(long h, int first) {
        h = (h + (first & 0xFFFFFFFFL)) * 0xC2B2AE3D27D4EB4FL;
        return h ^ (h >>> 29);
    }

    /**
     * Collects (f-gram id, token sequence) pairs and builds a {@link LongestSuffixMatcher}. Each
     * sequence is checked when added; duplicates (of a sequence or of an id) are reported by
     * {@link #build()}. Not thread-safe.
     */
    public static final class Builder {

        private final int tokenVocabularySize;
        private final int maxN;
        private int[] ids = new int[16];
        private int[] offsets = new int[17];
        private int[] tokens = new int[64];
        private int count;
        private int maxToken = -1;
        private boolean allowPacked = true;
        private int maxFilterBits = MAX_FILTER_BITS;

        private Builder(int tokenVocabularySize, int maxN) {
            if (tokenVocabularySize < 1) {
                throw new IllegalArgumentException("token vocabulary size must be >= 1, got " + tokenVocabularySize);
            }
            if (maxN < FgramVocabulary.MIN_N) {
                throw new IllegalArgumentException("maxN (K) must be >= " + FgramVocabulary.MIN_N + ", got " + maxN);
            }
            this.tokenVocabularySize = tokenVocabularySize;
            this.maxN = maxN;
        }

        /**
         * Adds an f-gram.
         *
         * @param fgramId the id the matcher reports for it, &gt;= 0
         * @param seq its token ids, 2 to K of them, each in {@code [0, tokenVocabularySize)}
         * @return this builder
         * @throws IllegalArgumentException naming the offending value
         */
        public Builder add(int fgramId, int... seq) {
            Objects.requireNonNull(seq, "seq");
            return add(fgramId, seq, 0, seq.length);
        }

        /**
         * Adds the f-gram {@code seq[from .. from + len)} (copied).
         *
         * @param fgramId the id the matcher reports for it, &gt;= 0
         * @param seq array holding its token ids
         * @param from start of the f-gram in {@code seq}
         * @param len its length, 2 to K
         * @return this builder
         * @throws IllegalArgumentException naming the offending value
         */
        public Builder add(int fgramId, int[] seq, int from, int len) {
            Objects.requireNonNull(seq, "seq");
            Objects.checkFromIndexSize(from, len, seq.length);
            if (fgramId < 0) {
                throw new IllegalArgumentException("f-gram id must be >= 0, got " + fgramId);
            }
            if (len < FgramVocabulary.MIN_N || len > maxN) {
                throw new IllegalArgumentException("f-gram " + fgramId + " has length " + len + ", outside ["
                        + FgramVocabulary.MIN_N + ", " + maxN + "]");
            }
            for (int k = from; k < from + len; k++) {
                if (seq[k] < 0 || seq[k] >= tokenVocabularySize) {
                    throw new IllegalArgumentException("f-gram " + fgramId + " has token id " + seq[k]
                            + " outside the token vocabulary [0, " + tokenVocabularySize + ")");
                }
            }
            if (count == Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("too many f-grams for one matcher");
            }
            int end = offsets[count];
            if (end > Integer.MAX_VALUE - 8 - len) {
                throw new IllegalArgumentException("too many f-gram tokens for one matcher");
            }
            if (count == ids.length) {
                int n = (int) Math.min(Integer.MAX_VALUE - 8L, 2L * count);
                ids = Arrays.copyOf(ids, n);
                offsets = Arrays.copyOf(offsets, n + 1);
            }
            if (end + len > tokens.length) {
                tokens = Arrays.copyOf(tokens, (int) Math.min(Integer.MAX_VALUE - 8L, Math.max(2L * tokens.length,
                        end + len)));
            }
            System.arraycopy(seq, from, tokens, end, len);
            maxToken = Math.max(maxToken, seq[from + len - 1]);
            ids[count] = fgramId;
            offsets[++count] = end + len;
            return this;
        }

        /**
         * Uses the wide table layout (two longs per slot) even where the packed one (one long)
         * would fit; for tests of both layouts.
         *
         * @return this builder
         */
        Builder forceWideLayout() {
            allowPacked = false;
            return this;
        }

        /**
         * Keeps no child filter with the nodes; for tests of that path.
         *
         * @return this builder
         */
        Builder withoutChildFilter() {
            maxFilterBits = 0;
            return this;
        }

        /**
         * Builds the matcher.
         *
         * @return the matcher
         * @throws IllegalArgumentException if a token sequence or an f-gram id was added twice,
         *     or if the f-grams need more than {@value #MAX_CAPACITY} table slots
         */
        public LongestSuffixMatcher build() {
            int maxId = checkDistinctIds();
            // Suffix-closed f-grams need one node each; others grow the table while it is built.
            int capacity = capacityFor(Math.max(count, 1));
            while (true) {
                Layout layout = Layout.choose(capacity, tokenVocabularySize, maxId, allowPacked, maxFilterBits);
                long[] table = new long[layout.longsPerSlot() * capacity];
                int nodes = fill(table, layout);
                if (nodes >= 0) {
                    long[] ends = new long[(Math.max(maxToken, 0) >>> 6) + 1];
                    for (int f = 0; f < count; f++) {
                        int last = tokens[offsets[f + 1] - 1];
                        ends[last >>> 6] |= 1L << last;
                    }
                    return new LongestSuffixMatcher(this, layout, nodes, table, ends);
                }
                if (capacity >= MAX_CAPACITY) {
                    throw new IllegalArgumentException(count + " f-grams need more than " + MAX_CAPACITY
                            + " table slots");
                }
                capacity <<= 1;
            }
        }

        private static int capacityFor(long nodes) {
            long c = Long.highestOneBit(Math.max(4L, (long) Math.ceil(nodes / MAX_LOAD)) - 1) << 1;
            return (int) Math.min(c, MAX_CAPACITY);
        }

        // Inserts every f-gram and its suffixes; returns the node count, or -1 when the table
        // would pass its maximum load (the caller retries twice as large).
        private int fill(long[] table, Layout layout) {
            boolean packed = layout.packed;
            if (!packed) {
                Arrays.fill(table, WIDE_EMPTY);
            }
            int mask = layout.capacity - 1;
            int shift = layout.shift();
            int valueShift = layout.idBits + layout.filterBits;
            long maxNodes = (long) (layout.capacity * MAX_LOAD);
            long[] slotsRead = new long[1];
            int nodes = 0;
            for (int f = 0; f < count; f++) {
                int start = offsets[f];
                int end = offsets[f + 1];
                int last = tokens[end - 1];
                long h = seed(last);
                long parent = layout.capacity + (long) last;
                for (int k = end - 2; k >= start; k--) {
                    int first = tokens[k];
                    h = step(h, first);
                    int slot = lookup(table, layout, tokenVocabularySize, h, parent, first, slotsRead);
                    if (slot < 0) {
                        if (++nodes > maxNodes) {
                            return -1;
                        }
                        slot = (int) (h >>> shift);
                        while (packed ? table[slot] != 0 : table[slot << 1] != WIDE_EMPTY) {
                            slot = (slot + 1) & mask;
                        }
                        if (packed) {
                            table[slot] = packedCode(parent, first, layout.tokenBits) << valueShift;
                        } else {
                            table[slot << 1] = wideKey(parent, first);
                            table[(slot << 1) + 1] = NO_MATCH & 0xFFFFFFFFL;
                        }
                    }
                    if (parent < layout.capacity) {
                        addToFilter(table, layout, (int) parent, first);
                    }
                    if (k == start) {
                        int other = idAt(table, layout, slot);
                        if (other != NO_MATCH) {
                            throw new IllegalArgumentException("f-gram " + Arrays.toString(Arrays.copyOfRange(tokens,
                                    start, end)) + " added twice (ids " + other + " and " + ids[f] + ")");
                        }
                        if (packed) {
                            table[slot] += ids[f] + 1L;
                        } else {
                            table[(slot << 1) + 1] = (table[(slot << 1) + 1] & ~0xFFFFFFFFL) | (ids[f] & 0xFFFFFFFFL);
                        }
                    }
                    parent = slot;
                }
            }
            return nodes;
        }

        // Returns the largest id (-1 when there is none).
        private int checkDistinctIds() {
            int[] sorted = Arrays.copyOf(ids, count);
            Arrays.sort(sorted);
            for (int k = 1; k < count; k++) {
                if (sorted[k] == sorted[k - 1]) {
                    throw new IllegalArgumentException("f-gram id " + sorted[k] + " added twice");
                }
            }
            return count == 0 ? -1 : sorted[count - 1];
        }
    }
}

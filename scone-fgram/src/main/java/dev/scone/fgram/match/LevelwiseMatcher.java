package dev.scone.fgram.match;

import dev.scone.fgram.vocab.FgramVocabulary;
import it.unimi.dsi.fastutil.ints.IntArrayList;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import it.unimi.dsi.fastutil.longs.LongArrayList;
import java.util.Arrays;
import java.util.Objects;

/**
 * The exact longest-suffix f-gram matcher (the paper's Algorithm 1), one length at a time: for
 * every position {@code i} of a document, the id of the longest f-gram {@code s[j .. i]} with
 * {@code 2 <= i - j + 1 <= K} and {@code j} inside the document, or {@link #NO_MATCH}.
 *
 * <p>The nodes are the token sequences of 2..K tokens that occur inside some f-gram (for a
 * vocabulary counted by Algorithm 3, which is closed under prefixes and suffixes, exactly the
 * f-grams). Since that set is closed under taking prefixes and suffixes, the sequence of n tokens
 * ending at position {@code i} can be a node only if the n-1 tokens ending at {@code i - 1} (its
 * prefix) and the n-1 tokens ending at {@code i} (its suffix) are nodes. So a stretch of text is
 * matched level by level: first every pair of neighbouring tokens is looked up, then n = 3 only
 * where both pairs it contains were found, and so on up to K. Each lookup of a level is keyed by
 * the node found for the prefix and the last token, and is independent of every other lookup of
 * that level: they are issued in one loop with no branch on their results, so that the processor
 * keeps many table reads in flight instead of waiting for each in turn (a random read into a
 * table of 10^6 nodes is a likely cache miss). The answer at a position is the output of the
 * longest node found there: its longest suffix that is an f-gram (the node itself for a closed
 * vocabulary).
 *
 * <p>Each length has its own open-addressing table, a node living in the slot of its key
 * (the prefix node's slot and the last token, compared in full, never by hash alone), with its
 * output id packed into the same long when that fits. A 32-bit filter per token of the tokens
 * that can follow it skips most pairs that are no node. A document is matched in blocks of up to
 * {@value #DEFAULT_BLOCK} positions, so the working arrays stay in the first-level cache.
 *
 * <p>Immutable and safe for concurrent use; matching allocates its working arrays (a few tens of
 * KiB at most) per call. Token ids outside {@code [0, tokenVocabularySize())} in the input are
 * accepted and never part of a match.
 */
public final class LevelwiseMatcher implements FgramMatcher {

    /** The most table slots one length may use. */
    static final int MAX_CAPACITY = 1 << 30;

    /** Positions matched together by default. */
    static final int DEFAULT_BLOCK = 1024;

    /** The most per-token filters; larger token vocabularies share them. */
    private static final int MAX_FILTERS = 1 << 20;

    /** The largest fraction of a length's slots its nodes fill. */
    private static final double MAX_LOAD = 0.5;

    private final int tokenVocabularySize;
    private final int maxN;
    private final int size;
    private final int nodeCount;
    private final int tokenBits;
    private final int block;
    // tables[n] (n = 2..K): slot s holds 0 when free, else (key + 1) << idBits | (output + 1) in the
    // packed layout, key + 1 in the wide one (idBits = 0, outputs in outputs[n]). The key of a node
    // of length 2 is first << tokenBits | second, of a longer one prefixSlot << tokenBits | last.
    private final long[][] tables;
    private final int[] shifts;
    private final int[][] outputs;
    private final boolean packed;
    private final int idBits;
    // For each token x, at x & (length - 1), bit (filterIndex(t) & 31) is set for every token t
    // that follows x in a node.
    private final int[] followFilter;
    private final byte[] lengthOf;

    private LevelwiseMatcher(int tokenVocabularySize, int maxN, int size, int nodeCount, int tokenBits, int block,
            long[][] tables, int[][] outputs, boolean packed, int idBits, int[] followFilter, byte[] lengthOf) {
        this.tokenVocabularySize = tokenVocabularySize;
        this.maxN = maxN;
        this.size = size;
        this.nodeCount = nodeCount;
        this.tokenBits = tokenBits;
        this.block = block;
        this.tables = tables;
        this.outputs = outputs;
        this.packed = packed;
        this.idBits = idBits;
        this.followFilter = followFilter;
        this.lengthOf = lengthOf;
        this.shifts = new int[maxN + 1];
        for (int n = 2; n <= maxN; n++) {
            shifts[n] = 64 - Integer.numberOfTrailingZeros(tables[n].length);
        }
    }

    /**
     * Builds a matcher over every f-gram of a vocabulary, with the vocabulary's ids.
     *
     * @param vocabulary the f-gram vocabulary
     * @return the matcher
     * @throws IllegalArgumentException if one length needs more than {@value #MAX_CAPACITY} slots
     */
    public static LevelwiseMatcher of(FgramVocabulary vocabulary) {
        return build(vocabulary, DEFAULT_BLOCK, true);
    }

    /**
     * Builds with a given block size and, if allowed, the packed layout (tests use both layouts
     * and tiny blocks).
     */
    static LevelwiseMatcher build(FgramVocabulary vocabulary, int block, boolean allowPacked) {
        Objects.requireNonNull(vocabulary, "vocabulary");
        if (block < 1) {
            throw new IllegalArgumentException("block must be >= 1, got " + block);
        }
        int vocab = vocabulary.tokenVocabularySize();
        int maxN = vocabulary.maxN();
        if (maxN > Byte.MAX_VALUE) {
            throw new IllegalArgumentException("maxN (K) must be <= " + Byte.MAX_VALUE + ", got " + maxN);
        }
        int count = vocabulary.size();
        int tokenBits = Math.max(1, 32 - Integer.numberOfLeadingZeros(vocab - 1));
        int[] offsets = new int[count + 1];
        byte[] lengthOf = new byte[count];
        for (int id = 0; id < count; id++) {
            lengthOf[id] = (byte) vocabulary.length(id);
            offsets[id + 1] = offsets[id] + lengthOf[id];
        }
        int[] tokens = new int[offsets[count]];
        for (int id = 0; id < count; id++) {
            vocabulary.copyTokens(id, tokens, offsets[id]);
        }
        // ref[offsets[f] + j]: the slot, in the table of the length being built, of the node
        // tokens[j .. j + n) of f-gram f.
        int[] ref = new int[tokens.length];
        int[] next = new int[tokens.length];
        long[][] keyTables = new long[maxN + 1][];
        int[][] outTables = new int[maxN + 1][];
        long maxKeyPlusOne = 0;
        int nodeCount = 0;
        // One filter per token up to 2^20 tokens; beyond, tokens share filters (token & mask).
        int[] followFilter = new int[Integer.highestOneBit(Math.max(1, Math.min(vocab, MAX_FILTERS) - 1)) << 1];
        for (int n = 2; n <= maxN; n++) {
            Long2IntOpenHashMap index = new Long2IntOpenHashMap();
            index.defaultReturnValue(-1);
            LongArrayList keys = new LongArrayList();
            IntArrayList own = new IntArrayList();
            IntArrayList suffixSlot = new IntArrayList();
            for (int f = 0; f < count; f++) {
                int off = offsets[f];
                int len = offsets[f + 1] - off;
                for (int j = 0; j + n <= len; j++) {
                    long key = n == 2 ? (long) tokens[off + j] << tokenBits | tokens[off + j + 1]
                            : (long) ref[off + j] << tokenBits | tokens[off + j + n - 1];
                    int k = index.putIfAbsent(key, keys.size());
                    if (k < 0) {
                        k = keys.size();
                        keys.add(key);
                        own.add(NO_MATCH);
                        suffixSlot.add(n == 2 ? -1 : ref[off + j + 1]);
                    }
                    if (j == 0 && n == len) {
                        own.set(k, f);
                    }
                    next[off + j] = k;
                }
            }
            int nodes = keys.size();
            nodeCount += nodes;
            long capacity = Long.highestOneBit(Math.max(2L, (long) Math.ceil(nodes / MAX_LOAD)) - 1) << 1;
            if (capacity > MAX_CAPACITY) {
                throw new IllegalArgumentException(nodes + " nodes of length " + n + " need more than " + MAX_CAPACITY
                        + " table slots");
            }
            int cap = (int) capacity;
            int shift = 64 - Integer.numberOfTrailingZeros(cap);
            long[] table = new long[cap];
            int[] out = new int[cap];
            int[] slotOf = new int[nodes];
            for (int k = 0; k < nodes; k++) {
                long key = keys.getLong(k);
                int s = (int) (mix(key) >>> shift);
                while (table[s] != 0) {
                    s = (s + 1) & (cap - 1);
                }
                table[s] = key + 1;
                maxKeyPlusOne = Math.max(maxKeyPlusOne, key + 1);
                slotOf[k] = s;
                int o = own.getInt(k);
                out[s] = o != NO_MATCH || n == 2 ? o : outTables[n - 1][suffixSlot.getInt(k)];
                if (n == 2) {
                    followFilter[(int) (key >>> tokenBits) & (followFilter.length - 1)] |= 1 << (filterIndex((int) (key & ((1L << tokenBits) - 1)))
                            & 31);
                }
            }
            for (int f = 0; f < count; f++) {
                int off = offsets[f];
                int len = offsets[f + 1] - off;
                for (int j = 0; j + n <= len; j++) {
                    ref[off + j] = slotOf[next[off + j]];
                }
            }
            keyTables[n] = table;
            outTables[n] = out;
        }
        int idBits = 64 - Long.numberOfLeadingZeros(count); // output + 1 is at most count
        boolean packed = allowPacked && idBits + (64 - Long.numberOfLeadingZeros(maxKeyPlusOne)) <= 64;
        if (packed) {
            for (int n = 2; n <= maxN; n++) {
                long[] t = keyTables[n];
                int[] out = outTables[n];
                for (int s = 0; s < t.length; s++) {
                    if (t[s] != 0) {
                        t[s] = t[s] << idBits | (out[s] + 1L);
                    }
                }
                outTables[n] = null;
            }
        }
        return new LevelwiseMatcher(vocab, maxN, count, nodeCount, tokenBits, block, keyTables,
                packed ? null : outTables, packed, packed ? idBits : 0, followFilter, lengthOf);
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
     * @return the number of nodes: the distinct sequences of 2..K tokens inside some f-gram; equal
     *     to {@link #size()} for a vocabulary closed under prefixes and suffixes
     */
    public int nodeCount() {
        return nodeCount;
    }

    /** @return whether each slot holds its node's output too, rather than a parallel array */
    boolean isPacked() {
        return packed;
    }

    /** @return the bytes held by the matcher's arrays */
    public long memoryBytes() {
        long bytes = 4L * followFilter.length + lengthOf.length + 64;
        for (int n = 2; n <= maxN; n++) {
            bytes += 8L * tables[n].length + (outputs == null ? 0 : 4L * outputs[n].length);
        }
        return bytes;
    }

    @Override
    public void match(int[] tokens, int from, int len, int[] out, int outOffset) {
        Objects.checkFromIndexSize(from, len, tokens.length);
        Objects.checkFromIndexSize(outOffset, len, out.length);
        run(tokens, from, len, out, outOffset, null, 0, new Scratch(Math.min(len, block)), null);
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
        Objects.checkFromIndexSize(from, len, tokens.length);
        Objects.checkFromIndexSize(idsOffset, len, ids.length);
        Objects.checkFromIndexSize(lengthsOffset, len, lengths.length);
        run(tokens, from, len, ids, idsOffset, lengths, lengthsOffset, new Scratch(Math.min(len, block)), null);
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
        Scratch scratch = new Scratch(Math.min(cols, block));
        for (int r = 0; r < rows; r++) {
            run(window, r * cols, cols, ids, r * cols, lengths, r * cols, scratch, null);
        }
    }

    /**
     * Counts the work {@link #match(int[], int, int, int[], int)} does on a document; for
     * benchmarks and tuning. A lookup is one probe of a table; slots read counts its
     * linear-probing steps too.
     *
     * @param tokens token ids
     * @param from first position of the document
     * @param len number of positions
     * @return the counts
     */
    public MatchStats stats(int[] tokens, int from, int len) {
        Objects.checkFromIndexSize(from, len, tokens.length);
        int[] ids = new int[len];
        long[] counters = new long[2];
        run(tokens, from, len, ids, 0, null, 0, new Scratch(Math.min(len, block)), counters);
        long matched = 0;
        for (int id : ids) {
            matched += id == NO_MATCH ? 0 : 1;
        }
        return new MatchStats(len, counters[0], counters[1], matched);
    }

    /** Working arrays for blocks of up to {@code capacity} positions. */
    private final class Scratch {

        // node[n][q + 1]: 1 + the slot of the node of length n ending at the block's position q,
        // or 0; node[n][0] is the same for the position before the block.
        final int[][] node;
        // found[n][0 .. foundCount[n]): the block positions where a node of length n was found.
        final int[][] found;
        final int[] foundCount;
        final int[] position;
        final long[] key;
        final int[] slot;
        final long[] value;
        final int[] retry;

        Scratch(int capacity) {
            int c = Math.max(1, capacity);
            node = new int[maxN + 1][c + 1];
            found = new int[maxN + 1][c];
            foundCount = new int[maxN + 1];
            position = new int[c];
            key = new long[c];
            slot = new int[c];
            value = new long[c];
            retry = new int[c];
        }
    }

    // Matches tokens[from .. from + len) into ids (and lengths, if not null), block by block;
    // counts lookups and slots read into counters, if not null.
    private void run(int[] tokens, int from, int len, int[] ids, int idsOffset, int[] lengths, int lengthsOffset,
            Scratch sc, long[] counters) {
        final int bs = sc.position.length;
        final int vocab = tokenVocabularySize;
        final int tb = tokenBits;
        final int[] follow = followFilter;
        final int fm = followFilter.length - 1;
        final int[] position = sc.position;
        final long[] key = sc.key;
        final int[] slot = sc.slot;
        for (int n = 2; n <= maxN; n++) {
            sc.node[n][0] = 0;
        }
        for (int b = 0; b < len; b += bs) {
            final int m = Math.min(bs, len - b);
            final int base = from + b;
            final int out = idsOffset + b;
            Arrays.fill(ids, out, out + m, NO_MATCH);
            // Length 2: every pair inside the document whose filter lets it through.
            int sh = shifts[2];
            int c = 0;
            for (int q = b == 0 ? 1 : 0; q < m; q++) {
                int x = tokens[base + q - 1];
                int y = tokens[base + q];
                int fx = Integer.compareUnsigned(x, vocab) < 0 ? follow[x & fm] : 0;
                int pass = (fx >>> (filterIndex(y) & 31)) & (Integer.compareUnsigned(y, vocab) < 0 ? 1 : 0);
                long k = (long) x << tb | (y & 0xFFFFFFFFL);
                position[c] = q;
                key[c] = k;
                slot[c] = (int) (mix(k) >>> sh);
                c += pass;
            }
            resolve(2, c, sc, m, ids, out, counters);
            // Length n: where the nodes of length n - 1 ending here and just before were found.
            for (int n = 3; n <= maxN; n++) {
                int[] prev = sc.node[n - 1];
                int[] list = sc.found[n - 1];
                int listed = sc.foundCount[n - 1];
                sh = shifts[n];
                c = 0;
                for (int j = 0; j < listed; j++) {
                    int q = list[j];
                    int p = prev[q];
                    long k = (long) (p - 1) << tb | tokens[base + q];
                    position[c] = q;
                    key[c] = k;
                    slot[c] = (int) (mix(k) >>> sh);
                    c += (p | -p) >>> 31;
                }
                resolve(n, c, sc, m, ids, out, counters);
            }
            for (int n = 2; n <= maxN; n++) {
                sc.node[n][0] = sc.node[n][m];
            }
            if (lengths != null) {
                int lo = lengthsOffset + b;
                for (int q = 0; q < m; q++) {
                    int id = ids[out + q];
                    lengths[lo + q] = id == NO_MATCH ? 1 : lengthOf[id];
                }
            }
        }
    }

    // Looks up the c keys of length n queued in the scratch: first reads all their home slots,
    // then settles each, recording where a node was found and its output.
    private void resolve(int n, int c, Scratch sc, int m, int[] ids, int out, long[] counters) {
        final long[] t = tables[n];
        final int mask = t.length - 1;
        final int ib = idBits;
        final long idMask = (1L << ib) - 1;
        final int[] slot = sc.slot;
        final long[] value = sc.value;
        final long[] key = sc.key;
        final int[] position = sc.position;
        final int[] node = sc.node[n];
        final int[] found = sc.found[n];
        final int[] outs = outputs == null ? null : outputs[n];
        Arrays.fill(node, 1, m + 1, 0);
        for (int j = 0; j < c; j++) {
            value[j] = t[slot[j]];
        }
        // Most keys are settled by their home slot: found there, or absent since it is free. That
        // is decided without a branch; the others are queued and walk their probe sequence after.
        final int[] retry = sc.retry;
        int k = 0;
        int r = 0;
        for (int j = 0; j < c; j++) {
            long e = value[j];
            int hit = e >>> ib == key[j] + 1 ? 1 : 0;
            int q = position[j];
            int s = slot[j];
            node[q + 1] = (s + 1) & -hit;
            found[k] = q;
            k += hit;
            int id = outs == null ? (int) (e & idMask) - 1 : hit == 0 ? NO_MATCH : outs[s];
            int o = ids[out + q];
            ids[out + q] = o ^ ((o ^ id) & -hit);
            retry[r] = j;
            r += (int) ((e | -e) >>> 63) & (hit ^ 1);
        }
        long extra = 0;
        for (int i = 0; i < r; i++) {
            int j = retry[i];
            long want = key[j] + 1;
            int s = slot[j];
            long e;
            do {
                s = (s + 1) & mask;
                e = t[s];
                extra++;
            } while (e != 0 && e >>> ib != want);
            if (e != 0) {
                int q = position[j];
                node[q + 1] = s + 1;
                found[k++] = q;
                ids[out + q] = outs == null ? (int) (e & idMask) - 1 : outs[s];
            }
        }
        sc.foundCount[n] = k;
        if (counters != null) {
            counters[0] += c;
            counters[1] += c + extra;
        }
    }

    private static long mix(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        h ^= h >>> 32;
        return h * 0xC2B2AE3D27D4EB4FL;
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
        long slots = 0;
        for (int n = 2; n <= maxN; n++) {
            slots += tables[n].length;
        }
        return "LevelwiseMatcher[size=" + size + ", maxN=" + maxN + ", nodes=" + nodeCount + ", slots=" + slots + ", "
                + (packed ? "packed" : "wide") + "]";
    }
}

package dev.scone.fgram.match;

import dev.scone.fgram.vocab.FgramVocabulary;
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
 * output id packed into the same long when that fits. A table holds up to 2^32 slots (a slot is
 * an unsigned int; the last slot is reserved) in arrays of 2^30, so that one length may hold any
 * number of nodes up to the vocabulary's 2^31 - 1 f-grams. A 32-bit filter per token of the tokens that can follow it skips most pairs
 * that are no node. A document is matched in blocks of up to {@value #DEFAULT_BLOCK} positions, so
 * the working arrays stay in the first-level cache.
 *
 * <p>Memory: a table has 2 to 4 slots per node (at most half full, a power of two), of 8 bytes
 * (12 where the output does not fit beside the key), plus one byte per f-gram for its length and
 * up to 4 MiB of filters: 17 to 33 bytes per node, 25 to 49 in the wide layout
 * ({@link #memoryBytes()}). Construction reads
 * the vocabulary once per length, in order (a mapped vocabulary stays off the heap), and holds
 * nothing per f-gram but the finished tables of the shorter lengths and the table being filled,
 * which doubles when it is half full; its peak ({@link #constructionPeakBytes()}) is the finished
 * matcher plus, at most, the table being filled at half and at full size at once.
 *
 * <p>Immutable and safe for concurrent use; matching allocates its working arrays (a few tens of
 * KiB at most) per call. Token ids outside {@code [0, tokenVocabularySize())} in the input are
 * accepted and never part of a match.
 */
public final class LevelwiseMatcher implements FgramMatcher {

    /** Slots per table array by default: 2^30 (8 GiB of longs). */
    static final int DEFAULT_PAGE_BITS = 30;

    /** Positions matched together by default. */
    static final int DEFAULT_BLOCK = 1024;

    /** The most per-token filters; larger token vocabularies share them. */
    private static final int MAX_FILTERS = 1 << 20;

    /** The widest key: a slot and a token id together. */
    private static final int MAX_KEY_BITS = 62;

    /** The most slots one length may use: 2^32, so that a slot (unsigned) and slot + 1 fit an int. */
    static final long MAX_CAPACITY = 1L << 32;

    private final int tokenVocabularySize;
    private final int maxN;
    private final int size;
    private final long nodeCount;
    private final int tokenBits;
    private final int block;
    private final int pageBits;
    private final int pageMask;
    // tables[n][page] (n = 2..K): slot s (in page s >>> pageBits) holds 0 when free, else
    // (key + 1) << idBits[n] | (output + 1) in the packed layout, key + 1 in the wide one
    // (idBits[n] = 0, outputs in outputs[n]). The key of a node of length 2 is
    // first << tokenBits | second, of a longer one prefixSlot << tokenBits | last.
    private final long[][][] tables;
    private final int[][][] outputs;
    private final int[] idBits;
    private final int[] shifts;
    private final int[] masks; // capacity - 1 (a capacity of 2^32 is -1)
    // For each token x, at x & (length - 1), bit (filterIndex(t) & 31) is set for every token t
    // that follows x in a node.
    private final int[] followFilter;
    private final byte[][] lengthOf; // by f-gram id, in pages of 2^pageBits
    private final long constructionPeakBytes;

    private LevelwiseMatcher(Builder b) {
        this.tokenVocabularySize = b.vocab;
        this.maxN = b.maxN;
        this.size = b.count;
        this.nodeCount = b.nodeCount;
        this.tokenBits = b.tokenBits;
        this.block = b.block;
        this.pageBits = b.pageBits;
        this.pageMask = (1 << b.pageBits) - 1;
        this.tables = new long[maxN + 1][][];
        this.outputs = new int[maxN + 1][][];
        this.idBits = new int[maxN + 1];
        this.shifts = new int[maxN + 1];
        this.masks = new int[maxN + 1];
        for (int n = 2; n <= maxN; n++) {
            Level l = b.levels[n];
            tables[n] = l.entries;
            outputs[n] = l.outs;
            idBits[n] = l.ib;
            shifts[n] = l.shift;
            masks[n] = (int) (l.capacity - 1);
        }
        this.followFilter = b.followFilter;
        this.lengthOf = b.lengthOf;
        this.constructionPeakBytes = b.peak;
    }

    /**
     * Builds a matcher over every f-gram of a vocabulary, with the vocabulary's ids.
     *
     * @param vocabulary the f-gram vocabulary (a whole one, on the heap or mapped)
     * @return the matcher
     * @throws IllegalArgumentException when an f-gram appears twice, K exceeds 127, or a vocabulary
     *     read as a range is given
     */
    public static LevelwiseMatcher of(FgramVocabulary vocabulary) {
        return build(vocabulary, DEFAULT_BLOCK, true, DEFAULT_PAGE_BITS);
    }

    /** Builds with a given block size and, if allowed, the packed layout (tests use both layouts and tiny blocks). */
    static LevelwiseMatcher build(FgramVocabulary vocabulary, int block, boolean allowPacked) {
        return build(vocabulary, block, allowPacked, DEFAULT_PAGE_BITS);
    }

    /**
     * Builds with tables split into arrays of 2^pageBits slots (tests use a few slots per array, so
     * that the code paths of tables larger than one array run at small scale).
     */
    static LevelwiseMatcher build(FgramVocabulary vocabulary, int block, boolean allowPacked, int pageBits) {
        Objects.requireNonNull(vocabulary, "vocabulary");
        if (block < 1) {
            throw new IllegalArgumentException("block must be >= 1, got " + block);
        }
        if (pageBits < 1 || pageBits > 30) {
            throw new IllegalArgumentException("pageBits must be in [1, 30], got " + pageBits);
        }
        if (!vocabulary.isWhole()) {
            throw new IllegalArgumentException("a matcher needs every f-gram; " + vocabulary + " holds a range");
        }
        if (vocabulary.maxN() > Byte.MAX_VALUE) {
            throw new IllegalArgumentException("maxN (K) must be <= " + Byte.MAX_VALUE + ", got " + vocabulary.maxN());
        }
        Builder b = new Builder(vocabulary, block, allowPacked, pageBits);
        b.run();
        return new LevelwiseMatcher(b);
    }

    /**
     * One length's table while it is filled and once it is finished: slots in arrays of 2^pageBits,
     * packed (idBits &gt; 0) or wide (outputs beside).
     */
    private static final class Level {

        /** The entry of the reserved last slot: not free, and (its top bit set) no node's. */
        static final long RESERVED = -1L;

        final int pageBits;
        final int pageMask;
        final int ib;
        final long idMask;
        long capacity;
        int shift;
        long size;
        long[][] entries;
        int[][] outs;

        Level(int pageBits, int ib, long capacity) {
            this.pageBits = pageBits;
            this.pageMask = (1 << pageBits) - 1;
            this.ib = ib;
            this.idMask = (1L << ib) - 1;
            allocate(capacity);
        }

        private void allocate(long cap) {
            if (cap > MAX_CAPACITY) {
                throw new IllegalArgumentException("a length needs more than " + MAX_CAPACITY + " slots");
            }
            capacity = cap;
            shift = 64 - Long.numberOfTrailingZeros(cap);
            int perPage = (int) Math.min(cap, 1L << pageBits);
            entries = new long[(int) (cap / perPage)][];
            for (int p = 0; p < entries.length; p++) {
                entries[p] = new long[perPage];
            }
            if (ib == 0) {
                outs = new int[entries.length][];
                for (int p = 0; p < outs.length; p++) {
                    outs[p] = new int[perPage];
                }
            } else {
                outs = null;
            }
            // The last slot is never free and matches no key, so that a slot + 1 fits 32 bits
            // (unsigned) even in a table of 2^32 slots.
            entries[entries.length - 1][perPage - 1] = RESERVED;
        }

        long bytes() {
            return capacity * (ib == 0 ? 12 : 8);
        }

        long entry(long slot) {
            return entries[(int) (slot >>> pageBits)][(int) slot & pageMask];
        }

        int output(long slot) {
            return ib == 0 ? outs[(int) (slot >>> pageBits)][(int) slot & pageMask]
                    : (int) (entry(slot) & idMask) - 1;
        }

        void set(long slot, long key, int output) {
            int p = (int) (slot >>> pageBits);
            int i = (int) slot & pageMask;
            if (ib == 0) {
                entries[p][i] = key + 1;
                outs[p][i] = output;
            } else {
                entries[p][i] = (key + 1) << ib | (output + 1L);
            }
        }

        /** @return the slot of the key, or -1 */
        long find(long key) {
            long s = probe(key);
            return entry(s) == 0 ? -1 : s;
        }

        /** @return the slot where the key would go: its own or the first free one */
        long probe(long key) {
            long want = key + 1;
            long s = mix(key) >>> shift;
            long e;
            while ((e = entry(s)) != 0 && e >>> ib != want) {
                s = (s + 1) & (capacity - 1);
            }
            return s;
        }

        /** Moves every node into a table of twice the capacity. */
        void grow() {
            long[][] oldEntries = entries;
            int[][] oldOuts = outs;
            long oldCapacity = capacity;
            allocate(oldCapacity * 2);
            int perPage = oldEntries[0].length;
            for (long s = 0; s < oldCapacity; s++) {
                long e = oldEntries[(int) (s / perPage)][(int) (s % perPage)];
                if (e != 0 && e != RESERVED) {
                    long key = (e >>> ib) - 1;
                    int out = ib == 0 ? oldOuts[(int) (s / perPage)][(int) (s % perPage)] : (int) (e & idMask) - 1;
                    set(probe(key), key, out);
                }
            }
        }
    }

    /**
     * The construction: one pass over the vocabulary for the lengths of the f-grams, then one pass
     * per length n = 2..K that inserts the nodes of length n of every f-gram, each keyed by the
     * slot of its prefix in the finished table of length n - 1 (found again by walking the
     * f-gram's shorter nodes from length 2).
     */
    private static final class Builder {

        final FgramVocabulary vocabulary;
        final int vocab;
        final int maxN;
        final int count;
        final int tokenBits;
        final int block;
        final boolean allowPacked;
        final int pageBits;
        final Level[] levels;
        byte[][] lengthOf;
        int[] followFilter;
        long nodeCount;
        long live;
        long peak;

        Builder(FgramVocabulary vocabulary, int block, boolean allowPacked, int pageBits) {
            this.vocabulary = vocabulary;
            this.vocab = vocabulary.tokenVocabularySize();
            this.maxN = vocabulary.maxN();
            this.count = vocabulary.size();
            this.tokenBits = Math.max(1, 32 - Integer.numberOfLeadingZeros(vocab - 1));
            this.block = block;
            this.allowPacked = allowPacked;
            this.pageBits = pageBits;
            this.levels = new Level[maxN + 1];
        }

        private void hold(long bytes) {
            live += bytes;
            peak = Math.max(peak, live);
        }

        void run() {
            // One filter per token up to 2^20 tokens; beyond, tokens share filters (token & mask).
            followFilter = new int[Integer.highestOneBit(Math.max(1, Math.min(vocab, MAX_FILTERS) - 1)) << 1];
            hold(4L * followFilter.length);
            lengthOf = new byte[(int) ((count + (1L << pageBits) - 1) >>> pageBits)][];
            for (int p = 0; p < lengthOf.length; p++) {
                lengthOf[p] = new byte[(int) Math.min(1L << pageBits, count - ((long) p << pageBits))];
            }
            hold(count);
            long[] perLength = new long[maxN + 1];
            FgramVocabulary.Cursor c = vocabulary.cursor();
            while (c.next()) {
                lengthOf[c.id() >>> pageBits][c.id() & ((1 << pageBits) - 1)] = (byte) c.length();
                perLength[c.length()]++;
            }
            int outputBits = 64 - Long.numberOfLeadingZeros(count); // output + 1 is at most count
            for (int n = 2; n <= maxN; n++) {
                long maxKeyPlusOne;
                if (n == 2) {
                    maxKeyPlusOne = ((long) (vocab - 1) << tokenBits | (vocab - 1)) + 1;
                } else {
                    int slotBits = Long.numberOfTrailingZeros(levels[n - 1].capacity);
                    if (slotBits + tokenBits > MAX_KEY_BITS) {
                        throw new IllegalArgumentException(levels[n - 1].size + " nodes of length " + (n - 1)
                                + " with " + vocab + " token ids need keys of more than " + MAX_KEY_BITS + " bits");
                    }
                    maxKeyPlusOne = ((levels[n - 1].capacity - 1) << tokenBits | (vocab - 1)) + 1;
                }
                // Packed entries keep the top bit clear, so that no entry equals the reserved slot's.
                boolean packed = allowPacked && outputBits > 0
                        && outputBits + (64 - Long.numberOfLeadingZeros(maxKeyPlusOne)) <= 63;
                // Every f-gram of length n is a node of length n: the table starts large enough for
                // them, so that a closed vocabulary never grows it.
                long capacity = Long.highestOneBit(Math.max(4L, 2 * perLength[n]) - 1) << 1;
                Level level = new Level(pageBits, packed ? outputBits : 0, capacity);
                hold(level.bytes());
                levels[n] = level;
                fill(n, level);
                nodeCount += level.size;
            }
        }

        /** F-grams whose lookups are issued together while a table is filled. */
        private static final int BATCH = 1024;

        // Inserts the nodes of length n of every f-gram, a batch of f-grams at a time: first the
        // slots of their nodes of length n - 1 are found, one shorter length at a time for the
        // whole batch (independent lookups, many cache misses in flight), then the home slots of
        // the new keys are read (so that they are cached), then the keys are inserted in order.
        private void fill(int n, Level level) {
            int[] tokens = new int[BATCH * maxN];
            int[] lengths = new int[BATCH];
            int[] ids = new int[BATCH];
            int[] first = new int[BATCH + 1]; // the batch's f-gram b has the entries [first[b], first[b + 1])
            long[] keys = new long[BATCH * maxN];
            long[] slots = new long[BATCH * maxN];
            long[] values = new long[BATCH * maxN];
            FgramVocabulary.Cursor c = vocabulary.cursor();
            boolean more = true;
            while (more) {
                int batch = 0;
                while (batch < BATCH && (more = c.next())) {
                    if (c.length() >= n) {
                        lengths[batch] = c.length();
                        ids[batch] = c.id();
                        System.arraycopy(c.tokens(), 0, tokens, batch * maxN, c.length());
                        batch++;
                    }
                }
                if (n > 2) {
                    // slots[first[b] + j]: the slot of the node of length n - 1 at g[j] of f-gram b.
                    int e = 0;
                    for (int b = 0; b < batch; b++) {
                        first[b] = e;
                        int at = b * maxN;
                        for (int j = 0; j + n - 1 <= lengths[b]; j++) {
                            keys[e++] = (long) tokens[at + j] << tokenBits | tokens[at + j + 1];
                        }
                    }
                    first[batch] = e;
                    for (int m = 2; m < n; m++) {
                        lookUp(m, keys, slots, values, e);
                        if (m + 1 < n) {
                            for (int b = 0; b < batch; b++) {
                                int at = b * maxN + m;
                                for (int k = first[b]; k < first[b + 1]; k++) {
                                    keys[k] = slots[k] << tokenBits | tokens[at + k - first[b]];
                                }
                            }
                        }
                    }
                }
                long touched = 0;
                for (int b = 0; b < batch; b++) {
                    int at = b * maxN;
                    for (int j = 0; j + n <= lengths[b]; j++) {
                        touched += level.entry(mix(key(n, tokens, at, j, slots, first[b])) >>> level.shift);
                    }
                }
                sink += touched;
                for (int b = 0; b < batch; b++) {
                    insert(n, level, tokens, b * maxN, lengths[b], ids[b], slots, first[b]);
                }
            }
        }

        long sink; // keeps the reads that cache the home slots

        private long key(int n, int[] tokens, int at, int j, long[] slots, int firstEntry) {
            return n == 2 ? (long) tokens[at + j] << tokenBits | tokens[at + j + 1]
                    : slots[firstEntry + j] << tokenBits | tokens[at + j + n - 1];
        }

        // Finds the slots of e keys that are all in the table: reads every home slot first, then
        // walks the probe sequence of those not settled there.
        private void lookUp(int m, long[] keys, long[] slots, long[] values, int e) {
            Level level = levels[m];
            for (int k = 0; k < e; k++) {
                slots[k] = mix(keys[k]) >>> level.shift;
            }
            for (int k = 0; k < e; k++) {
                values[k] = level.entry(slots[k]);
            }
            for (int k = 0; k < e; k++) {
                if (values[k] >>> level.ib != keys[k] + 1) {
                    long s = level.find(keys[k]);
                    if (s < 0) {
                        throw new IllegalStateException("a node of length " + m + " is missing from its table");
                    }
                    slots[k] = s;
                }
            }
        }

        // Inserts the nodes of length n of one f-gram g = tokens[at .. at + len).
        private void insert(int n, Level level, int[] tokens, int at, int len, int f, long[] slots, int firstEntry) {
            for (int j = 0; j + n <= len; j++) {
                long key = key(n, tokens, at, j, slots, firstEntry);
                int own = j == 0 && n == len ? f : NO_MATCH;
                long s = level.probe(key);
                if (level.entry(s) != 0) {
                    if (own != NO_MATCH) {
                        int o = level.output(s);
                        if (o != NO_MATCH && length(o) == n) {
                            throw new IllegalArgumentException("f-gram "
                                    + Arrays.toString(Arrays.copyOfRange(tokens, at, at + len)) + " appears twice (ids "
                                    + o + " and " + f + ")");
                        }
                        level.set(s, key, own);
                    }
                    continue;
                }
                // A new node: its output is its own id, or else that of its suffix, the node
                // g[j + 1 .. j + n) of length n - 1 (none for a pair).
                int output = own != NO_MATCH || n == 2 ? own : levels[n - 1].output(slots[firstEntry + j + 1]);
                if (level.size + 1 > level.capacity / 2) {
                    hold(level.bytes() * 2); // the doubled table, beside the old one
                    long before = level.bytes();
                    level.grow();
                    live -= before;
                    s = level.probe(key);
                }
                level.set(s, key, output);
                level.size++;
                if (n == 2) {
                    followFilter[tokens[at + j] & (followFilter.length - 1)] |= 1 << (filterIndex(tokens[at + j + 1]) & 31);
                }
            }
        }

        private int length(int id) {
            return lengthOf[id >>> pageBits][id & ((1 << pageBits) - 1)];
        }
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
    public long nodeCount() {
        return nodeCount;
    }

    /** @return whether every length's slots hold their node's output too, rather than a parallel array */
    boolean isPacked() {
        for (int n = 2; n <= maxN; n++) {
            if (outputs[n] != null) {
                return false;
            }
        }
        return true;
    }

    /** @return the bytes held by the matcher's arrays */
    public long memoryBytes() {
        long bytes = 4L * followFilter.length + size + 64;
        for (int n = 2; n <= maxN; n++) {
            bytes += ((masks[n] & 0xFFFFFFFFL) + 1) * (outputs[n] == null ? 8 : 12);
        }
        return bytes;
    }

    /**
     * @return the most bytes the construction held at once in its own arrays (the tables, the
     *     f-gram lengths and the filters; the vocabulary not counted)
     */
    public long constructionPeakBytes() {
        return constructionPeakBytes;
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
                    long k = ((p - 1) & 0xFFFFFFFFL) << tb | tokens[base + q];
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
                final int pb = pageBits;
                final int pm = pageMask;
                for (int q = 0; q < m; q++) {
                    int id = ids[out + q];
                    lengths[lo + q] = id == NO_MATCH ? 1 : lengthOf[id >>> pb][id & pm];
                }
            }
        }
    }

    // Looks up the c keys of length n queued in the scratch: first reads all their home slots,
    // then settles each, recording where a node was found and its output.
    private void resolve(int n, int c, Scratch sc, int m, int[] ids, int out, long[] counters) {
        final long[][] t = tables[n];
        final int pb = pageBits;
        final int pm = pageMask;
        final int mask = masks[n];
        final int ib = idBits[n];
        final long idMask = (1L << ib) - 1;
        final int[] slot = sc.slot;
        final long[] value = sc.value;
        final long[] key = sc.key;
        final int[] position = sc.position;
        final int[] node = sc.node[n];
        final int[] found = sc.found[n];
        final int[][] outs = outputs[n];
        Arrays.fill(node, 1, m + 1, 0);
        if (t.length == 1) { // a table of one array: the common case, without the page arithmetic
            final long[] t0 = t[0];
            for (int j = 0; j < c; j++) {
                value[j] = t0[slot[j]];
            }
        } else {
            for (int j = 0; j < c; j++) {
                int s = slot[j];
                value[j] = t[s >>> pb][s & pm];
            }
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
            int id = outs == null ? (int) (e & idMask) - 1 : hit == 0 ? NO_MATCH : outs[s >>> pb][s & pm];
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
                e = t[s >>> pb][s & pm];
                extra++;
            } while (e != 0 && e >>> ib != want);
            if (e != 0) {
                int q = position[j];
                node[q + 1] = s + 1;
                found[k++] = q;
                ids[out + q] = outs == null ? (int) (e & idMask) - 1 : outs[s >>> pb][s & pm];
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
            slots += (masks[n] & 0xFFFFFFFFL) + 1;
        }
        return "LevelwiseMatcher[size=" + size + ", maxN=" + maxN + ", nodes=" + nodeCount + ", slots=" + slots + ", "
                + (isPacked() ? "packed" : "wide") + "]";
    }
}

package dev.scone.fgram.match;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.Arrays;
import java.util.Objects;

/**
 * The exact longest-suffix f-gram matcher (the paper's Algorithm 1) as a forward automaton in the
 * manner of Aho and Corasick: for every position {@code i} of a document, the id of the longest
 * f-gram {@code s[j .. i]} with {@code 2 <= i - j + 1 <= K} and {@code j} inside the document, or
 * {@link #NO_MATCH}.
 *
 * <p>The nodes are the prefixes of the f-grams (every f-gram, every prefix of one, every first
 * token). After position {@code i} the automaton's state is the longest suffix of the document so
 * far that is a node; the next state follows from it and the next token alone (the child for that
 * token, else the same step from the state's failure link, its longest proper suffix that is a
 * node), so a document is read once, left to right, with at most two table lookups per position
 * on average (each failed lookup shortens the state, which grows by at most one token per
 * position). Each node carries its output, the longest f-gram among its suffixes, which is the
 * answer at that position. A vocabulary counted by Algorithm 3 is closed under prefixes and
 * suffixes, so there every node of length &gt;= 2 is itself an f-gram; any other vocabulary is
 * handled exactly too, its missing prefixes being nodes whose output is a shorter suffix or none.
 * Since a node has at most K tokens and the state starts empty at each document, no match reaches
 * before the document's start.
 *
 * <p>The nodes of length &gt;= 2 live in one open-addressing table, each in the slot of the edge
 * that leads to it (keyed exactly by parent and token, never by hash alone), together with its
 * failure link and a small filter of its children's tokens, in one long per slot when that fits
 * (the output ids then sit in a parallel array, read after the states of a whole document) or
 * two; the nodes of length 1 are an array indexed by token. Each table read is a likely cache
 * miss, so a document (or the rows of a window) is cut into up to sixteen pieces, each but the
 * first started K - 1 tokens early, that advance together: every round first reads the one slot
 * each piece waits for, all at once, and then moves each piece on as far as it can without
 * another read. The processor thus keeps many reads in flight instead of waiting for each in
 * turn (for the packed layout; the wide one, for very large vocabularies, runs four pieces in
 * plain lockstep).
 *
 * <p>Immutable and safe for concurrent use; matching allocates only a few arrays of up to
 * sixteen entries per call. Token ids outside
 * {@code [0, tokenVocabularySize())} in the input are accepted and never part of a match.
 */
public final class ForwardAutomatonMatcher implements FgramMatcher {

    /** The most table slots an automaton may use. */
    static final int MAX_CAPACITY = 1 << 29;

    /** The largest fraction of slots a built table fills before it is rebuilt twice as large. */
    private static final double MAX_LOAD = 0.5;

    /** A free slot's key; no node has it, since the root is no node's parent in the table. */
    private static final long EMPTY = -1L;

    /** The root's reference: the empty suffix. */
    private static final long ROOT = 0xFFFFFFFFL;

    /** Pieces of a document matched in lockstep. */
    private static final int LANES = 16;

    /** The shortest piece worth a lane. */
    private static final int MIN_PIECE = 64;

    // What a lane waits for: nothing yet, the slot it probes for a child, the slot of its state
    // (reached by a failure link), or nothing more (its segment is done).
    private static final int START = 2;
    private static final int PROBE = 0;
    private static final int LOAD_STATE = 1;
    private static final int DONE = -1;

    /** Pieces of a document matched in plain lockstep in the wide layout. */
    private static final int WIDE_LANES = 4;

    /** The shortest piece worth a lane in the wide layout. */
    private static final int WIDE_MIN_PIECE = 16;

    /** The most bits of a table node's child filter. */
    private static final int MAX_FILTER_BITS = 16;

    private final int tokenVocabularySize;
    private final int maxN;
    private final int size;
    private final int nodeCount;
    private final int capacity;
    private final int shift;
    private final int tokenBits;
    private final int filterBits;
    // A node is referenced by its slot s < capacity (length >= 2), by capacity + t (the length-1
    // node of token t), or by the root's reference. Wide layout: slot s holds at [2 s] its key,
    // parent << 32 | filter << tokenBits | token (EMPTY when free), where filter is a Bloom filter
    // of its children's tokens, and at [2 s + 1] its output id << 32 | failure link (the root
    // being ROOT). Packed layout (when it fits): slot s holds filter << (refBits + codeBits) |
    // code << refBits | failure link, code = (parent << tokenBits | token) + 1 (0 when free), the
    // root being rootRef = 2^refBits - 1, and the output ids are in outputId.
    private final long[] table;
    private final boolean packed;
    private final int refBits;
    private final int codeBits;
    private final int packedFilterBits;
    private final int[] outputId;
    // The child filter of the length-1 node of each token (32 bits), 0 if there is no such node.
    private final int[] firstFilter;
    // The length of each table node's output (1 when it has none).
    private final byte[] outputLength;

    private ForwardAutomatonMatcher(int tokenVocabularySize, int maxN, int size, int nodeCount, int capacity,
            int tokenBits, int filterBits, long[] wide, int[] firstFilter, byte[] outputLength, boolean allowPacked) {
        this.tokenVocabularySize = tokenVocabularySize;
        this.maxN = maxN;
        this.size = size;
        this.nodeCount = nodeCount;
        this.capacity = capacity;
        this.shift = 64 - Integer.numberOfTrailingZeros(capacity);
        this.tokenBits = tokenBits;
        this.filterBits = filterBits;
        this.firstFilter = firstFilter;
        this.outputLength = outputLength;
        int rb = 64 - Long.numberOfLeadingZeros(capacity + (long) tokenVocabularySize);
        int cb = rb + tokenBits;
        if (allowPacked && rb + cb <= 64) {
            int pf = filterBits == 0 ? 0 : Math.min(MAX_FILTER_BITS, 64 - rb - cb);
            pf = pf == 0 ? 0 : Integer.highestOneBit(pf);
            long rootRef = (1L << rb) - 1;
            long[] t = new long[capacity];
            int[] out = new int[capacity];
            long keyMask = ~filterMaskOf(tokenBits, filterBits);
            for (int s = 0; s < capacity; s++) {
                long key = wide[2 * s];
                if (key == EMPTY) {
                    continue;
                }
                long value = wide[2 * s + 1];
                long fail = value & 0xFFFFFFFFL;
                int c = (int) (key & keyMask);
                long code = (((key >>> 32) << tokenBits) | c) + 1;
                t[s] = (code << rb) | (fail == ROOT ? rootRef : fail);
                out[s] = (int) (value >>> 32);
            }
            // The packed filters are rebuilt from the edges: a node's filter has the bit of each
            // child's token.
            for (int s = 0; s < capacity; s++) {
                long key = wide[2 * s];
                if (key == EMPTY || pf == 0) {
                    continue;
                }
                long parent = key >>> 32;
                if (parent < capacity) {
                    int c = (int) (key & keyMask);
                    t[(int) parent] |= 1L << (rb + cb + (filterIndex(c) & (pf - 1)));
                }
            }
            this.table = t;
            this.outputId = out;
            this.packed = true;
            this.refBits = rb;
            this.codeBits = cb;
            this.packedFilterBits = pf;
        } else {
            this.table = wide;
            this.outputId = null;
            this.packed = false;
            this.refBits = 0;
            this.codeBits = 0;
            this.packedFilterBits = 0;
        }
    }

    /**
     * Builds an automaton over every f-gram of a vocabulary, with the vocabulary's ids.
     *
     * @param vocabulary the f-gram vocabulary
     * @return the automaton
     */
    public static ForwardAutomatonMatcher of(FgramVocabulary vocabulary) {
        Objects.requireNonNull(vocabulary, "vocabulary");
        int n = vocabulary.size();
        int[] ids = new int[n];
        int[] offsets = new int[n + 1];
        for (int id = 0; id < n; id++) {
            ids[id] = id;
            offsets[id + 1] = offsets[id] + vocabulary.length(id);
        }
        int[] tokens = new int[offsets[n]];
        for (int id = 0; id < n; id++) {
            vocabulary.copyTokens(id, tokens, offsets[id]);
        }
        return build(vocabulary.tokenVocabularySize(), vocabulary.maxN(), n, ids, offsets, tokens, MAX_FILTER_BITS, true);
    }

    /**
     * Builds an automaton over {@code count} f-grams, f-gram {@code f} being {@code
     * tokens[offsets[f] .. offsets[f + 1])} with id {@code ids[f]}; lengths, token ranges and
     * distinct ids are the caller's to check.
     *
     * @throws IllegalArgumentException if a token sequence occurs twice, or the f-grams need more
     *     than {@value #MAX_CAPACITY} table slots
     */
    static ForwardAutomatonMatcher build(int tokenVocabularySize, int maxN, int count, int[] ids, int[] offsets,
            int[] tokens, int maxFilterBits, boolean allowPacked) {
        if (maxN > Byte.MAX_VALUE) {
            throw new IllegalArgumentException("maxN (K) must be <= " + Byte.MAX_VALUE + ", got " + maxN);
        }
        int tokenBits = 32 - Integer.numberOfLeadingZeros(Math.max(tokenVocabularySize - 1, 0));
        int filterBits = Math.min(maxFilterBits, 32 - tokenBits);
        filterBits = filterBits <= 0 ? 0 : Integer.highestOneBit(filterBits);
        long capacity = Long.highestOneBit(Math.max(4L, (long) Math.ceil(Math.max(count, 1) / MAX_LOAD)) - 1) << 1;
        while (true) {
            if (capacity > MAX_CAPACITY) {
                throw new IllegalArgumentException(count + " f-grams need more than " + MAX_CAPACITY + " table slots");
            }
            ForwardAutomatonMatcher m = tryBuild(tokenVocabularySize, maxN, count, ids, offsets, tokens,
                    (int) capacity, tokenBits, filterBits, allowPacked);
            if (m != null) {
                return m;
            }
            capacity <<= 1;
        }
    }

    // Builds with the given capacity, or returns null when the nodes would pass the maximum load.
    private static ForwardAutomatonMatcher tryBuild(int tokenVocabularySize, int maxN, int count, int[] ids,
            int[] offsets, int[] tokens, int capacity, int tokenBits, int filterBits, boolean allowPacked) {
        long[] table = new long[2 * capacity];
        for (int s = 0; s < capacity; s++) {
            table[2 * s] = EMPTY;
        }
        int[] firstFilter = new int[tokenVocabularySize];
        int[] terminal = new int[capacity];
        Arrays.fill(terminal, -1);
        byte[] depth = new byte[capacity];
        int shift = 64 - Integer.numberOfTrailingZeros(capacity);
        long maxNodes = (long) (capacity * MAX_LOAD);
        int nodes = 0;
        // 1. The trie of all prefixes of length >= 2, with child filters and terminal ids.
        for (int f = 0; f < count; f++) {
            int start = offsets[f];
            int end = offsets[f + 1];
            long ref = capacity + (long) tokens[start];
            for (int k = start + 1; k < end; k++) {
                int c = tokens[k];
                if (ref < capacity) {
                    if (filterBits > 0) {
                        table[2 * (int) ref] |= 1L << (tokenBits + (filterIndex(c) & (filterBits - 1)));
                    }
                } else {
                    firstFilter[(int) (ref - capacity)] |= 1 << (filterIndex(c) & 31);
                }
                long key = (ref << 32) | c;
                int slot = find(table, shift, capacity - 1, filterMaskOf(tokenBits, filterBits), key);
                if (slot < 0) {
                    if (++nodes > maxNodes) {
                        return null;
                    }
                    slot = (int) (mix(key) >>> shift);
                    while (table[2 * slot] != EMPTY) {
                        slot = (slot + 1) & (capacity - 1);
                    }
                    table[2 * slot] = key;
                    depth[slot] = (byte) (k - start + 1);
                }
                ref = slot;
            }
            if (terminal[(int) ref] >= 0) {
                throw new IllegalArgumentException("f-gram " + Arrays.toString(Arrays.copyOfRange(tokens, start, end))
                        + " added twice (ids " + terminal[(int) ref] + " and " + ids[f] + ")");
            }
            terminal[(int) ref] = ids[f];
        }
        // 2. Failure links and outputs, shorter nodes first (a link always leads to a shorter node).
        int[] byDepth = new int[nodes];
        int[] starts = new int[maxN + 2];
        for (int s = 0; s < capacity; s++) {
            if (depth[s] != 0) {
                starts[depth[s] + 1]++;
            }
        }
        for (int d = 1; d <= maxN + 1; d++) {
            starts[d] += starts[d - 1];
        }
        for (int s = 0; s < capacity; s++) {
            if (depth[s] != 0) {
                byDepth[starts[depth[s]]++] = s;
            }
        }
        byte[] outputLength = new byte[capacity];
        long keyMask = ~filterMaskOf(tokenBits, filterBits);
        for (int s : byDepth) {
            long key = table[2 * s] & keyMask;
            long parent = key >>> 32;
            int c = (int) key;
            long fail;
            if (parent >= capacity) {
                fail = firstFilter[c] != 0 ? capacity + (long) c : ROOT;
            } else {
                fail = ROOT;
                long x = table[2 * (int) parent + 1] & 0xFFFFFFFFL;
                while (true) {
                    if (x == ROOT) {
                        fail = firstFilter[c] != 0 ? capacity + (long) c : ROOT;
                        break;
                    }
                    int child = find(table, shift, capacity - 1, ~keyMask, (x << 32) | c);
                    if (child >= 0) {
                        fail = child;
                        break;
                    }
                    x = x < capacity ? table[2 * (int) x + 1] & 0xFFFFFFFFL : ROOT;
                }
            }
            int out;
            int outLen;
            if (terminal[s] >= 0) {
                out = terminal[s];
                outLen = depth[s];
            } else if (fail < capacity) {
                out = (int) (table[2 * (int) fail + 1] >>> 32);
                outLen = outputLength[(int) fail];
            } else {
                out = NO_MATCH;
                outLen = 1;
            }
            table[2 * s + 1] = ((long) out << 32) | fail;
            outputLength[s] = (byte) outLen;
        }
        return new ForwardAutomatonMatcher(tokenVocabularySize, maxN, count, nodes, capacity, tokenBits, filterBits,
                table, firstFilter, outputLength, allowPacked);
    }

    private static long filterMaskOf(int tokenBits, int filterBits) {
        return ((1L << filterBits) - 1) << tokenBits;
    }

    // The slot whose key (filter bits cleared) is key, or -1.
    private static int find(long[] table, int shift, int mask, long filterMask, long key) {
        int slot = (int) (mix(key) >>> shift);
        while (true) {
            long e = table[2 * slot];
            if (e == EMPTY) {
                return -1;
            }
            if ((e & ~filterMask) == key) {
                return slot;
            }
            slot = (slot + 1) & mask;
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

    @Override
    public int maxN() {
        return maxN;
    }

    /** @return the size of the token vocabulary the f-grams are drawn from */
    public int tokenVocabularySize() {
        return tokenVocabularySize;
    }

    /** @return the number of f-grams the automaton finds */
    public int size() {
        return size;
    }

    /**
     * @return the number of nodes of length &gt;= 2: one per distinct prefix of length &gt;= 2 of
     *     an f-gram; equal to {@link #size()} when the f-grams are prefix-closed
     */
    public int nodeCount() {
        return nodeCount;
    }

    /** @return the bytes held by the automaton's arrays */
    public long memoryBytes() {
        return 8L * table.length + (outputId == null ? 0 : 4L * outputId.length) + 4L * firstFilter.length
                + outputLength.length + 64;
    }

    /** @return whether each table slot is one long rather than two */
    boolean isPacked() {
        return packed;
    }

    @Override
    public void match(int[] tokens, int from, int len, int[] out, int outOffset) {
        Objects.checkFromIndexSize(from, len, tokens.length);
        Objects.checkFromIndexSize(outOffset, len, out.length);
        run(tokens, from, len, out, outOffset, null, 0);
    }

    /**
     * Matches one document and also writes the length of each match (1 where nothing matched);
     * see {@link LongestSuffixMatcher#match(int[], int, int, int[], int, int[], int)}.
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
        run(tokens, from, len, ids, idsOffset, lengths, lengthsOffset);
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
        Objects.requireNonNull(window, "window");
        int[] ids = new int[window.length];
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
        Objects.requireNonNull(window, "window");
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("window shape (" + rows + ", " + cols + ") is negative");
        }
        if ((long) rows * cols != window.length) {
            throw new IllegalArgumentException("window of " + window.length + " tokens is not (" + rows + ", "
                    + cols + ")");
        }
        Objects.checkFromIndexSize(0, window.length, ids.length);
        if (lengths != null) {
            Objects.checkFromIndexSize(0, window.length, lengths.length);
        }
        if (!packed || rows <= 1) {
            for (int r = 0; r < rows; r++) {
                run(window, r * cols, cols, ids, r * cols, lengths, r * cols);
            }
            return;
        }
        // All rows' pieces share the lanes.
        int perRow = (int) Math.max(1, Math.min(LANES, cols / Math.max(MIN_PIECE, maxN - 1)));
        int piece = cols / perRow;
        int count = rows * perRow;
        int[] segFrom = new int[count];
        int[] segLen = new int[count];
        int[] docStarts = new int[count];
        for (int r = 0, k = 0; r < rows; r++) {
            for (int q = 0; q < perRow; q++, k++) {
                segFrom[k] = r * cols + q * piece;
                segLen[k] = q == perRow - 1 ? cols - q * piece : piece;
                docStarts[k] = r * cols;
            }
        }
        statesPackedSegments(window, docStarts, count, segFrom, segLen, segFrom, ids);
        outputs(window.length, ids, 0, lengths, 0);
    }

    // The automaton over tokens[from, from + len), from the root; arguments already checked. The
    // state after each position goes to ids first, then becomes its output.
    void run(int[] tokens, int from, int len, int[] ids, int idsOffset, int[] lengths, int lengthsOffset) {
        if (packed) {
            statesPacked(tokens, from, len, ids, idsOffset);
        } else {
            statesWide(tokens, from, len, ids, idsOffset);
        }
        outputs(len, ids, idsOffset, lengths, lengthsOffset);
    }

    // Replaces the len states at ids[idsOffset ..] by their outputs, and writes their lengths.
    private void outputs(int len, int[] ids, int idsOffset, int[] lengths, int lengthsOffset) {
        final long cap = capacity;
        final long[] t = table;
        final int[] out = outputId;
        for (int p = 0; p < len; p++) {
            long ref = ids[idsOffset + p] & 0xFFFFFFFFL;
            int id = NO_MATCH;
            if (ref < cap) {
                id = out != null ? out[(int) ref] : (int) (t[2 * (int) ref + 1] >>> 32);
            }
            ids[idsOffset + p] = id;
            if (lengths != null) {
                lengths[lengthsOffset + p] = ref < cap ? outputLength[(int) ref] : 1;
            }
        }
    }

    // Packed layout: the document is cut into pieces (see statesPackedSegments).
    private void statesPacked(int[] tokens, int from, int len, int[] states, int offset) {
        int warm = maxN - 1;
        int pieces = (int) Math.max(1, Math.min(LANES, len / Math.max(MIN_PIECE, warm)));
        int[] segFrom = new int[pieces];
        int[] segLen = new int[pieces];
        int[] segOut = new int[pieces];
        int piece = len / pieces;
        for (int k = 0; k < pieces; k++) {
            segFrom[k] = from + k * piece;
            segLen[k] = k == pieces - 1 ? len - k * piece : piece;
            segOut[k] = offset + k * piece;
        }
        statesPackedSegments(tokens, new int[] {from}, pieces, segFrom, segLen, segOut, states);
    }

    // The states after every position of segments k = 0 .. count - 1, segment k being tokens
    // [segFrom[k], segFrom[k] + segLen[k]) with its states at states[segOut[k] ..]. A segment
    // starts from the root up to K - 1 positions early, never before docStarts[k] (the start of
    // its document, or of its row), and writes nothing there: the state then differs from the one
    // reached from the document's start only in suffixes longer than K - 1 tokens before the
    // segment, which no match reaches.
    private void statesPackedSegments(int[] tokens, int[] docStarts, int count, int[] segFrom, int[] segLen,
            int[] segOut, int[] states) {
        int lanes = Math.min(LANES, count);
        long[] s = new long[lanes];
        long[] cur = new long[lanes];
        long[] code = new long[lanes];
        long[] val = new long[lanes];
        int[] pos = new int[lanes];
        int[] end = new int[lanes];
        int[] writeFrom = new int[lanes];
        int[] delta = new int[lanes];
        int[] addr = new int[lanes];
        int[] kind = new int[lanes];
        int warm = maxN - 1;
        long rootRef = (1L << refBits) - 1;
        for (int g = 0; g < count; g += lanes) {
            int n = Math.min(lanes, count - g);
            for (int l = 0; l < n; l++) {
                int k = g + l;
                int f = segFrom[k];
                pos[l] = Math.max(docStarts[Math.min(k, docStarts.length - 1)], f - warm);
                end[l] = f + segLen[k];
                writeFrom[l] = f;
                delta[l] = segOut[k] - f;
                s[l] = rootRef;
                addr[l] = 0;
                kind[l] = START;
            }
            runLanes(tokens, states, n, s, cur, code, val, pos, end, writeFrom, delta, addr, kind);
        }
    }

    // Runs n lanes to the ends of their segments. Each round first reads the table slot that each
    // lane waits for, in a loop with no branch on the slots' contents, so that the processor has
    // all those reads in flight together; then it moves each lane on until the lane needs a slot
    // it has not read. A lane's cur is the slot of its state when that state is a table node.
    private void runLanes(int[] tokens, int[] states, int n, long[] s, long[] cur, long[] code, long[] val,
            int[] pos, int[] end, int[] writeFrom, int[] delta, int[] addr, int[] kind) {
        final long[] t = table;
        final int[] first = firstFilter;
        final long cap = capacity;
        final int mask = capacity - 1;
        final int sh = shift;
        final int vocab = tokenVocabularySize;
        final int tb = tokenBits;
        final int rb = refBits;
        final long codeMask = (1L << codeBits) - 1;
        final int fs = refBits + codeBits;
        final long rootRef = (1L << refBits) - 1;
        final int fim = packedFilterBits - 1;
        final long noFilter = packedFilterBits == 0 ? -1L : 0L;
        int active = n;
        while (active > 0) {
            for (int l = 0; l < n; l++) {
                val[l] = t[addr[l]];
            }
            for (int l = 0; l < n; l++) {
                int k = kind[l];
                if (k == DONE) {
                    continue;
                }
                long st = s[l];
                long cu = cur[l];
                int p = pos[l];
                final int e = end[l];
                final int w = writeFrom[l];
                final int d = delta[l];
                if (k == PROBE) {
                    long x = val[l];
                    int slot = addr[l];
                    long want = code[l];
                    while (x != 0 && ((x >>> rb) & codeMask) != want) {
                        slot = (slot + 1) & mask;
                        x = t[slot];
                    }
                    if (x != 0) {
                        st = slot;
                        cu = x;
                        if (p >= w) {
                            states[p + d] = slot;
                        }
                        p++;
                    } else {
                        // No child for this token: the failure link, then the token again.
                        st = st < cap ? cu & rootRef : rootRef;
                        if (st < cap) {
                            s[l] = st;
                            addr[l] = (int) st;
                            kind[l] = LOAD_STATE;
                            continue;
                        }
                    }
                } else if (k == LOAD_STATE) {
                    cu = val[l];
                }
                int next = DONE;
                while (p < e) {
                    int c = tokens[p];
                    if (Integer.compareUnsigned(c, vocab) >= 0) {
                        st = rootRef;
                    } else if (st == rootRef) {
                        st = first[c] != 0 ? cap + c : rootRef;
                    } else {
                        int fi = filterIndex(c);
                        boolean maybe = st < cap
                                ? ((((cu >>> fs) | noFilter) >>> (fi & fim)) & 1) != 0
                                : ((first[(int) (st - cap)] >>> (fi & 31)) & 1) != 0;
                        if (maybe) {
                            code[l] = ((st << tb) | c) + 1;
                            addr[l] = (int) (mix((st << 32) | c) >>> sh);
                            next = PROBE;
                            break;
                        }
                        if (st < cap) {
                            st = cu & rootRef;
                            if (st < cap) {
                                addr[l] = (int) st;
                                next = LOAD_STATE;
                                break;
                            }
                        } else {
                            st = rootRef;
                        }
                        continue;
                    }
                    if (p >= w) {
                        states[p + d] = (int) st;
                    }
                    p++;
                }
                s[l] = st;
                cur[l] = cu;
                pos[l] = p;
                kind[l] = next;
                if (next == DONE) {
                    addr[l] = 0;
                    active--;
                }
            }
        }
    }

    private void statesWide(int[] tokens, int from, int len, int[] states, int offset) {
        final long[] t = table;
        final int[] first = firstFilter;
        final long cap = capacity;
        final int mask = capacity - 1;
        final int sh = shift;
        final int vocab = tokenVocabularySize;
        final int tb = tokenBits;
        final long keyMask = ~filterMaskOf(tokenBits, filterBits);
        final int fim = filterBits - 1;
        final long noFilter = filterBits == 0 ? -1L : 0L;
        int warm = maxN - 1;
        int piece = len / WIDE_LANES;
        int p = 0;
        long s3 = ROOT;
        if (piece >= Math.max(warm, WIDE_MIN_PIECE)) {
            long s0 = ROOT;
            long s1 = ROOT;
            long s2 = ROOT;
            int b0 = from;
            int b1 = from + piece;
            int b2 = from + 2 * piece;
            int b3 = from + 3 * piece;
            for (int w = warm; w > 0; w--) {
                s1 = step(t, first, cap, mask, sh, vocab, tb, keyMask, fim, noFilter, s1, tokens[b1 - w]);
                s2 = step(t, first, cap, mask, sh, vocab, tb, keyMask, fim, noFilter, s2, tokens[b2 - w]);
                s3 = step(t, first, cap, mask, sh, vocab, tb, keyMask, fim, noFilter, s3, tokens[b3 - w]);
            }
            int o1 = offset + piece;
            int o2 = offset + 2 * piece;
            int o3 = offset + 3 * piece;
            for (int q = 0; q < piece; q++) {
                s0 = step(t, first, cap, mask, sh, vocab, tb, keyMask, fim, noFilter, s0, tokens[b0 + q]);
                s1 = step(t, first, cap, mask, sh, vocab, tb, keyMask, fim, noFilter, s1, tokens[b1 + q]);
                s2 = step(t, first, cap, mask, sh, vocab, tb, keyMask, fim, noFilter, s2, tokens[b2 + q]);
                s3 = step(t, first, cap, mask, sh, vocab, tb, keyMask, fim, noFilter, s3, tokens[b3 + q]);
                states[offset + q] = (int) s0;
                states[o1 + q] = (int) s1;
                states[o2 + q] = (int) s2;
                states[o3 + q] = (int) s3;
            }
            p = WIDE_LANES * piece;
        }
        for (; p < len; p++) {
            s3 = step(t, first, cap, mask, sh, vocab, tb, keyMask, fim, noFilter, s3, tokens[from + p]);
            states[offset + p] = (int) s3;
        }
    }

    // The state after reading token c in state s (wide layout).
    private static long step(long[] t, int[] first, long cap, int mask, int sh, int vocab, int tb, long keyMask,
            int fim, long noFilter, long s, int c) {
        if (Integer.compareUnsigned(c, vocab) >= 0) {
            return ROOT;
        }
        int fi = filterIndex(c);
        while (true) {
            boolean maybe;
            if (s < cap) {
                maybe = ((((t[2 * (int) s] >>> tb) | noFilter) >>> (fi & fim)) & 1) != 0;
            } else if (s != ROOT) {
                maybe = ((first[(int) (s - cap)] >>> (fi & 31)) & 1) != 0;
            } else {
                return first[c] != 0 ? cap + c : ROOT;
            }
            if (maybe) {
                long key = (s << 32) | c;
                int slot = (int) (mix(key) >>> sh);
                long e;
                while ((e = t[2 * slot]) != EMPTY) {
                    if ((e & keyMask) == key) {
                        return slot;
                    }
                    slot = (slot + 1) & mask;
                }
            }
            s = s < cap ? t[2 * (int) s + 1] & 0xFFFFFFFFL : ROOT;
        }
    }

    /**
     * Counts the work {@link #match(int[], int, int, int[], int)} does on a document; for
     * benchmarks and tuning. A lookup is one probe of the table for a child; slots read counts
     * its linear-probing steps and the slots read to follow failure links.
     *
     * @param tokens token ids
     * @param from first position of the document
     * @param len number of positions
     * @return the counts
     */
    public LongestSuffixMatcher.MatchStats stats(int[] tokens, int from, int len) {
        Objects.checkFromIndexSize(from, len, tokens.length);
        long lookups = 0;
        long slotsRead = 0;
        long matched = 0;
        int[] states = new int[len];
        run(tokens, from, len, states, 0, null, 0);
        for (int id : states) {
            matched += id == NO_MATCH ? 0 : 1;
        }
        // The same walk as step, on the wide view of either layout, counting.
        long s = ROOT;
        for (int p = 0; p < len; p++) {
            int c = tokens[from + p];
            if (Integer.compareUnsigned(c, tokenVocabularySize) >= 0) {
                s = ROOT;
                continue;
            }
            while (true) {
                if (s == ROOT) {
                    s = firstFilter[c] != 0 ? capacity + (long) c : ROOT;
                    break;
                }
                boolean maybe = s < capacity ? hasChildBit((int) s, c) : ((firstFilter[(int) (s - capacity)]
                        >>> (filterIndex(c) & 31)) & 1) != 0;
                if (maybe) {
                    lookups++;
                    int slot = (int) (mix((s << 32) | c) >>> shift);
                    long found = -1;
                    while (true) {
                        slotsRead++;
                        long code = slotCode(slot);
                        if (code == -1) {
                            break;
                        }
                        if (code == ((s << 32) | c)) {
                            found = slot;
                            break;
                        }
                        slot = (slot + 1) & (capacity - 1);
                    }
                    if (found >= 0) {
                        s = found;
                        break;
                    }
                }
                if (s < capacity) {
                    s = failOf((int) s);
                    if (s < capacity) {
                        slotsRead++;
                    }
                } else {
                    s = ROOT;
                }
            }
        }
        return new LongestSuffixMatcher.MatchStats(len, lookups, slotsRead, matched);
    }

    // The (parent << 32 | token) key of a slot in either layout, -1 when free.
    private long slotCode(int slot) {
        if (packed) {
            long e = table[slot];
            if (e == 0) {
                return -1;
            }
            long code = ((e >>> refBits) & ((1L << codeBits) - 1)) - 1;
            return ((code >>> tokenBits) << 32) | (code & ((1L << tokenBits) - 1));
        }
        long e = table[2 * slot];
        return e == EMPTY ? -1 : e & ~filterMaskOf(tokenBits, filterBits);
    }

    // The failure link of a table node in the wide encoding (the root being ROOT).
    private long failOf(int slot) {
        if (packed) {
            long f = table[slot] & ((1L << refBits) - 1);
            return f == (1L << refBits) - 1 ? ROOT : f;
        }
        return table[2 * slot + 1] & 0xFFFFFFFFL;
    }

    // Whether the child filter of a table node lets token c through.
    private boolean hasChildBit(int slot, int c) {
        int fi = filterIndex(c);
        if (packed) {
            return packedFilterBits == 0
                    || ((table[slot] >>> (refBits + codeBits + (fi & (packedFilterBits - 1)))) & 1) != 0;
        }
        return filterBits == 0 || ((table[2 * slot] >>> (tokenBits + (fi & (filterBits - 1)))) & 1) != 0;
    }

    @Override
    public String toString() {
        return "ForwardAutomatonMatcher[size=" + size + ", maxN=" + maxN + ", nodes=" + nodeCount + ", slots="
                + capacity + ", " + (packed ? "packed" : "wide") + ", filter bits="
                + (packed ? packedFilterBits : filterBits) + "]";
    }
}

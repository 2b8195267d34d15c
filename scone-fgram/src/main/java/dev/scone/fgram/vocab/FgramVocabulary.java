package dev.scone.fgram.vocab;

import dev.scone.fgram.io.SconeFormatException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The f-gram vocabulary V_fgram: an immutable list of token sequences of length 2..maxN, each
 * with its corpus count. The f-gram id is the index in this list; a vocabulary built by the
 * counter lists f-grams by rank (highest count first, ties shorter first, then lexicographic).
 *
 * <p>Lookups by token sequence are exact: two different sequences never share an id.
 *
 * <p>A vocabulary holds its records in one layout, blocks of consecutive ids (see
 * {@link FgramVocabularyFile}), either on the heap ({@link #builder}, {@link #of},
 * {@link FgramVocabularyFile#read}) or mapped from a file ({@link FgramVocabularyFile#open}), so
 * that a vocabulary of any size up to {@value #MAX_SIZE} f-grams can be read without holding it
 * on the heap. On the heap a record costs {@code 12 + 4 n} bytes for an f-gram of n tokens, plus
 * 4 to 8 bytes per f-gram for the exact index that {@link #find} uses. A vocabulary read as a
 * range of ids ({@link FgramVocabularyFile#readRange}) holds only those ids' records.
 */
public final class FgramVocabulary {

    /** The smallest f-gram length. */
    public static final int MIN_N = 2;

    /** The most f-grams a vocabulary holds: 2^31 - 1 (ids are ints). */
    public static final int MAX_SIZE = Integer.MAX_VALUE;

    private final RecordStore records;
    private volatile FgramIndex index;
    private volatile String fingerprint;

    FgramVocabulary(RecordStore records, FgramIndex index, String fingerprint) {
        this.records = records;
        this.index = index;
        this.fingerprint = fingerprint;
    }

    /**
     * Starts a vocabulary on the heap, to be filled f-gram by f-gram in id order.
     *
     * @param tokenVocabularySize size of the token vocabulary the f-grams are drawn from, at least 1
     * @param maxN the longest f-gram length allowed (K), at least 2
     * @return the builder
     * @throws IllegalArgumentException when an argument is out of range
     */
    public static Builder builder(int tokenVocabularySize, int maxN) {
        return new Builder(tokenVocabularySize, maxN, BlockLayout.DEFAULT_BLOCK_BITS, RecordStore.SEGMENT_BYTES,
                FgramIndex.DEFAULT_CHUNK_BITS);
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
        Builder b = builder(tokenVocabularySize, maxN);
        for (int i = 0; i < counts.length; i++) {
            int[] g = Objects.requireNonNull(fgrams.get(i), "f-gram " + i);
            b.add(g, 0, g.length, counts[i]);
        }
        return b.build();
    }

    /**
     * Builds a vocabulary from flat arrays. F-gram {@code i} is
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
        if (offsets.length != counts.length + 1 || offsets[0] != 0 || offsets[counts.length] != tokens.length) {
            throw new IllegalArgumentException("offsets do not describe " + counts.length + " f-grams over "
                    + tokens.length + " tokens");
        }
        for (int i = 0; i < counts.length; i++) {
            if (offsets[i + 1] < offsets[i]) {
                throw new IllegalArgumentException("offsets decrease at f-gram " + i + " (" + offsets[i] + ", then "
                        + offsets[i + 1] + ")");
            }
        }
        Builder b = builder(tokenVocabularySize, maxN);
        for (int i = 0; i < counts.length; i++) {
            b.add(tokens, offsets[i], offsets[i + 1] - offsets[i], counts[i]);
        }
        return b.build();
    }

    /**
     * Fills a vocabulary on the heap in id order. Each f-gram is checked as it is added; {@link
     * #build} checks that no f-gram appears twice.
     */
    public static final class Builder {

        private final int tokenVocabularySize;
        private final int maxN;
        private final int blockBits;
        private final long segmentBytes;
        private final int indexChunkBits;
        private final BlockEncoder encoder;
        private final List<ByteBuffer> segments = new ArrayList<>();
        private byte[] segment;
        private int used;
        private int[] blockSegment = new int[16];
        private int[] blockAt = new int[16];
        private int[] blockTokens = new int[16];
        private int blocks;
        private int size;
        private boolean built;

        Builder(int tokenVocabularySize, int maxN, int blockBits, long segmentBytes, int indexChunkBits) {
            this.encoder = new BlockEncoder(tokenVocabularySize, maxN, blockBits);
            this.tokenVocabularySize = tokenVocabularySize;
            this.maxN = maxN;
            this.blockBits = blockBits;
            this.segmentBytes = segmentBytes;
            this.indexChunkBits = indexChunkBits;
        }

        /**
         * Adds the next f-gram (its id is the number added before it).
         *
         * @param seq array holding its tokens
         * @param from where they start
         * @param len its length, 2..maxN
         * @param count its count, at least 0
         * @return this builder
         * @throws IllegalArgumentException when the f-gram is invalid, naming it
         * @throws IllegalStateException after {@link #build}, or past {@value FgramVocabulary#MAX_SIZE} f-grams
         */
        public Builder add(int[] seq, int from, int len, long count) {
            if (built) {
                throw new IllegalStateException("the vocabulary was already built");
            }
            if (size == MAX_SIZE) {
                throw new IllegalStateException("a vocabulary holds at most " + MAX_SIZE + " f-grams");
            }
            encoder.add(size, seq, from, len, count);
            size++;
            if (encoder.isFull()) {
                flushBlock();
            }
            return this;
        }

        /**
         * Adds the next f-gram.
         *
         * @param fgram its tokens
         * @param count its count
         * @return this builder
         */
        public Builder add(int[] fgram, long count) {
            return add(Objects.requireNonNull(fgram, "fgram"), 0, fgram.length, count);
        }

        /** @return the f-grams added so far */
        public int size() {
            return size;
        }

        /**
         * @return the vocabulary
         * @throws IllegalArgumentException when an f-gram appears twice, naming both ids
         */
        public FgramVocabulary build() {
            if (built) {
                throw new IllegalStateException("the vocabulary was already built");
            }
            built = true;
            if (encoder.fgrams() > 0) {
                flushBlock();
            }
            seal();
            RecordStore records = new RecordStore(null, tokenVocabularySize, maxN, size, blockBits, 0, size, 0,
                    segments.toArray(ByteBuffer[]::new), Arrays.copyOf(blockSegment, blocks),
                    Arrays.copyOf(blockAt, blocks), Arrays.copyOf(blockTokens, blocks), null, null, null, -1);
            return new FgramVocabulary(records, FgramIndex.build(records, indexChunkBits), null);
        }

        private void flushBlock() {
            int bytes = encoder.bytes();
            if (segment == null || (long) used + bytes > segment.length) {
                if (segment != null && (long) used + bytes <= segmentBytes) {
                    long grown = Math.max(used + (long) bytes, Math.min(segmentBytes, 2L * segment.length));
                    segment = Arrays.copyOf(segment, (int) grown);
                } else {
                    seal();
                    segment = new byte[(int) Math.max(bytes, Math.min(segmentBytes, 1 << 12))];
                }
            }
            if (blocks == blockSegment.length) {
                blockSegment = Arrays.copyOf(blockSegment, blocks * 2);
                blockAt = Arrays.copyOf(blockAt, blocks * 2);
                blockTokens = Arrays.copyOf(blockTokens, blocks * 2);
            }
            blockSegment[blocks] = segments.size();
            blockAt[blocks] = used;
            blockTokens[blocks] = encoder.tokens();
            blocks++;
            ByteBuffer b = BlockLayout.wrap(segment);
            b.position(used);
            encoder.encodeTo(b);
            used += bytes;
        }

        private void seal() {
            if (segment != null) {
                segments.add(BlockLayout.wrap(used == segment.length ? segment : Arrays.copyOf(segment, used)));
                segment = null;
                used = 0;
            }
        }
    }

    /** @return the number of f-grams S */
    public int size() {
        return records.size;
    }

    /** @return the longest f-gram length allowed (K) */
    public int maxN() {
        return records.maxN;
    }

    /** @return the size of the token vocabulary the f-grams are drawn from */
    public int tokenVocabularySize() {
        return records.tokenVocabularySize;
    }

    /**
     * @return the first id whose record this vocabulary holds: 0 unless it was read as a range
     *     ({@link FgramVocabularyFile#readRange})
     */
    public int heldFrom() {
        return records.from;
    }

    /** @return the id after the last one whose record this vocabulary holds: {@link #size()} unless read as a range */
    public int heldTo() {
        return records.to;
    }

    /** @return whether this vocabulary holds every f-gram's record (it was not read as a range) */
    public boolean isWhole() {
        return records.from == 0 && records.to == records.size;
    }

    /** @return whether the records are mapped from a file rather than held on the heap */
    public boolean isMapped() {
        return records.isMapped();
    }

    /**
     * @param fgramId an id in {@code [0, size())}
     * @return the f-gram's length in tokens
     */
    public int length(int fgramId) {
        return records.length(fgramId);
    }

    /**
     * @param fgramId an id in {@code [0, size())}
     * @param k position inside the f-gram, {@code [0, length(fgramId))}
     * @return the k-th token id of the f-gram
     */
    public int token(int fgramId, int k) {
        return records.token(fgramId, k);
    }

    /**
     * @param fgramId an id in {@code [0, size())}
     * @return a copy of the f-gram's token ids
     */
    public int[] tokens(int fgramId) {
        int[] g = new int[records.maxN];
        return Arrays.copyOf(g, records.copyTokens(fgramId, g, 0));
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
        return records.copyTokens(fgramId, dst, dstOffset);
    }

    /**
     * @param fgramId an id in {@code [0, size())}
     * @return the f-gram's count in the corpus it was counted on
     */
    public long count(int fgramId) {
        return records.count(fgramId);
    }

    /**
     * Reads the records of a range of ids in order, without allocating per record.
     *
     * @param from the first id
     * @param to the id after the last
     * @return a cursor before the first record
     * @throws IndexOutOfBoundsException when the range is not within the ids this vocabulary holds
     */
    public Cursor cursor(int from, int to) {
        Objects.checkFromToIndex(from, to, records.size);
        if (from < records.from || to > records.to) {
            throw new IndexOutOfBoundsException("ids [" + from + ", " + to + ") are not within the ids ["
                    + records.from + ", " + records.to + ") read from " + records.file);
        }
        return new Cursor(from, to);
    }

    /** @return a cursor over every f-gram this vocabulary holds */
    public Cursor cursor() {
        return cursor(records.from, records.to);
    }

    /**
     * Reads records one after another: {@link #next()} moves to the next one, the other methods
     * read the current one. A cursor reads a block of records at a time (for a mapped file, a copy
     * read from the file, so that a scan is refused by name, never faulted, when the file was cut).
     * Not safe for concurrent use (each thread takes its own).
     */
    public final class Cursor {

        private final int to;
        private final int[] tokens;
        private final int blockMask;
        private int next;
        private int id = -1;
        private int length;
        private long count;
        private ByteBuffer block; // the block holding next, or null
        private int blockFgrams;
        private int end; // tokens of the block up to the current f-gram

        private Cursor(int from, int to) {
            this.next = from;
            this.to = to;
            this.tokens = new int[records.maxN];
            this.blockMask = (1 << records.blockBits) - 1;
        }

        /**
         * @return whether there was a next record (it is now the current one)
         * @throws FgramVocabularyCorruptedException when the block of a mapped file is damaged or cut off
         * @throws java.io.UncheckedIOException when a mapped file cannot be read
         */
        public boolean next() {
            if (next >= to) {
                id = -1;
                return false;
            }
            id = next++;
            int i = id & blockMask;
            if (block == null || i == 0) {
                int b = (id >>> records.blockBits) - records.firstBlock();
                try {
                    block = records.scanBlock(b);
                } catch (SconeFormatException e) {
                    throw new FgramVocabularyCorruptedException(e);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(records.file + ": " + e.getMessage(), e);
                }
                blockFgrams = records.fgramsIn(b);
                end = i == 0 ? 0 : block.getInt(8 * blockFgrams + 4 * (i - 1));
            }
            int start = end;
            end = block.getInt(8 * blockFgrams + 4 * i);
            length = end - start;
            int at = 12 * blockFgrams + 4 * start;
            for (int k = 0; k < length; k++) {
                tokens[k] = block.getInt(at + 4 * k);
            }
            count = block.getLong(8 * i);
            return true;
        }

        /** @return the current f-gram's id */
        public int id() {
            current();
            return id;
        }

        /** @return its length */
        public int length() {
            current();
            return length;
        }

        /** @return its count */
        public long count() {
            current();
            return count;
        }

        /**
         * @return an array whose first {@link #length()} entries are the current f-gram's tokens;
         *     the cursor reuses it, so it is valid until the next call of {@link #next()}
         */
        public int[] tokens() {
            current();
            return tokens;
        }

        private void current() {
            if (id < 0) {
                throw new IllegalStateException("no current record: call next() first, and only while it returns true");
            }
        }
    }

    /**
     * Exact lookup of a token sequence. A vocabulary built on the heap has its index from the start;
     * a mapped one builds it on the first call (4 to 8 bytes per f-gram, on the heap).
     *
     * @param seq array holding the sequence
     * @param from start of the sequence in {@code seq}
     * @param len its length
     * @return the f-gram id, or -1 when the sequence is not in the vocabulary
     * @throws IllegalStateException for a vocabulary read as a range, which has no index
     */
    public int find(int[] seq, int from, int len) {
        if (len < MIN_N || len > records.maxN) {
            return -1;
        }
        return index().find(records, seq, from, len);
    }

    /**
     * @param seq a token sequence
     * @return its f-gram id, or -1
     */
    public int find(int... seq) {
        return find(seq, 0, seq.length);
    }

    private FgramIndex index() {
        FgramIndex i = index;
        if (i == null) {
            synchronized (this) {
                i = index;
                if (i == null) {
                    if (!isWhole()) {
                        throw new IllegalStateException("the f-grams [" + records.from + ", " + records.to
                                + ") read from " + records.file + " are a range of the vocabulary: it has no exact index");
                    }
                    try {
                        i = FgramIndex.build(records, FgramIndex.DEFAULT_CHUNK_BITS);
                    } catch (IllegalArgumentException e) {
                        throw new FgramVocabularyCorruptedException(new SconeFormatException(records.file,
                                "invalid content: " + e.getMessage()));
                    }
                    index = i;
                }
            }
        }
        return i;
    }

    /**
     * A stable fingerprint of the vocabulary's content (token vocabulary size, K, every f-gram
     * in id order, and counts): 32 hex digits of SHA-256. Later stages record it so that a
     * model or store is never used with a different vocabulary. A vocabulary read from a file
     * returns the fingerprint the file records; {@link FgramVocabularyFile#read} and
     * {@link MappedFgramVocabulary#verify()} check it against the content.
     *
     * @return the fingerprint
     */
    public String fingerprint() {
        String f = fingerprint;
        if (f == null) {
            f = computeFingerprint();
            fingerprint = f;
        }
        return f;
    }

    /** @return the fingerprint computed from the records, whatever the file says */
    String computeFingerprint() {
        if (!isWhole()) {
            throw new IllegalStateException("a range of a vocabulary has no fingerprint of its own");
        }
        FingerprintDigest d = new FingerprintDigest(records.tokenVocabularySize, records.maxN, records.size);
        Cursor c = cursor();
        while (c.next()) {
            d.add(c.tokens, 0, c.length, c.count);
        }
        return d.finish();
    }

    /** @return the records (for the file reader and writer) */
    RecordStore records() {
        return records;
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

    /**
     * Two vocabularies are equal when they hold the same ids of the same f-grams with the same
     * counts, over the same token vocabulary and K (wherever their records live).
     */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof FgramVocabulary)) {
            return false;
        }
        FgramVocabulary v = (FgramVocabulary) o;
        if (records.tokenVocabularySize != v.records.tokenVocabularySize || records.maxN != v.records.maxN
                || records.size != v.records.size || records.from != v.records.from || records.to != v.records.to
                || !fingerprint().equals(v.fingerprint())) {
            return false;
        }
        Cursor a = cursor();
        Cursor b = v.cursor();
        while (a.next() && b.next()) {
            if (a.count != b.count || !Arrays.equals(a.tokens, 0, a.length, b.tokens, 0, b.length)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return fingerprint().hashCode();
    }

    @Override
    public String toString() {
        return "FgramVocabulary[size=" + size() + ", maxN=" + maxN() + ", tokenVocabularySize=" + tokenVocabularySize()
                + (isWhole() ? "" : ", ids " + heldFrom() + ".." + (heldTo() - 1)) + (isMapped() ? ", mapped" : "")
                + "]";
    }
}

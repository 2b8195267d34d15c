package dev.scone.fgram.vocab;

import java.util.Arrays;

/**
 * The exact index of a vocabulary: an open-addressing table (linear probing, at most half full)
 * of f-gram id + 1 by {@link FgramVocabulary#hash}, whose entries are compared with the records
 * in full, so that two sequences never share an id. The table is split into arrays of
 * {@code 2^chunkBits} slots, so that it can exceed the 2^31 elements of one array: 4 to 8 bytes
 * per f-gram.
 */
final class FgramIndex {

    /** Slots per array by default: 2^27 (512 MiB). */
    static final int DEFAULT_CHUNK_BITS = 27;

    private final int[][] chunks;
    private final int chunkBits;
    private final int chunkMask;
    private final long mask;

    private FgramIndex(int[][] chunks, int chunkBits, long mask) {
        this.chunks = chunks;
        this.chunkBits = chunkBits;
        this.chunkMask = (1 << chunkBits) - 1;
        this.mask = mask;
    }

    /**
     * Indexes every f-gram of {@code records} (which must hold all ids).
     *
     * @param records the records
     * @param chunkBits log2 of the slots per array
     * @return the index
     * @throws IllegalArgumentException when an f-gram appears twice, naming both ids
     */
    static FgramIndex build(RecordStore records, int chunkBits) {
        int size = records.size;
        long capacity = Long.highestOneBit(Math.max(4L, 2L * size - 1)) << 1;
        int perChunk = (int) Math.min(capacity, 1L << chunkBits);
        int[][] chunks = new int[(int) (capacity / perChunk)][];
        for (int c = 0; c < chunks.length; c++) {
            chunks[c] = new int[perChunk];
        }
        FgramIndex index = new FgramIndex(chunks, Integer.numberOfTrailingZeros(perChunk), capacity - 1);
        int[] gram = new int[records.maxN];
        for (int id = 0; id < size; id++) {
            int len = records.copyTokens(id, gram, 0);
            long slot = FgramVocabulary.hash(gram, 0, len) & index.mask;
            int e;
            while ((e = index.get(slot)) != 0) {
                if (records.equalsAt(e - 1, gram, 0, len)) {
                    throw new IllegalArgumentException("f-gram " + Arrays.toString(Arrays.copyOf(gram, len))
                            + " appears twice (ids " + (e - 1) + " and " + id + ")");
                }
                slot = (slot + 1) & index.mask;
            }
            index.chunks[(int) (slot >>> index.chunkBits)][(int) slot & index.chunkMask] = id + 1;
        }
        return index;
    }

    private int get(long slot) {
        return chunks[(int) (slot >>> chunkBits)][(int) slot & chunkMask];
    }

    /**
     * @return the id of the sequence, or -1
     */
    int find(RecordStore records, int[] seq, int from, int len) {
        long slot = FgramVocabulary.hash(seq, from, len) & mask;
        while (true) {
            int e = get(slot);
            if (e == 0) {
                return -1;
            }
            if (records.equalsAt(e - 1, seq, from, len)) {
                return e - 1;
            }
            slot = (slot + 1) & mask;
        }
    }
}

package dev.scone.store;

/**
 * A blocked Bloom filter over f-gram hashes ({@code FgramVocabulary.hash}): each key sets one
 * bit in each of the 8 words of one 256-bit block, so a probe touches one cache line. It has no
 * false negatives; at 12 bits per key about 0.5% false positives. The store asks it first and
 * skips the index for most probes that cannot match. Built in memory when a store opens; never
 * stored.
 */
final class FgramBloomFilter {

    static final int BITS_PER_KEY = 12;
    private static final int[] SALT = {0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b,
        0x9efc4947, 0x5c6bfb31};

    private final int[] words; // numBlocks * 8
    private final int numBlocks;

    private FgramBloomFilter(int[] words) {
        this.words = words;
        this.numBlocks = words.length / 8;
    }

    static FgramBloomFilter forEntries(long expectedEntries) {
        long blocks = Math.max(1, (expectedEntries * BITS_PER_KEY + 255) / 256);
        if (blocks * 8 > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("too many entries for one filter: " + expectedEntries);
        }
        return new FgramBloomFilter(new int[(int) blocks * 8]);
    }

    void add(long hash) {
        int base = block(hash);
        int h = (int) hash;
        for (int i = 0; i < 8; i++) {
            words[base + i] |= 1 << ((h * SALT[i]) >>> 27);
        }
    }

    boolean mightContain(long hash) {
        int base = block(hash);
        int h = (int) hash;
        for (int i = 0; i < 8; i++) {
            if ((words[base + i] & (1 << ((h * SALT[i]) >>> 27))) == 0) {
                return false;
            }
        }
        return true;
    }

    private int block(long hash) {
        return (int) (((hash >>> 32) * numBlocks) >>> 32) << 3;
    }
}

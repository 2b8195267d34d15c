package dev.scone.store;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * A blocked Bloom filter over f-gram hashes ({@code FgramVocabulary.hash}): each key sets one
 * bit in each of the 8 words of one 256-bit block, so a probe touches one cache line. It has no
 * false negatives; at 12 bits per key about 0.5% false positives. The store asks it first and
 * skips the index for most probes that cannot match.
 *
 * <p>File: magic, format version, block count, the words, CRC32C of everything before.
 */
final class FgramBloomFilter {

    static final int MAGIC = 0x46424353; // "SCBF" little-endian
    static final int VERSION = 1;
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

    long sizeBytes() {
        return 16L + 4L * words.length + 4;
    }

    void write(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) sizeBytes()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(VERSION).putInt(numBlocks).putInt(0);
        b.asIntBuffer().put(words);
        b.position(16 + 4 * words.length);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        Files.write(file, b.array());
    }

    static FgramBloomFilter read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (all.length < 20 || b.getInt(0) != MAGIC) {
            throw new SconeFormatException(file, "not an f-gram filter file (bad magic or too short: " + all.length
                    + " bytes)");
        }
        if (b.getInt(4) != VERSION) {
            throw new SconeFormatException(file, "unknown filter format version " + b.getInt(4));
        }
        long blocks = b.getInt(8) & 0xFFFFFFFFL;
        long expected = 16 + blocks * 32 + 4;
        if (blocks == 0 || all.length != expected) {
            throw new SconeFormatException(file, "truncated or damaged: " + all.length + " bytes, expected " + expected
                    + " for " + blocks + " blocks");
        }
        CRC32C crc = new CRC32C();
        crc.update(all, 0, all.length - 4);
        if ((int) crc.getValue() != b.getInt(all.length - 4)) {
            throw new SconeFormatException(file, "checksum mismatch: the filter file is damaged");
        }
        int[] words = new int[(int) blocks * 8];
        b.position(16);
        b.asIntBuffer().get(words);
        return new FgramBloomFilter(words);
    }
}

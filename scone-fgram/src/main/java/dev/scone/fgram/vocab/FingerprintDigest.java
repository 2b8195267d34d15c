package dev.scone.fgram.vocab;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The vocabulary fingerprint ({@link FgramVocabulary#fingerprint()}), computed in one streaming
 * pass: SHA-256 over the token vocabulary size, K and S, then every f-gram in id order as its
 * length, its token ids and its count (little-endian int32, int32s, int64); the first 16 bytes,
 * in hex.
 */
final class FingerprintDigest {

    private final MessageDigest md;
    private final ByteBuffer buffer;
    private final int room;

    FingerprintDigest(int tokenVocabularySize, int maxN, int size) {
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
        room = 12 + 4 * maxN;
        buffer = ByteBuffer.allocate(Math.max(1 << 16, 2 * room)).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(tokenVocabularySize).putInt(maxN).putInt(size);
    }

    /** Adds the next f-gram. */
    void add(int[] tokens, int from, int len, long count) {
        if (buffer.remaining() < room) {
            flush();
        }
        buffer.putInt(len);
        for (int k = 0; k < len; k++) {
            buffer.putInt(tokens[from + k]);
        }
        buffer.putLong(count);
    }

    /** @return the fingerprint of what was added */
    String finish() {
        flush();
        return HexFormat.of().formatHex(md.digest(), 0, 16);
    }

    private void flush() {
        buffer.flip();
        md.update(buffer);
        buffer.clear();
    }
}

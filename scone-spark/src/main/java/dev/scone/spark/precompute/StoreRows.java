package dev.scone.spark.precompute;

import dev.scone.store.FgramStoreWriter;
import dev.scone.store.VectorDtype;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One f-gram's row as the precompute ships it from a compute task to its shard's writer: a byte
 * array holding its length (one byte), its token ids (int32 each) and its vector encoded in the
 * store's dtype ({@link VectorDtype#encode}), little-endian. The writer needs nothing else: no id,
 * no vocabulary; and the vector travels in the store's size (half of float32's for bfloat16).
 */
final class StoreRows {

    private StoreRows() {}

    /**
     * @param tokens array holding the f-gram's tokens from 0
     * @param n its length, 2..127
     * @param vectors array holding its vector
     * @param offset where the vector starts
     * @param d the vector's length
     * @param dtype the store's dtype
     * @return the row
     */
    static byte[] encode(int[] tokens, int n, float[] vectors, int offset, int d, VectorDtype dtype) {
        if (n < 1 || n > Byte.MAX_VALUE) {
            throw new IllegalArgumentException("f-gram length " + n + " does not fit a row");
        }
        byte[] row = new byte[1 + 4 * n + dtype.vectorBytes(d)];
        ByteBuffer b = ByteBuffer.wrap(row).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, (byte) n);
        for (int k = 0; k < n; k++) {
            b.putInt(1 + 4 * k, tokens[k]);
        }
        dtype.encode(vectors, offset, d, b, 1 + 4 * n);
        return row;
    }

    /**
     * Adds a row to a shard's writer.
     *
     * @param writer the writer, whose dtype and d the row was encoded for
     * @param row the row
     * @param scratch room for the longest f-gram's tokens
     * @throws IllegalArgumentException when the row does not hold one f-gram and one vector of the
     *     writer's size, or the writer refuses the f-gram
     * @throws IOException when writing fails
     */
    static void add(FgramStoreWriter writer, byte[] row, int[] scratch) throws IOException {
        int n = row.length == 0 ? 0 : row[0];
        int vectorBytes = writer.dtype().vectorBytes(writer.embeddingSize());
        if (n < 1 || n > scratch.length || row.length != 1 + 4 * n + vectorBytes) {
            throw new IllegalArgumentException("a row of " + row.length + " bytes for an f-gram of " + n
                    + " tokens does not fit a store of K = " + scratch.length + " and " + vectorBytes
                    + "-byte vectors");
        }
        ByteBuffer b = ByteBuffer.wrap(row).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < n; k++) {
            scratch[k] = b.getInt(1 + 4 * k);
        }
        writer.addEncoded(scratch, 0, n, row, 1 + 4 * n);
    }
}

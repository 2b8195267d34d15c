package dev.scone.store;

import java.nio.ByteBuffer;

/**
 * How a store keeps each d-float vector on disk. All encodings are little-endian.
 *
 * <ul>
 *   <li>{@link #FLOAT32}: 4 bytes per element, bit-exact.</li>
 *   <li>{@link #BFLOAT16}: 2 bytes per element (the top half of the float32, rounded to nearest,
 *       ties to even). For every finite element {@code x} whose bfloat16 value is finite,
 *       {@code |decoded - x| <= 2^-8 * |x|} (half a unit in the last place of an 8-bit
 *       significand); subnormals are within {@code 2^-8} relative of the smallest normal.</li>
 *   <li>{@link #INT8}: 1 byte per element plus one float32 scale per vector, symmetric:
 *       {@code scale = max|x| / 127}, {@code q = round(x / scale)} in [-127, 127]. Every
 *       element decodes within {@code scale / 2} of the original (plus float rounding of the
 *       product, below {@code 2^-23 * max|x|}). A zero vector stores scale 0.</li>
 * </ul>
 */
public enum VectorDtype {
    /** 32-bit IEEE floats, bit-exact. */
    FLOAT32(4),
    /** bfloat16 (round to nearest even), half the space of float32. */
    BFLOAT16(2),
    /** Symmetric int8 with a per-vector float32 scale, a quarter of the space of float32. */
    INT8(1);

    private final int elementBytes;

    VectorDtype(int elementBytes) {
        this.elementBytes = elementBytes;
    }

    /** @return bytes per stored element (the per-vector scale of {@link #INT8} not included) */
    public int elementBytes() {
        return elementBytes;
    }

    /**
     * @param embeddingSize d
     * @return the bytes one encoded vector takes (for {@link #INT8} including its 4-byte scale)
     */
    public int vectorBytes(int embeddingSize) {
        return embeddingSize * elementBytes + (this == INT8 ? 4 : 0);
    }

    /**
     * Encodes {@code src[srcOffset .. srcOffset + d)} at absolute position {@code pos} of
     * {@code dst} (which must be little-endian).
     *
     * @param src the vector
     * @param srcOffset where it starts
     * @param d its length
     * @param dst destination buffer
     * @param pos absolute byte position in {@code dst}
     */
    public void encode(float[] src, int srcOffset, int d, ByteBuffer dst, int pos) {
        switch (this) {
            case FLOAT32:
                for (int i = 0; i < d; i++) {
                    dst.putFloat(pos + 4 * i, src[srcOffset + i]);
                }
                break;
            case BFLOAT16:
                for (int i = 0; i < d; i++) {
                    dst.putShort(pos + 2 * i, toBfloat16(src[srcOffset + i]));
                }
                break;
            case INT8: {
                float max = 0f;
                for (int i = 0; i < d; i++) {
                    max = Math.max(max, Math.abs(src[srcOffset + i]));
                }
                float scale = max / 127f;
                for (int i = 0; i < d; i++) {
                    int q = scale == 0f ? 0 : Math.round(src[srcOffset + i] / scale);
                    dst.put(pos + i, (byte) Math.max(-127, Math.min(127, q)));
                }
                dst.putFloat(pos + d, scale);
                break;
            }
            default:
                throw new AssertionError(this);
        }
    }

    /**
     * Decodes a vector stored at absolute position {@code pos} of {@code src} (little-endian)
     * into {@code dst[dstOffset .. dstOffset + d)}.
     *
     * @param src source buffer
     * @param pos absolute byte position
     * @param d vector length
     * @param dst destination
     * @param dstOffset where to write
     */
    public void decode(ByteBuffer src, int pos, int d, float[] dst, int dstOffset) {
        switch (this) {
            case FLOAT32:
                for (int i = 0; i < d; i++) {
                    dst[dstOffset + i] = src.getFloat(pos + 4 * i);
                }
                break;
            case BFLOAT16:
                for (int i = 0; i < d; i++) {
                    dst[dstOffset + i] = Float.intBitsToFloat((src.getShort(pos + 2 * i) & 0xFFFF) << 16);
                }
                break;
            case INT8: {
                float scale = src.getFloat(pos + d);
                for (int i = 0; i < d; i++) {
                    dst[dstOffset + i] = src.get(pos + i) * scale;
                }
                break;
            }
            default:
                throw new AssertionError(this);
        }
    }

    /**
     * Rounds a float to bfloat16, to nearest with ties to even; NaN stays NaN.
     *
     * @param x the value
     * @return its bfloat16 bits
     */
    public static short toBfloat16(float x) {
        int bits = Float.floatToRawIntBits(x);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x0040); // quiet NaN, sign kept
        }
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /**
     * @param bf16 bfloat16 bits
     * @return the float they denote (exact)
     */
    public static float fromBfloat16(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xFFFF) << 16);
    }
}

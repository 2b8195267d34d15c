package dev.scone.spark.io;

/**
 * Joins CRC32C values of consecutive byte ranges: {@code combine(crc(A), crc(B), |B|) == crc(A B)}.
 * Lets every task checksum its own slice of a file and the driver check the whole file's stored
 * checksum without reading it again. The arithmetic is the usual one for reflected CRCs: appending
 * |B| zero bytes to A is a linear map over GF(2), applied by repeated squaring of the one-zero-bit
 * operator.
 */
public final class Crc32c {

    /** The Castagnoli polynomial, reflected. */
    private static final int POLY = 0x82F63B78;

    private Crc32c() {}

    /**
     * @param crcA CRC32C of the first range (as {@link java.util.zip.CRC32C#getValue()} returns it)
     * @param crcB CRC32C of the range that follows it
     * @param lengthB length of the second range in bytes, &gt;= 0
     * @return CRC32C of both ranges one after the other
     * @throws IllegalArgumentException when {@code lengthB} is negative
     */
    public static long combine(long crcA, long crcB, long lengthB) {
        if (lengthB < 0) {
            throw new IllegalArgumentException("length of the second range must be >= 0, got " + lengthB);
        }
        if (lengthB == 0) {
            return crcA & 0xFFFFFFFFL;
        }
        int[] even = new int[32];
        int[] odd = new int[32];
        odd[0] = POLY; // operator for one zero bit
        int row = 1;
        for (int n = 1; n < 32; n++) {
            odd[n] = row;
            row <<= 1;
        }
        square(even, odd); // two zero bits
        square(odd, even); // four zero bits
        int crc = (int) crcA;
        long len = lengthB;
        while (true) {
            square(even, odd); // first time round: one zero byte
            if ((len & 1) != 0) {
                crc = times(even, crc);
            }
            len >>>= 1;
            if (len == 0) {
                break;
            }
            square(odd, even);
            if ((len & 1) != 0) {
                crc = times(odd, crc);
            }
            len >>>= 1;
            if (len == 0) {
                break;
            }
        }
        return (crc ^ (int) crcB) & 0xFFFFFFFFL;
    }

    private static int times(int[] matrix, int vector) {
        int sum = 0;
        int v = vector;
        for (int i = 0; v != 0; i++, v >>>= 1) {
            if ((v & 1) != 0) {
                sum ^= matrix[i];
            }
        }
        return sum;
    }

    private static void square(int[] out, int[] matrix) {
        for (int n = 0; n < 32; n++) {
            out[n] = times(matrix, matrix[n]);
        }
    }
}

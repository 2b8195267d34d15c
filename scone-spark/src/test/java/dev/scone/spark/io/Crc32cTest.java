package dev.scone.spark.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class Crc32cTest {

    private static long crc(byte[] b, int from, int to) {
        CRC32C c = new CRC32C();
        c.update(b, from, to - from);
        return c.getValue();
    }

    @Test
    void combiningSlicesGivesTheWholeChecksum() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int round = 0; round < 200; round++) {
            byte[] b = new byte[rnd.nextInt(0, 5000)];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) rnd.nextInt(256);
            }
            int cut = b.length == 0 ? 0 : rnd.nextInt(b.length + 1);
            assertEquals(crc(b, 0, b.length), Crc32c.combine(crc(b, 0, cut), crc(b, cut, b.length), b.length - cut),
                    "length " + b.length + ", cut " + cut);
        }
    }

    @Test
    void refusesNegativeLength() {
        assertThrows(IllegalArgumentException.class, () -> Crc32c.combine(1, 2, -1));
    }
}

package dev.scone.fgram.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class KeyValueTextTest {

    private static String sample(KeyValueText.Seal seal) {
        return KeyValueText.builder("format=demo").put("version", 2).put("size", 12345678901L).put("ratio", 0.1f)
                .put("on", true).put("name", " spaced value ").put("crc", KeyValueText.hex32(0xABCL)).toText(seal);
    }

    @Test
    void roundTripsEverySealAndKeepsValuesAsWritten() {
        for (KeyValueText.Seal seal : KeyValueText.Seal.values()) {
            String text = sample(seal);
            assertEquals(seal != KeyValueText.Seal.NONE, text.contains("\nchecksum="), text);
            KeyValueText kv = KeyValueText.parse(text, "format=demo", seal);
            assertEquals(List.of("version", "size", "ratio", "on", "name", "crc"), List.copyOf(kv.keys()));
            assertEquals(2, kv.integer("version"));
            assertEquals(12345678901L, kv.count("size", Long.MAX_VALUE));
            assertEquals(0.1f, kv.real("ratio"));
            assertTrue(kv.bool("on"));
            assertEquals(" spaced value ", kv.string("name"));
            assertEquals(0xABCL, kv.hex32("crc"));
            assertFalse(kv.has("missing"));
        }
    }

    @Test
    void theSealIsTheChecksumOfEveryEarlierByte() {
        String body = "format=demo\nversion=2\n";
        // CRC-32 and CRC-32C of the body, computed independently of the class
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        java.util.zip.CRC32C crcc = new java.util.zip.CRC32C();
        crcc.update(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        KeyValueText.Builder b = KeyValueText.builder("format=demo").put("version", 2);
        assertEquals(body + "checksum=" + String.format("%08x", crc.getValue()) + "\n", b.toText(KeyValueText.Seal.CRC32));
        assertEquals(body + "checksum=" + String.format("%08x", crcc.getValue()) + "\n",
                b.toText(KeyValueText.Seal.CRC32C));
    }

    @Test
    void damageAndForeignTextsAreRefusedByName() {
        String text = sample(KeyValueText.Seal.CRC32C);
        assertMessage("checksum mismatch", text.replace("version=2", "version=3"), KeyValueText.Seal.CRC32C);
        assertMessage("checksum mismatch", text, KeyValueText.Seal.CRC32); // the other algorithm
        assertMessage("no checksum line", text.substring(0, text.indexOf("checksum=")), KeyValueText.Seal.CRC32C);
        assertMessage("format is 'other', expected 'demo'", "format=other\nx=1\n", KeyValueText.Seal.NONE);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KeyValueText.parse("junk\nx=1\n", "demo v1", KeyValueText.Seal.NONE));
        assertTrue(e.getMessage().contains("must start with 'demo v1', got 'junk'"), e.getMessage());
        assertMessage("key 'x' appears twice", "format=demo\nx=1\nx=2\n", KeyValueText.Seal.NONE);
        assertMessage("line 2 is not key=value", "format=demo\nnothing here\n", KeyValueText.Seal.NONE);
        KeyValueText kv = KeyValueText.parse("format=demo\nn=-3\nh=12\nb=yes\n", "format=demo", KeyValueText.Seal.NONE);
        assertThrows(IllegalArgumentException.class, () -> kv.count("n", 10));
        assertThrows(IllegalArgumentException.class, () -> kv.hex32("h"));
        assertThrows(IllegalArgumentException.class, () -> kv.bool("b"));
        e = assertThrows(IllegalArgumentException.class, () -> kv.string("absent"));
        assertEquals("missing key 'absent'", e.getMessage());
    }

    @Test
    void blankLinesAndCommentsAreSkipped() {
        KeyValueText kv = KeyValueText.parse("format=demo\n\n# note\na=1\n", "format=demo", KeyValueText.Seal.NONE);
        assertEquals(List.of("a"), List.copyOf(kv.keys()));
    }

    @Test
    void theBuilderRefusesWhatCouldNotBeReadBack() {
        assertThrows(IllegalArgumentException.class, () -> KeyValueText.builder(null).put("a=b", 1));
        assertThrows(IllegalArgumentException.class, () -> KeyValueText.builder(null).put("checksum", 1));
        assertThrows(IllegalArgumentException.class, () -> KeyValueText.builder(null).put("a", "two\nlines"));
        assertThrows(IllegalArgumentException.class, () -> KeyValueText.builder(null).put("a", 1).put("a", 2));
        assertThrows(IllegalArgumentException.class, () -> KeyValueText.builder("two\nlines"));
    }

    private static void assertMessage(String expected, String text, KeyValueText.Seal seal) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KeyValueText.parse(text, "format=demo", seal));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}

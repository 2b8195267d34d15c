package dev.scone.fgram.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenIdFileHeaderTest {

    @TempDir
    Path tmp;

    @Test
    void headerParsedWithoutOpeningAgreesWithOpen() throws IOException {
        Path f = tmp.resolve("c.tok");
        TokenIdFile.write(f, new InMemoryTokenCorpus(new int[][] {{1, 2, 3}, {}, {4, 5}}, 9));
        byte[] all = Files.readAllBytes(f);
        TokenIdFile.Header h = TokenIdFile.Header.parse(ByteBuffer.wrap(all, 0, TokenIdFile.Header.BYTES),
                all.length, f);
        try (TokenIdFile open = TokenIdFile.open(f)) {
            assertEquals(open.vocabularySize(), h.vocabularySize());
            assertEquals(open.documentCount(), h.documentCount());
            assertEquals(open.tokenCount(), h.tokenCount());
        }
        assertEquals(all.length, h.fileLength());
        assertEquals(TokenIdFile.Header.BYTES + 5 * 4, h.offsetsAt());

        SconeFormatException e = assertThrows(SconeFormatException.class,
                () -> TokenIdFile.Header.parse(ByteBuffer.wrap(all, 0, TokenIdFile.Header.BYTES), all.length - 1, f));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        e = assertThrows(SconeFormatException.class,
                () -> TokenIdFile.Header.parse(ByteBuffer.wrap(all, 0, TokenIdFile.Header.BYTES), all.length + 3, f));
        assertTrue(e.getMessage().contains("3 trailing bytes"), e.getMessage());
        byte[] damaged = Arrays.copyOf(all, TokenIdFile.Header.BYTES);
        damaged[13] ^= 1;
        e = assertThrows(SconeFormatException.class,
                () -> TokenIdFile.Header.parse(ByteBuffer.wrap(damaged), all.length, f));
        assertTrue(e.getMessage().contains("header checksum mismatch"), e.getMessage());
        e = assertThrows(SconeFormatException.class,
                () -> TokenIdFile.Header.parse(ByteBuffer.wrap(new byte[64]), 64, f));
        assertTrue(e.getMessage().contains("not a token-id file"), e.getMessage());
        e = assertThrows(SconeFormatException.class,
                () -> TokenIdFile.Header.parse(ByteBuffer.wrap(all, 0, 20), 20, f));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }
}

package dev.scone.fgram.corpus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed golden files stay readable, to the content they were written from. */
class GoldenFilesTest {

    private static Path golden(String name) throws URISyntaxException {
        URL url = Objects.requireNonNull(GoldenFilesTest.class.getResource("/golden/corpus/" + name),
                "golden file " + name + " is missing: run GoldenFiles.main");
        return Path.of(url.toURI());
    }

    @Test
    void tokenIdFileVersion1IsRead() throws Exception {
        try (TokenIdFile f = TokenIdFile.open(golden(GoldenFiles.TOKEN_ID_FILE_V1))) {
            assertEquals(GoldenFiles.VOCABULARY_SIZE, f.vocabularySize());
            assertEquals(4, f.documentCount());
            assertEquals(13, f.tokenCount());
            int[][] expected = GoldenFiles.documents();
            for (int d = 0; d < expected.length; d++) {
                assertArrayEquals(expected[d], f.document(d), "document " + d);
            }
        }
    }

    @Test
    void tokenIdFileVersion1HasNoOriginAndVersion2HasItsOwn() throws Exception {
        try (TokenIdFile v1 = TokenIdFile.open(golden(GoldenFiles.TOKEN_ID_FILE_V1));
                TokenIdFile v2 = TokenIdFile.open(golden(GoldenFiles.TOKEN_ID_FILE_V2))) {
            assertEquals(null, v1.origin());
            assertEquals(GoldenFiles.ORIGIN, v2.origin());
            int[][] expected = GoldenFiles.documents();
            for (int d = 0; d < expected.length; d++) {
                assertArrayEquals(expected[d], v2.document(d), "document " + d);
            }
        }
    }

    @Test
    void compactionVersion1IsRead() throws Exception {
        TokenCompaction t = TokenCompaction.load(golden(GoldenFiles.COMPACTION_V1));
        // counts: 5 x3, 1 x2, 3 x2, then 0 x1 (smallest id among the singletons); 5 tokens unknown
        assertEquals(TokenCompaction.of(GoldenFiles.VOCABULARY_SIZE, new int[] {5, 1, 3, 0}, new long[] {3, 2, 2, 1}, 5), t);
        assertEquals(5, t.vocabularySize());
        assertEquals(4, t.compact(19));
    }

    /** The current writers write the current versions byte for byte (change this when a version is added). */
    @Test
    void currentWritersReproduceTheGoldenBytes(@TempDir Path dir) throws Exception {
        GoldenFiles.regenerate(dir);
        for (String name : new String[] {GoldenFiles.TOKEN_ID_FILE_V2, GoldenFiles.COMPACTION_V1}) {
            assertArrayEquals(Files.readAllBytes(golden(name)), Files.readAllBytes(dir.resolve(name)), name);
        }
    }
}

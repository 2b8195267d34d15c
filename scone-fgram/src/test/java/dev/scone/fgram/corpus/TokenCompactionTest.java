package dev.scone.fgram.corpus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenCompactionTest {

    @TempDir
    Path dir;

    /** Skewed random documents over {@code v} ids, many ties and some ids never used. */
    static InMemoryTokenCorpus skewedCorpus(long seed, int v) {
        Random r = new Random(seed);
        int[][] docs = new int[12][];
        for (int d = 0; d < docs.length; d++) {
            docs[d] = new int[r.nextInt(80)];
            for (int i = 0; i < docs[d].length; i++) {
                docs[d][i] = (int) Math.min(v - 1, Math.floor(Math.pow(r.nextDouble(), 3) * v * 0.8));
            }
        }
        return new InMemoryTokenCorpus(docs, v);
    }

    @Test
    void matchesABruteForceRanking() {
        for (long seed = 1; seed <= 5; seed++) {
            int v = 60;
            InMemoryTokenCorpus c = skewedCorpus(seed, v);
            long[] counts = new long[v];
            for (int d = 0; d < c.documentCount(); d++) {
                for (int id : c.document(d)) {
                    counts[id]++;
                }
            }
            for (int keep : new int[] {1, 5, 20, 47, 59, 60}) {
                TokenCompaction t = TokenCompaction.fit(c, keep);
                assertEquals(keep + 1, t.vocabularySize());
                assertEquals(keep, t.unknownId());
                long unknown = 0;
                for (int x = 0; x < v; x++) {
                    int rank = 0;
                    for (int y = 0; y < v; y++) {
                        if (counts[y] > counts[x] || counts[y] == counts[x] && y < x) {
                            rank++;
                        }
                    }
                    int expected = rank < keep ? rank : keep;
                    assertEquals(expected, t.compact(x), "seed " + seed + ", keep " + keep + ", id " + x);
                    if (expected < keep) {
                        assertEquals(x, t.original(expected));
                        assertEquals(counts[x], t.count(expected));
                    } else {
                        unknown += counts[x];
                    }
                }
                assertEquals(unknown, t.count(t.unknownId()));
                assertEquals(-1, t.original(t.unknownId()));
                InMemoryTokenCorpus compacted = t.compact(c);
                assertEquals(keep + 1, compacted.vocabularySize());
                for (int d = 0; d < c.documentCount(); d++) {
                    int[] orig = c.document(d);
                    int[] comp = compacted.document(d);
                    assertEquals(orig.length, comp.length);
                    for (int i = 0; i < orig.length; i++) {
                        assertEquals(t.compact(orig[i]), comp[i]);
                    }
                }
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        InMemoryTokenCorpus c = skewedCorpus(1, 10);
        assertThrows(IllegalArgumentException.class, () -> TokenCompaction.fit(c, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TokenCompaction.fit(c, 11));
        assertTrue(e.getMessage().contains("got 11"), e.getMessage());
        TokenCompaction t = TokenCompaction.fit(c, 3);
        assertThrows(IllegalArgumentException.class, () -> t.compact(10));
        assertThrows(IllegalArgumentException.class, () -> t.original(4));
        assertThrows(IllegalArgumentException.class, () -> t.compact(new InMemoryTokenCorpus(new int[][] {{1}}, 11)));
        e = assertThrows(IllegalArgumentException.class,
                () -> TokenCompaction.of(10, new int[] {1, 2}, new long[] {3, 5}, 0));
        assertTrue(e.getMessage().contains("out of order"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TokenCompaction.of(10, new int[] {2, 2}, new long[] {5, 5}, 0));
        assertTrue(e.getMessage().contains("kept twice"), e.getMessage());
    }

    @Test
    void savesAndLoads() throws IOException {
        TokenCompaction t = TokenCompaction.fit(skewedCorpus(2, 300), 40);
        Path p = dir.resolve("c.cmp");
        t.save(p);
        TokenCompaction back = TokenCompaction.load(p);
        assertEquals(t, back);
        for (int x = 0; x < 300; x++) {
            assertEquals(t.compact(x), back.compact(x));
        }
    }

    @Test
    void compactsIntoATokenIdFile() throws IOException {
        InMemoryTokenCorpus c = skewedCorpus(3, 100);
        TokenCompaction t = TokenCompaction.fit(c, 10);
        Path p = dir.resolve("compact.tok");
        t.compactTo(c, p);
        InMemoryTokenCorpus expected = t.compact(c);
        try (TokenIdFile f = TokenIdFile.open(p)) {
            assertEquals(11, f.vocabularySize());
            for (int d = 0; d < c.documentCount(); d++) {
                assertArrayEquals(expected.document(d), f.document(d));
            }
        }
    }

    @Test
    void damagedFilesAreRefused() throws IOException {
        TokenCompaction t = TokenCompaction.fit(skewedCorpus(4, 50), 7);
        Path p = dir.resolve("c.cmp");
        t.save(p);
        byte[] good = Files.readAllBytes(p);
        for (int i = 0; i < good.length; i++) {
            byte[] bad = good.clone();
            bad[i] ^= 0x04;
            Files.write(p, bad);
            SconeFormatException e = assertThrows(SconeFormatException.class, () -> TokenCompaction.load(p), "byte " + i);
            assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        }
        Files.write(p, java.util.Arrays.copyOf(good, good.length - 3));
        assertTrue(assertThrows(SconeFormatException.class, () -> TokenCompaction.load(p)).getMessage().contains("truncated"));
        byte[] magic = good.clone();
        magic[1] = 'x';
        Files.write(p, magic);
        assertTrue(assertThrows(SconeFormatException.class, () -> TokenCompaction.load(p)).getMessage().contains("magic"));
        byte[] version = good.clone();
        ByteBuffer.wrap(version).order(ByteOrder.LITTLE_ENDIAN).putInt(8, 9);
        Files.write(p, version);
        assertTrue(assertThrows(SconeFormatException.class, () -> TokenCompaction.load(p)).getMessage()
                .contains("unsupported format version 9"));
    }

    @Test
    void compactingTokenizerDecodesUnknownIdsAsAPlaceholder() {
        // vocabulary: GPT-2 ids of a tiny text; keep only the 2 most frequent
        Tokenizer gpt2 = Tokenizers.gpt2();
        int[] ids = gpt2.encode("the cat and the dog and the bird");
        InMemoryTokenCorpus c = new InMemoryTokenCorpus(new int[][] {ids}, gpt2.vocabularySize());
        TokenCompaction t = TokenCompaction.fit(c, 2); // " the" (x2), " and" (x2); "the" at start differs
        try (CompactingTokenizer ct = new CompactingTokenizer(gpt2, t)) {
            assertEquals(3, ct.vocabularySize());
            int[] compact = ct.encode("the cat and the dog and the bird");
            assertEquals("<unk><unk> and the<unk> and the<unk>", ct.decode(compact));
            assertThrows(IllegalArgumentException.class, () -> ct.decode(new int[] {3}));
        }
        assertThrows(IllegalStateException.class, () -> gpt2.encode("x"));
    }
}

package dev.scone.fgram.corpus;

import dev.scone.fgram.progress.ProgressListener;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTokenizerTest {

    @TempDir
    Path dir;

    /** Records what it hears. */
    static final class Recording implements ProgressListener {
        final List<String> events = new ArrayList<>();

        @Override
        public void start(String task, long total, long done) {
            events.add("start " + task + " " + total + (done == 0 ? "" : " from " + done));
        }

        @Override
        public void stepTo(long done, String status) {
            events.add("at " + done);
        }

        @Override
        public void advance(long steps) {
            events.add("+" + steps);
        }

        @Override
        public void finish() {
            events.add("finish");
        }
    }

    private CorpusTokenizer corpusTokenizer(Tokenizer t, ProgressListener p) {
        return CorpusTokenizer.builder().setTokenizer(t).optThreads(2).optProgress(p).build();
    }

    @Test
    void tokenizesFilesInNameOrderKeepingDocumentsApart() throws IOException {
        Path in = Files.createDirectories(dir.resolve("in"));
        String[] names = {"b.txt", "a.txt", "c.txt", "d.txt", "e.txt", "f.txt", "g.txt", "h.txt", "i.txt", "j.txt"};
        for (int i = 0; i < names.length; i++) {
            Files.writeString(in.resolve(names[i]), "Document " + names[i] + " says " + "hello ".repeat(i * 37));
        }
        Files.writeString(in.resolve("notes.json"), "ignored");
        Files.createDirectories(in.resolve("sub.txt"));
        Recording rec = new Recording();
        try (Tokenizer t = Tokenizers.gpt2()) {
            CorpusTokenizer.Result r = corpusTokenizer(t, rec).tokenize(in, dir.resolve("out.tok"));
            List<String> sorted = List.of(names).stream().sorted().toList();
            assertEquals(sorted, r.documentNames());
            try (TokenIdFile f = TokenIdFile.open(r.file())) {
                assertEquals(names.length, f.documentCount());
                assertEquals(r.tokenCount(), f.tokenCount());
                for (int d = 0; d < sorted.size(); d++) {
                    assertArrayEquals(t.encode(Files.readString(in.resolve(sorted.get(d)))), f.document(d), sorted.get(d));
                }
            }
        }
        assertEquals("start tokenize 10", rec.events.get(0));
        assertEquals(10, rec.events.stream().filter("+1"::equals).count());
        assertEquals("finish", rec.events.get(rec.events.size() - 1));
    }

    @Test
    void emptyFolderIsRefused() throws IOException {
        Path in = Files.createDirectories(dir.resolve("empty"));
        Files.writeString(in.resolve("readme.md"), "not a document");
        try (Tokenizer t = Tokenizers.gpt2()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> corpusTokenizer(t, ProgressListener.NONE).tokenize(in, dir.resolve("out.tok")));
            assertEquals("no .txt documents in " + in, e.getMessage());
        }
    }

    @Test
    void corpusWithoutTokensIsRefusedAndLeavesNoFile() throws IOException {
        Path in = Files.createDirectories(dir.resolve("blank"));
        Files.writeString(in.resolve("a.txt"), "");
        Files.writeString(in.resolve("b.txt"), "");
        Path out = dir.resolve("out.tok");
        try (Tokenizer t = Tokenizers.gpt2()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> corpusTokenizer(t, ProgressListener.NONE).tokenize(in, out));
            assertTrue(e.getMessage().contains("all 2 documents"), e.getMessage());
        }
        assertFalse(Files.exists(out));
    }

    @Test
    void invalidUtf8IsRefusedNamingTheFile() throws IOException {
        Path in = Files.createDirectories(dir.resolve("bad"));
        Files.writeString(in.resolve("a.txt"), "fine");
        Files.write(in.resolve("b.txt"), new byte[] {'o', 'k', (byte) 0xff, (byte) 0xfe});
        Path out = dir.resolve("out.tok");
        try (Tokenizer t = Tokenizers.gpt2()) {
            IOException e = assertThrows(IOException.class, () -> corpusTokenizer(t, ProgressListener.NONE).tokenize(in, out));
            assertTrue(e.getMessage().contains("b.txt") && e.getMessage().contains("UTF-8"), e.getMessage());
        }
        assertFalse(Files.exists(out));
    }

    @Test
    void builderChecksItsArguments() {
        assertThrows(IllegalArgumentException.class, () -> CorpusTokenizer.builder().build());
        assertThrows(IllegalArgumentException.class,
                () -> CorpusTokenizer.builder().setTokenizer(Tokenizers.gpt2()).optThreads(0).build());
    }

    /** The whole real corpus, with the fast tokenizer (about a second). */
    @Test
    void tokenizesTheWholeCorpus() throws IOException {
        try (Tokenizer t = Tokenizers.open(TestData.gpt2TokenizerJson(), "gpt2")) {
            CorpusTokenizer.Result r = corpusTokenizer(t, ProgressListener.NONE).tokenize(TestData.sotuDir(),
                    dir.resolve("sotu.tok"));
            assertEquals(233, r.documentCount());
            assertEquals(2_074_279L, r.tokenCount());
            assertEquals("1790_george_washington_n.txt", r.documentNames().get(0));
            try (TokenIdFile f = TokenIdFile.open(r.file())) {
                assertEquals(2_074_279L, f.tokenCount());
                assertEquals(50257, f.vocabularySize());
            }
        }
    }
}

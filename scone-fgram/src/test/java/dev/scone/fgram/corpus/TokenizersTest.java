package dev.scone.fgram.corpus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.testing.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizersTest {

    private static HuggingFaceTokenizerJson hf;
    private static Tokenizer jtokkit;

    @BeforeAll
    static void open() throws IOException {
        hf = HuggingFaceTokenizerJson.open(TestData.gpt2TokenizerJson(), "gpt2");
        jtokkit = JtokkitTokenizer.gpt2();
    }

    @AfterAll
    static void close() {
        hf.close();
        jtokkit.close();
    }

    @Test
    void bothGiveGpt2ReferenceIds() {
        assertArrayEquals(new int[] {15496, 995}, hf.encode("Hello world"));
        assertArrayEquals(new int[] {15496, 995}, jtokkit.encode("Hello world"));
        assertEquals(50257, hf.vocabularySize());
        assertEquals(50257, jtokkit.vocabularySize());
        assertEquals(0, hf.encode("").length);
        assertEquals(0, jtokkit.encode("").length);
    }

    @Test
    void longTextIsNotTruncated() {
        String text = String.join(" ", java.util.Collections.nCopies(3000, "word"));
        assertEquals(3000, hf.encode(text).length);
    }

    @Test
    void jtokkitMatchesHuggingFaceOnWholeAddressesAndEdgeCases() throws IOException {
        String[] names = {"1790_george_washington_n.txt", "1861_abraham_lincoln_r.txt", "2021_joseph_r_biden_d.txt"};
        for (String name : names) {
            String text = Files.readString(TestData.sotuDir().resolve(name), StandardCharsets.UTF_8);
            int[] a = hf.encode(text);
            assertTrue(a.length > 1000, name);
            assertArrayEquals(a, jtokkit.encode(text), name);
            assertEquals(text, jtokkit.decode(a), name);
            assertEquals(text, hf.decode(a), name);
        }
        String[] edge = {
            "  leading and trailing spaces  ", "tabs\tand\nnew\r\nlines\n\n\n", "don't we'll they're I'M",
            "numbers 1234567 3.14159 -42", "“curly quotes” and — dashes … ", "emoji 🙂👍🏽 and CJK 漢字 and é vs é",
            "a<|endoftext|>b", "<|endoftext|>", "symbols !!! ??? ### $$$ %%% ^^^", "\u00a0non-breaking\u2009spaces",
        };
        for (String s : edge) {
            assertArrayEquals(hf.encode(s), jtokkit.encode(s), s);
            assertEquals(s, jtokkit.decode(jtokkit.encode(s)), s);
        }
        assertArrayEquals(new int[] {64, 50256, 65}, jtokkit.encode("a<|endoftext|>b"));
    }

    @Test
    void decodeRejectsOutOfRangeIds() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> jtokkit.decode(new int[] {1, 50257}));
        assertEquals("token id 50257 at position 1 is outside the vocabulary [0, 50257)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> hf.decode(new int[] {-1}));
    }

    @Test
    void factoryPicksJtokkitForGpt2() throws IOException {
        HuggingFaceTokenizerJson.Description d = HuggingFaceTokenizerJson.describe(TestData.gpt2TokenizerJson());
        assertEquals(Tokenizers.GPT2_FINGERPRINT, d.fingerprint());
        assertEquals(hf.fingerprint(), d.fingerprint());
        try (Tokenizer t = Tokenizers.open(TestData.gpt2TokenizerJson(), "anything")) {
            assertInstanceOf(JtokkitTokenizer.class, t);
            assertEquals("gpt2", t.name());
        }
        try (Tokenizer t = Tokenizers.open(TestData.gpt2TokenizerJson())) {
            assertInstanceOf(JtokkitTokenizer.class, t);
        }
        assertEquals("gpt2", hf.name());
    }

    @Test
    void factoryUsesHuggingFaceForOtherTokenizers(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("tokenizer.json");
        Files.writeString(json, """
                {"version": "1.0", "truncation": null, "padding": null,
                 "added_tokens": [{"id": 3, "content": "[UNK]", "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true}],
                 "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
                 "decoder": null,
                 "model": {"type": "WordLevel", "vocab": {"hello": 0, "world": 1, "!": 2, "[UNK]": 3},
                   "unk_token": "[UNK]"}}
                """);
        Tokenizer t = Tokenizers.open(json, "tiny");
        try {
            assertInstanceOf(HuggingFaceTokenizerJson.class, t);
            assertEquals("tiny", t.name());
            assertEquals(4, t.vocabularySize());
            assertArrayEquals(new int[] {0, 1, 2, 3}, t.encode("hello world ! other"));
        } finally {
            t.close();
        }
        assertThrows(IllegalStateException.class, () -> t.encode("hello"));
        try (Tokenizer named = Tokenizers.open(json)) {
            assertEquals(dir.getFileName().toString(), named.name());
        }
        Files.writeString(json, "{\"model\": {}}");
        assertThrows(SconeFormatException.class, () -> Tokenizers.open(json, "x"));
        Files.writeString(json, "not json at all [");
        assertThrows(SconeFormatException.class, () -> Tokenizers.open(json, "x"));
    }
}

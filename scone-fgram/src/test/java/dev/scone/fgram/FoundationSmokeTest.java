package dev.scone.fgram;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.scone.fgram.testing.ChildJvm;
import dev.scone.fgram.testing.TestData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Proves the foundation: offline engine load from an empty cache, and the GPT-2 tokenizer. */
class FoundationSmokeTest {

    @Test
    void pytorchEngineLoadsOfflineFromAnEmptyCache(@TempDir Path tmp) throws Exception {
        Path cache = tmp.resolve("djl-cache");
        Path home = tmp.resolve("home");
        Files.createDirectories(home);
        ChildJvm.Result r = ChildJvm.run(EngineChild.class,
                Map.of("DJL_CACHE_DIR", cache.toString(), "HOME", home.toString(), "OPT_OUT_TRACKING", "true"),
                List.of("-Dai.djl.offline=true", "-Duser.home=" + home), 180);
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("ENGINE=PyTorch"), r.output());
        assertTrue(r.output().contains("SUM=14.0"), r.output());
        // The native library was extracted from the Maven jars into the empty cache.
        try (Stream<Path> s = Files.walk(cache)) {
            assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("libtorch")),
                    "no libtorch extracted under " + cache);
        }
    }

    @Test
    void gpt2TokenizerMatchesReferenceIdsAndRoundTripsAnAddress() throws Exception {
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder()
                .optTokenizerPath(TestData.gpt2TokenizerJson())
                .optAddSpecialTokens(false)
                .optTruncation(false)
                .optPadding(false)
                .build()) {
            Encoding hello = tok.encode("Hello world");
            assertEquals(List.of(15496L, 995L), toList(hello.getIds()));

            Path address = TestData.sotuDir().resolve("1861_abraham_lincoln_r.txt");
            String text = Files.readString(address, StandardCharsets.UTF_8);
            long[] ids = tok.encode(text).getIds();
            assertTrue(ids.length > 5000, "an address has thousands of tokens, got " + ids.length);
            assertEquals(text, tok.decode(ids, false));
        }
    }

    private static List<Long> toList(long[] a) {
        return java.util.Arrays.stream(a).boxed().toList();
    }
}

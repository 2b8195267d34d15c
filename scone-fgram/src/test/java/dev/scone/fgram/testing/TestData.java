package dev.scone.fgram.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the corpus and tokenizer that {@code scripts/fetch-data.sh} fetches (the build runs it
 * in its validate phase). Tests that need them fail with a clear message when they are missing;
 * nothing is skipped silently.
 */
public final class TestData {

    private TestData() {}

    /** @return the data folder ({@code -Dscone.data.dir}, else {@code data/} above the module) */
    public static Path dataDir() {
        String p = System.getProperty("scone.data.dir");
        Path dir = p != null ? Path.of(p) : Path.of("..", "data");
        return dir.toAbsolutePath().normalize();
    }

    /** @return the folder of State of the Union addresses, one {@code .txt} file each */
    public static Path sotuDir() {
        return require(dataDir().resolve("sotu"));
    }

    /** @return GPT-2's Hugging Face {@code tokenizer.json} */
    public static Path gpt2TokenizerJson() {
        return require(dataDir().resolve("gpt2").resolve("tokenizer.json"));
    }

    private static Path require(Path p) {
        if (!Files.exists(p)) {
            throw new IllegalStateException(p + " is missing: run scripts/fetch-data.sh (the Maven build runs it"
                    + " unless -Dscone.skipFetch=true)");
        }
        return p;
    }
}

package dev.scone.fgram.corpus;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way to get a tokenizer: the fastest implementation that gives the exact ids of the
 * requested one. GPT-2 is served by the pure-Java {@link JtokkitTokenizer}; any other
 * {@code tokenizer.json} by {@link HuggingFaceTokenizerJson}.
 */
public final class Tokenizers {

    /**
     * Fingerprint ({@link HuggingFaceTokenizerJson#fingerprint()}) of GPT-2's Hugging Face
     * {@code tokenizer.json}, whose ids {@link JtokkitTokenizer} reproduces.
     */
    public static final String GPT2_FINGERPRINT = "0eb27a73f4ef64f49a151cbc50d693f2c0f903359e1d2d696935389c3b9d2621";

    private static final Logger LOG = LoggerFactory.getLogger(Tokenizers.class);

    private Tokenizers() {}

    /** @return GPT-2's tokenizer (pure Java) */
    public static Tokenizer gpt2() {
        return JtokkitTokenizer.gpt2();
    }

    /**
     * Opens a {@code tokenizer.json} (GPT-2's served by {@link JtokkitTokenizer}), named as
     * {@link HuggingFaceTokenizerJson#open(Path)} names it.
     *
     * @param tokenizerJson the file
     * @return the tokenizer; close it
     * @throws IOException when the file cannot be read or is not a tokenizer.json
     */
    public static Tokenizer open(Path tokenizerJson) throws IOException {
        HuggingFaceTokenizerJson.Description d = HuggingFaceTokenizerJson.describe(tokenizerJson);
        return open(tokenizerJson, HuggingFaceTokenizerJson.defaultName(tokenizerJson, d));
    }

    /**
     * Opens a {@code tokenizer.json}: GPT-2's is served by {@link JtokkitTokenizer} (same ids,
     * faster); any other by {@link HuggingFaceTokenizerJson}.
     *
     * @param tokenizerJson the file
     * @param name the name a Hugging Face tokenizer reports (GPT-2's is always {@code gpt2})
     * @return the tokenizer; close it
     * @throws IOException when the file cannot be read or is not a tokenizer.json
     */
    public static Tokenizer open(Path tokenizerJson, String name) throws IOException {
        Objects.requireNonNull(name, "name");
        HuggingFaceTokenizerJson.Description d = HuggingFaceTokenizerJson.describe(tokenizerJson);
        if (isGpt2(d)) {
            LOG.debug("{} is GPT-2's tokenizer: using jtokkit", tokenizerJson);
            return JtokkitTokenizer.gpt2();
        }
        return HuggingFaceTokenizerJson.open(tokenizerJson, name);
    }

    /**
     * @param description a tokenizer.json's description
     * @return whether it is GPT-2's tokenizer
     */
    public static boolean isGpt2(HuggingFaceTokenizerJson.Description description) {
        return description.vocabularySize() == JtokkitTokenizer.GPT2_VOCABULARY_SIZE
                && GPT2_FINGERPRINT.equals(description.fingerprint());
    }
}

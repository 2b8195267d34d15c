package dev.scone.fgram.corpus;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.util.JsonUtils;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import dev.scone.fgram.io.SconeFormatException;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;

/**
 * Any Hugging Face {@code tokenizer.json} (through DJL's native tokenizers library), used without
 * special tokens, truncation or padding, so that a long document is encoded whole. Several
 * threads may encode at once; close it only when no call is in progress (it frees native memory).
 * For GPT-2 prefer {@link Tokenizers#open}, which serves the same ids from pure Java.
 */
public final class HuggingFaceTokenizerJson implements Tokenizer {

    private final HuggingFaceTokenizer tokenizer; // native memory: released by close()
    private final String name;
    private final int vocabularySize;
    private final String fingerprint;
    private volatile boolean closed;

    private HuggingFaceTokenizerJson(HuggingFaceTokenizer tokenizer, String name, int vocabularySize,
            String fingerprint) {
        this.tokenizer = tokenizer;
        this.name = name;
        this.vocabularySize = vocabularySize;
        this.fingerprint = fingerprint;
    }

    /**
     * Opens a {@code tokenizer.json}.
     *
     * @param tokenizerJson the file
     * @param name the name to report, e.g. {@code gpt2}
     * @return the tokenizer; close it
     * @throws IOException when the file cannot be read
     * @throws SconeFormatException when it is not a tokenizer.json with a vocabulary
     */
    public static HuggingFaceTokenizerJson open(Path tokenizerJson, String name) throws IOException {
        Objects.requireNonNull(name, "name");
        Description d = describe(tokenizerJson);
        HuggingFaceTokenizer hf = HuggingFaceTokenizer.builder()
                .optTokenizerPath(tokenizerJson)
                .optAddSpecialTokens(false)
                .optTruncation(false)
                .optPadding(false)
                .build();
        return new HuggingFaceTokenizerJson(hf, name, d.vocabularySize(), d.fingerprint());
    }

    /**
     * Opens a {@code tokenizer.json}, named {@code gpt2} when it is GPT-2's, else after its folder
     * (e.g. {@code bert-base-uncased/tokenizer.json} is {@code bert-base-uncased}).
     *
     * @param tokenizerJson the file
     * @return the tokenizer; close it
     * @throws IOException when the file cannot be read
     * @throws SconeFormatException when it is not a tokenizer.json with a vocabulary
     */
    public static HuggingFaceTokenizerJson open(Path tokenizerJson) throws IOException {
        return open(tokenizerJson, defaultName(tokenizerJson, describe(tokenizerJson)));
    }

    static String defaultName(Path tokenizerJson, Description d) {
        if (Tokenizers.isGpt2(d)) {
            return "gpt2";
        }
        Path abs = tokenizerJson.toAbsolutePath();
        Path parent = abs.getParent();
        if (parent != null && parent.getFileName() != null) {
            return parent.getFileName().toString();
        }
        String file = abs.getFileName().toString();
        return file.endsWith(".json") ? file.substring(0, file.length() - 5) : file;
    }

    /**
     * What a {@code tokenizer.json} is, read without loading the native library.
     *
     * @param vocabularySize one more than the largest id of its vocabulary and added tokens
     * @param fingerprint see {@link #fingerprint()}
     */
    public record Description(int vocabularySize, String fingerprint) {}

    /**
     * Reads a {@code tokenizer.json}'s vocabulary size and fingerprint.
     *
     * @param tokenizerJson the file
     * @return its description
     * @throws IOException when the file cannot be read
     * @throws SconeFormatException when it is not a tokenizer.json with a vocabulary
     */
    public static Description describe(Path tokenizerJson) throws IOException {
        Objects.requireNonNull(tokenizerJson, "tokenizerJson");
        JsonObject root;
        try (Reader r = Files.newBufferedReader(tokenizerJson, StandardCharsets.UTF_8)) {
            root = JsonUtils.GSON.fromJson(r, JsonObject.class);
        } catch (JsonParseException | ClassCastException | IllegalStateException e) {
            throw new SconeFormatException(tokenizerJson, "not a tokenizer.json: " + jsonProblem(e), e);
        }
        if (root == null) {
            throw new SconeFormatException(tokenizerJson, "empty tokenizer.json");
        }
        return new Description(vocabularySize(tokenizerJson, root), fingerprint(root));
    }

    /** What is wrong with a file that is no JSON object, without the JSON library's class names. */
    static String jsonProblem(Exception e) {
        Throwable t = e.getCause() != null && e.getCause().getMessage() != null ? e.getCause() : e;
        String m = String.valueOf(t.getMessage());
        if (m.startsWith("Expected a com.google.gson.JsonObject")) {
            return "its top level is not a JSON object";
        }
        return "malformed JSON (" + m.replaceAll("com\\.google\\.gson\\.[A-Za-z.]*?([A-Z][A-Za-z]*)", "$1")
                .replaceFirst("^[A-Za-z]*Exception: ", "") + ")";
    }

    /**
     * A fingerprint of what decides the ids: the model (vocabulary, merges), normalizer,
     * pre-tokenizer, decoder and added tokens, as SHA-256 hex of their compact JSON. Two files
     * with the same fingerprint tokenize alike; a reformatted file may differ.
     *
     * @return the fingerprint
     */
    public String fingerprint() {
        return fingerprint;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int vocabularySize() {
        return vocabularySize;
    }

    @Override
    public int[] encode(String text) {
        ensureOpen();
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            long id = ids[i];
            if (id < 0 || id >= vocabularySize) {
                throw new IllegalStateException("tokenizer " + name + " returned id " + id + " at position " + i
                        + ", outside its vocabulary [0, " + vocabularySize + ")");
            }
            out[i] = (int) id;
        }
        return out;
    }

    @Override
    public String decode(int[] ids) {
        ensureOpen();
        Tokenizer.checkIds(ids, vocabularySize);
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return tokenizer.decode(l, false);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            tokenizer.close();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("tokenizer " + name + " is closed");
        }
    }

    @Override
    public String toString() {
        return "HuggingFaceTokenizerJson[" + name + ", " + vocabularySize + " ids]";
    }

    private static int vocabularySize(Path file, JsonObject root) throws SconeFormatException {
        long max = -1;
        JsonElement model = root.get("model");
        JsonElement vocab = model != null && model.isJsonObject() ? model.getAsJsonObject().get("vocab") : null;
        if (vocab == null) {
            throw new SconeFormatException(file, "no model.vocab in tokenizer.json");
        }
        if (vocab.isJsonObject()) { // BPE, WordPiece, WordLevel: token -> id
            for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
                max = Math.max(max, e.getValue().getAsLong());
            }
        } else if (vocab.isJsonArray()) { // Unigram: [piece, score] in id order
            max = vocab.getAsJsonArray().size() - 1L;
        } else {
            throw new SconeFormatException(file, "model.vocab is neither an object nor an array");
        }
        JsonElement added = root.get("added_tokens");
        if (added != null && added.isJsonArray()) {
            for (JsonElement t : added.getAsJsonArray()) {
                max = Math.max(max, t.getAsJsonObject().get("id").getAsLong());
            }
        }
        if (max < 0 || max >= Integer.MAX_VALUE) {
            throw new SconeFormatException(file, "vocabulary ids up to " + max + " are not usable");
        }
        return (int) max + 1;
    }

    private static String fingerprint(JsonObject root) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String key : new String[] {"model", "normalizer", "pre_tokenizer", "decoder", "added_tokens"}) {
                JsonElement e = root.get(key);
                md.update(key.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(String.valueOf(e).getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}

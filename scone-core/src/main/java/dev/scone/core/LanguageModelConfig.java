package dev.scone.core;

import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.nn.DecoderConfig;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.nn.FgramOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The architecture of a {@link CausalLanguageModelBlock}. DJL saves parameters but not the
 * architecture, so a checkpoint stores this configuration beside them ({@link #toText()},
 * {@link #write(Path)}).
 *
 * @param vocabularySize V, the token vocabulary size
 * @param contextLength C, the longest input sequence (number of learned positions)
 * @param embeddingSize E; a multiple of {@code heads}
 * @param layers decoder layers of the main model
 * @param heads attention heads of the main model
 * @param ffnSize feed-forward width of the main model
 * @param tiedOutput whether the output projection reuses the token embedding T
 * @param dropout dropout probability of the main model, in [0, 1)
 * @param fgramModel A_fgram's shape for a SCONE model (same E), or {@code null} for a baseline
 * @param inputNorm whether an RMS norm acts on every vector leaving the input embedding, before the
 *     position embedding is added (a main-model setting: a baseline and a SCONE model compared with
 *     each other share it)
 * @param fgramCombine how a SCONE model's f-gram vector enters ({@link FgramCombine#REPLACE} for a
 *     baseline, where it means nothing)
 */
public record LanguageModelConfig(int vocabularySize, int contextLength, int embeddingSize, int layers, int heads,
        int ffnSize, boolean tiedOutput, float dropout, FgramModelConfig fgramModel, boolean inputNorm,
        FgramCombine fgramCombine) {

    /** The text format's identifier. */
    public static final String FORMAT = "scone-lm-config";

    /** The text format's version this code writes. */
    public static final int FORMAT_VERSION = 2;

    /**
     * Whether configurations that do not say otherwise normalise the input embedding. Version-1 texts
     * (written before the setting existed) always read as {@code false}.
     */
    public static final boolean DEFAULT_INPUT_NORM = false;

    /**
     * A configuration with the default input norm ({@value #DEFAULT_INPUT_NORM}) and f-gram vectors
     * that replace token embeddings.
     *
     * @param vocabularySize V
     * @param contextLength C
     * @param embeddingSize E
     * @param layers decoder layers
     * @param heads attention heads
     * @param ffnSize feed-forward width
     * @param tiedOutput whether the output projection reuses T
     * @param dropout dropout probability
     * @param fgramModel A_fgram's shape, or {@code null} for a baseline
     */
    public LanguageModelConfig(int vocabularySize, int contextLength, int embeddingSize, int layers, int heads,
            int ffnSize, boolean tiedOutput, float dropout, FgramModelConfig fgramModel) {
        this(vocabularySize, contextLength, embeddingSize, layers, heads, ffnSize, tiedOutput, dropout, fgramModel,
                DEFAULT_INPUT_NORM, FgramCombine.REPLACE);
    }

    /** Checks every field. */
    public LanguageModelConfig {
        if (vocabularySize < 1) {
            throw new IllegalArgumentException("vocabularySize must be >= 1, got " + vocabularySize);
        }
        if (contextLength < 1) {
            throw new IllegalArgumentException("contextLength must be >= 1, got " + contextLength);
        }
        new DecoderConfig(embeddingSize, layers, heads, ffnSize, dropout); // checks the decoder's fields
        if (fgramModel != null && fgramModel.embeddingSize() != embeddingSize) {
            throw new IllegalArgumentException("A_fgram embedding size " + fgramModel.embeddingSize()
                    + " differs from the model's " + embeddingSize);
        }
        java.util.Objects.requireNonNull(fgramCombine, "fgramCombine");
    }

    /**
     * A baseline configuration (no f-gram model).
     *
     * @param vocabularySize V
     * @param contextLength C
     * @param decoder the main model's decoder
     * @param tiedOutput whether to tie the output projection to T
     * @return the configuration
     */
    public static LanguageModelConfig baseline(int vocabularySize, int contextLength, DecoderConfig decoder,
            boolean tiedOutput) {
        return new LanguageModelConfig(vocabularySize, contextLength, decoder.embeddingSize(), decoder.layers(),
                decoder.heads(), decoder.ffnSize(), tiedOutput, decoder.dropout(), null, DEFAULT_INPUT_NORM,
                FgramCombine.REPLACE);
    }

    /** @return the main model's decoder configuration */
    public DecoderConfig decoder() {
        return new DecoderConfig(embeddingSize, layers, heads, ffnSize, dropout);
    }

    /** @return whether this is a SCONE model (it has an f-gram model) */
    public boolean isScone() {
        return fgramModel != null;
    }

    /**
     * @param fgramModel A_fgram's shape, or {@code null}
     * @return a copy with that f-gram model
     */
    public LanguageModelConfig withFgramModel(FgramModelConfig fgramModel) {
        return new LanguageModelConfig(vocabularySize, contextLength, embeddingSize, layers, heads, ffnSize,
                tiedOutput, dropout, fgramModel, inputNorm, fgramCombine);
    }

    /**
     * @param value whether to normalise the input embedding
     * @return a copy with that setting
     */
    public LanguageModelConfig withInputNorm(boolean value) {
        return new LanguageModelConfig(vocabularySize, contextLength, embeddingSize, layers, heads, ffnSize,
                tiedOutput, dropout, fgramModel, value, fgramCombine);
    }

    /**
     * @param value how f-gram vectors enter the main model
     * @return a copy with that setting
     */
    public LanguageModelConfig withFgramCombine(FgramCombine value) {
        return new LanguageModelConfig(vocabularySize, contextLength, embeddingSize, layers, heads, ffnSize,
                tiedOutput, dropout, fgramModel, inputNorm, value);
    }

    /**
     * Serialises this configuration as {@code key=value} lines: format, version, every field, and
     * a CRC-32 of the lines before the checksum. Version 2 added {@code inputNorm},
     * {@code fgram.output} and {@code fgram.combine}; a version-1 text reads as no input norm, a
     * layer-normalised A_fgram output and replacement.
     *
     * @return the text
     */
    public String toText() {
        StringBuilder sb = new StringBuilder();
        sb.append("format=").append(FORMAT).append('\n');
        sb.append("version=").append(FORMAT_VERSION).append('\n');
        sb.append("vocabularySize=").append(vocabularySize).append('\n');
        sb.append("contextLength=").append(contextLength).append('\n');
        sb.append("embeddingSize=").append(embeddingSize).append('\n');
        sb.append("layers=").append(layers).append('\n');
        sb.append("heads=").append(heads).append('\n');
        sb.append("ffnSize=").append(ffnSize).append('\n');
        sb.append("tiedOutput=").append(tiedOutput).append('\n');
        sb.append("dropout=").append(dropout).append('\n');
        sb.append("inputNorm=").append(inputNorm).append('\n');
        sb.append("fgram=").append(fgramModel != null).append('\n');
        if (fgramModel != null) {
            sb.append("fgram.layers=").append(fgramModel.layers()).append('\n');
            sb.append("fgram.heads=").append(fgramModel.heads()).append('\n');
            sb.append("fgram.ffnSize=").append(fgramModel.ffnSize()).append('\n');
            sb.append("fgram.maxN=").append(fgramModel.maxN()).append('\n');
            sb.append("fgram.dropout=").append(fgramModel.dropout()).append('\n');
            sb.append("fgram.output=").append(fgramModel.output().id()).append('\n');
            sb.append("fgram.combine=").append(fgramCombine.id()).append('\n');
        }
        String checksum = crc(sb.toString());
        sb.append("checksum=").append(checksum).append('\n');
        return sb.toString();
    }

    /**
     * Parses {@link #toText()}'s output.
     *
     * @param text the text
     * @return the configuration
     * @throws IllegalArgumentException when the text is not a valid configuration of a known
     *     version, naming the problem
     */
    public static LanguageModelConfig fromText(String text) {
        int at = text.lastIndexOf("checksum=");
        if (at < 0 || (at > 0 && text.charAt(at - 1) != '\n')) {
            throw new IllegalArgumentException("no checksum line");
        }
        String body = text.substring(0, at);
        String stored = text.substring(at + "checksum=".length()).strip();
        if (!stored.equals(crc(body))) {
            throw new IllegalArgumentException("checksum mismatch: stored " + stored + ", computed " + crc(body));
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : body.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 1) {
                throw new IllegalArgumentException("malformed line '" + line + "'");
            }
            if (m.put(line.substring(0, eq), line.substring(eq + 1)) != null) {
                throw new IllegalArgumentException("key '" + line.substring(0, eq) + "' appears twice");
            }
        }
        if (!FORMAT.equals(m.get("format"))) {
            throw new IllegalArgumentException("format is '" + m.get("format") + "', expected '" + FORMAT + "'");
        }
        int version = integer(m, "version");
        if (version < 1 || version > FORMAT_VERSION) {
            throw new IllegalArgumentException("unsupported version " + version + " (this code reads 1 to "
                    + FORMAT_VERSION + ")");
        }
        boolean v1 = version == 1;
        int e = integer(m, "embeddingSize");
        boolean scone = bool(m, "fgram");
        FgramModelConfig fgram = scone
                ? new FgramModelConfig(e, integer(m, "fgram.layers"), integer(m, "fgram.heads"),
                        integer(m, "fgram.ffnSize"), integer(m, "fgram.maxN"), real(m, "fgram.dropout"),
                        v1 ? FgramOutput.LAYER_NORM : FgramOutput.of(value(m, "fgram.output")))
                : null;
        FgramCombine combine = v1 || !scone ? FgramCombine.REPLACE : FgramCombine.of(value(m, "fgram.combine"));
        return new LanguageModelConfig(integer(m, "vocabularySize"), integer(m, "contextLength"), e,
                integer(m, "layers"), integer(m, "heads"), integer(m, "ffnSize"), bool(m, "tiedOutput"),
                real(m, "dropout"), fgram, !v1 && bool(m, "inputNorm"), combine);
    }

    /**
     * Writes {@link #toText()} to a file atomically.
     *
     * @param file the target
     * @throws IOException when writing fails
     */
    public void write(Path file) throws IOException {
        byte[] bytes = toText().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, tmp -> Files.write(tmp, bytes));
    }

    /**
     * Reads a file written by {@link #write(Path)}.
     *
     * @param file the file
     * @return the configuration
     * @throws SconeFormatException when the file is not a valid configuration, naming the problem
     * @throws IOException when reading fails
     */
    public static LanguageModelConfig read(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        try {
            return fromText(text);
        } catch (IllegalArgumentException ex) {
            throw new SconeFormatException(file, ex.getMessage(), ex);
        }
    }

    private static String crc(String s) {
        CRC32 c = new CRC32();
        c.update(s.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().toHexDigits((int) c.getValue());
    }

    private static String value(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing key '" + key + "'");
        }
        return v.strip();
    }

    private static int integer(Map<String, String> m, String key) {
        String v = value(m, key);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException("'" + key + "' is '" + v + "', not an integer", ex);
        }
    }

    private static float real(Map<String, String> m, String key) {
        String v = value(m, key);
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException("'" + key + "' is '" + v + "', not a number", ex);
        }
    }

    private static boolean bool(Map<String, String> m, String key) {
        String v = value(m, key);
        if (!v.equals("true") && !v.equals("false")) {
            throw new IllegalArgumentException("'" + key + "' is '" + v + "', not true or false");
        }
        return Boolean.parseBoolean(v);
    }
}

package dev.scone.core;

import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.io.KeyValueText;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.nn.DecoderConfig;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.nn.FgramOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

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
     * Serialises this configuration in scone's {@link KeyValueText} form: format, version, every
     * field, and a CRC-32 of the lines before the checksum. Version 2 added {@code inputNorm},
     * {@code fgram.output} and {@code fgram.combine}; a version-1 text reads as no input norm, a
     * layer-normalised A_fgram output and replacement.
     *
     * @return the text
     */
    public String toText() {
        KeyValueText.Builder b = KeyValueText.builder("format=" + FORMAT).put("version", FORMAT_VERSION)
                .put("vocabularySize", vocabularySize).put("contextLength", contextLength)
                .put("embeddingSize", embeddingSize).put("layers", layers).put("heads", heads).put("ffnSize", ffnSize)
                .put("tiedOutput", tiedOutput).put("dropout", dropout).put("inputNorm", inputNorm)
                .put("fgram", fgramModel != null);
        if (fgramModel != null) {
            b.put("fgram.layers", fgramModel.layers()).put("fgram.heads", fgramModel.heads())
                    .put("fgram.ffnSize", fgramModel.ffnSize()).put("fgram.maxN", fgramModel.maxN())
                    .put("fgram.dropout", fgramModel.dropout()).put("fgram.output", fgramModel.output().id())
                    .put("fgram.combine", fgramCombine.id());
        }
        return b.toText(KeyValueText.Seal.CRC32);
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
        KeyValueText m = KeyValueText.parse(text, "format=" + FORMAT, KeyValueText.Seal.CRC32);
        int version = m.integer("version");
        if (version < 1 || version > FORMAT_VERSION) {
            throw new IllegalArgumentException("unsupported version " + version + " (this code reads 1 to "
                    + FORMAT_VERSION + ")");
        }
        boolean v1 = version == 1;
        int e = m.integer("embeddingSize");
        boolean scone = m.bool("fgram");
        FgramModelConfig fgram = scone
                ? new FgramModelConfig(e, m.integer("fgram.layers"), m.integer("fgram.heads"),
                        m.integer("fgram.ffnSize"), m.integer("fgram.maxN"), m.real("fgram.dropout"),
                        v1 ? FgramOutput.LAYER_NORM : FgramOutput.of(m.string("fgram.output").strip()))
                : null;
        FgramCombine combine = v1 || !scone ? FgramCombine.REPLACE
                : FgramCombine.of(m.string("fgram.combine").strip());
        return new LanguageModelConfig(m.integer("vocabularySize"), m.integer("contextLength"), e,
                m.integer("layers"), m.integer("heads"), m.integer("ffnSize"), m.bool("tiedOutput"),
                m.real("dropout"), fgram, !v1 && m.bool("inputNorm"), combine);
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
}

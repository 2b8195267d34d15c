package dev.scone.examples;

import dev.scone.core.FgramCombine;
import dev.scone.core.LanguageModelConfig;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.nn.FgramOutput;
import picocli.CommandLine.Option;

/**
 * The model-size options shared by every command that builds a model (train, demo, the training
 * benchmark): the same names and defaults everywhere, which are the demo's model.
 */
public final class ModelSizeOptions {

    /** E. */
    @Option(names = "--embedding", description = "E (default: ${DEFAULT-VALUE}).")
    public int embedding = 128;

    /** Main model layers. */
    @Option(names = "--layers", description = "Main model layers (default: ${DEFAULT-VALUE}).")
    public int layers = 2;

    /** Attention heads. */
    @Option(names = "--heads", description = "Main model heads (default: ${DEFAULT-VALUE}).")
    public int heads = 2;

    /** Feed-forward width. */
    @Option(names = "--ffn", description = "Main model feed-forward width (default: ${DEFAULT-VALUE}).")
    public int ffn = 512;

    /** Context length T. */
    @Option(names = "--context", description = "Context length T (default: ${DEFAULT-VALUE}).")
    public int context = 128;

    /** Windows per step B. */
    @Option(names = "--batch", description = "Windows per step B (default: ${DEFAULT-VALUE}).")
    public int batch = 16;

    /** A_fgram layers. */
    @Option(names = "--fgram-layers", description = "A_fgram layers (default: ${DEFAULT-VALUE}).")
    public int fgramLayers = 1;

    /** Whether the main model RMS-normalises its input embedding (both models). */
    @Option(names = "--input-norm", negatable = true, fallbackValue = "true",
            description = "RMS-normalise every vector leaving the input embedding, baseline and SCONE alike"
                    + " (default: ${DEFAULT-VALUE}).")
    public boolean inputNorm = LanguageModelConfig.DEFAULT_INPUT_NORM;

    /** A_fgram's output. */
    @Option(names = "--fgram-output", converter = FgramOutputConverter.class,
            description = "A_fgram's output: layernorm, none (no final norm) or scaled (layer norm times a learned"
                    + " scalar gain that starts at 0.02) (default: ${DEFAULT-VALUE}).")
    public FgramOutput fgramOutput = FgramModelConfig.DEFAULT_OUTPUT;

    /** How the f-gram vector enters the main model. */
    @Option(names = "--fgram-combine", converter = FgramCombineConverter.class,
            description = "replace T(token) with the f-gram vector (the paper), or add it (an ablation)"
                    + " (default: ${DEFAULT-VALUE}).")
    public FgramCombine fgramCombine = FgramCombine.REPLACE;

    /** Reads {@link FgramOutput#of}. */
    static final class FgramOutputConverter implements picocli.CommandLine.ITypeConverter<FgramOutput> {
        @Override
        public FgramOutput convert(String value) {
            return FgramOutput.of(value);
        }
    }

    /** Reads {@link FgramCombine#of}. */
    static final class FgramCombineConverter implements picocli.CommandLine.ITypeConverter<FgramCombine> {
        @Override
        public FgramCombine convert(String value) {
            return FgramCombine.of(value);
        }
    }
}

package dev.scone.examples;

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
}

package dev.scone.core;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import dev.scone.fgram.nn.DecoderStackBlock;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Objects;

/**
 * A GPT-style causal language model over any {@link InputEmbeddingBlock}: input embedding, plus a
 * learned absolute position embedding of C positions, then a pre-LN decoder stack ending in a
 * layer norm, then an output projection to the token vocabulary (tied to T or its own).
 *
 * <p>Input {@code NDList(tokenIds (B, T), fgramIds (B, T))} with T &lt;= C (see
 * {@link InputEmbeddingBlock}); output {@code NDList(logits (B, T, V))}: logits at position t
 * predict token t + 1 and depend on tokens 0..t only. A baseline and a SCONE model built from the
 * same {@link LanguageModelConfig} share everything but the input-embedding block.
 */
public final class CausalLanguageModelBlock extends AbstractBlock {

    private static final byte VERSION = 1;

    private final LanguageModelConfig config;
    private final InputEmbeddingBlock inputEmbedding;
    private final Parameter positions; // (C, E)
    private final DecoderStackBlock decoder;
    private final Parameter outputWeight; // (V, E), null when tied to T

    /**
     * @param config the architecture
     * @param inputEmbedding the input-embedding block; its V and E must match {@code config}
     */
    public CausalLanguageModelBlock(LanguageModelConfig config, InputEmbeddingBlock inputEmbedding) {
        super(VERSION);
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(inputEmbedding, "inputEmbedding");
        if (inputEmbedding.embeddingSize() != config.embeddingSize()) {
            throw new IllegalArgumentException("input embedding size " + inputEmbedding.embeddingSize()
                    + " differs from the model's " + config.embeddingSize());
        }
        if (inputEmbedding.tokenVocabularySize() != config.vocabularySize()) {
            throw new IllegalArgumentException("input embedding is over " + inputEmbedding.tokenVocabularySize()
                    + " tokens but the model's vocabulary has " + config.vocabularySize());
        }
        this.config = config;
        this.inputEmbedding = addChildBlock("inputEmbedding", inputEmbedding);
        this.positions = addParameter(Parameter.builder()
                .setName("positions")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(config.contextLength(), config.embeddingSize()))
                .optInitializer(new NormalInitializer(0.02f))
                .build());
        this.decoder = addChildBlock("decoder", new DecoderStackBlock(config.decoder()));
        this.outputWeight = config.tiedOutput() ? null : addParameter(Parameter.builder()
                .setName("outputWeight")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(config.vocabularySize(), config.embeddingSize()))
                .optInitializer(new NormalInitializer(0.02f))
                .build());
    }

    /**
     * A baseline model: the input embedding is T alone.
     *
     * @param config the architecture ({@code fgramModel} is ignored)
     * @return the model
     */
    public static CausalLanguageModelBlock baseline(LanguageModelConfig config) {
        return new CausalLanguageModelBlock(config,
                new TokenEmbeddingBlock(config.vocabularySize(), config.embeddingSize()));
    }

    /**
     * A SCONE model: the input embedding is T + A_fgram over {@code vocabulary}.
     *
     * @param config the architecture, with an f-gram model
     * @param vocabulary V_fgram over the model's token vocabulary
     * @return the model
     */
    public static CausalLanguageModelBlock scone(LanguageModelConfig config, FgramVocabulary vocabulary) {
        if (config.fgramModel() == null) {
            throw new IllegalArgumentException("a SCONE model needs an f-gram model configuration");
        }
        return new CausalLanguageModelBlock(config,
                new SconeEmbeddingBlock(config.vocabularySize(), config.fgramModel(), vocabulary));
    }

    /**
     * The model a configuration describes: SCONE when it has an f-gram model, else baseline.
     *
     * @param config the architecture
     * @param vocabulary V_fgram for a SCONE model; ignored (may be null) for a baseline
     * @return the model
     */
    public static CausalLanguageModelBlock of(LanguageModelConfig config, FgramVocabulary vocabulary) {
        return config.isScone() ? scone(config, Objects.requireNonNull(vocabulary, "vocabulary")) : baseline(config);
    }

    /** @return the architecture */
    public LanguageModelConfig config() {
        return config;
    }

    /** @return the input-embedding block */
    public InputEmbeddingBlock inputEmbedding() {
        return inputEmbedding;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray tokenIds = InputChecks.tokenIdsOf(inputs, false);
        Shape shape = tokenIds.getShape();
        if (shape.dimension() != 2) {
            throw new IllegalArgumentException("tokenIds must have shape (B, T), got " + shape);
        }
        long length = shape.get(1);
        if (length < 1 || length > config.contextLength()) {
            throw new IllegalArgumentException("sequence length " + length + " is outside [1, "
                    + config.contextLength() + "] (the context length)");
        }
        try (NDManager scope = NDManager.subManagerOf(tokenIds)) {
            scope.tempAttachAll(inputs);
            NDArray x = inputEmbedding.forward(ps, inputs, training, params).singletonOrThrow(); // (B, T, E)
            NDArray pos = ps.getValue(positions, x.getDevice(), training).get(scope, new NDIndex("0:{}", length));
            x = x.add(pos);
            if (training && config.dropout() > 0f) {
                x = Dropout.dropout(x, config.dropout(), true).singletonOrThrow();
            }
            NDArray h = decoder.forward(ps, new NDList(x), training, params).singletonOrThrow(); // (B, T, E)
            Parameter out = outputWeight != null ? outputWeight : inputEmbedding.tokenEmbedding().weight();
            NDArray logits = Linear.linear(h, ps.getValue(out, h.getDevice(), training)).singletonOrThrow();
            return new NDList(scope.ret(logits));
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(config.vocabularySize())};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape in = inputShapes[0];
        if (in.dimension() != 2) {
            throw new IllegalArgumentException("tokenIds must have shape (B, T), got " + in);
        }
        inputEmbedding.initialize(manager, dataType, inputShapes);
        decoder.initialize(manager, dataType, in.add(config.embeddingSize()));
    }

    @Override
    protected void loadMetadata(byte loadVersion, DataInputStream is) throws IOException, MalformedModelException {
        if (loadVersion != VERSION) {
            throw new MalformedModelException("unsupported CausalLanguageModelBlock version " + loadVersion
                    + " (this code reads " + VERSION + ")");
        }
        readInputShapes(is);
    }
}

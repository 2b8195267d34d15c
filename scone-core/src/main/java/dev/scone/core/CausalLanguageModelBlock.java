package dev.scone.core;

import ai.djl.Device;
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
import dev.scone.fgram.nn.PositionEmbeddingBlock;
import dev.scone.fgram.nn.RmsNormBlock;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.io.DataInputStream;
import java.io.IOException;
import java.util.Objects;

/**
 * A GPT-style causal language model over any {@link InputEmbeddingBlock}: input embedding
 * (optionally RMS-normalised, {@link LanguageModelConfig#inputNorm()}), plus a learned absolute
 * position embedding of C positions, then a pre-LN decoder stack ending in a layer norm, then an
 * output projection to the token vocabulary (tied to T or its own).
 *
 * <p>Input {@code NDList(tokenIds (B, T), fgramIds (B, T))} with T &lt;= C (see
 * {@link InputEmbeddingBlock}); output {@code NDList(logits (B, T, V))}: logits at position t
 * predict token t + 1 and depend on tokens 0..t only. A baseline and a SCONE model built from the
 * same {@link LanguageModelConfig} share everything but the input-embedding block.
 */
public final class CausalLanguageModelBlock extends AbstractBlock implements LinearHeadModel {

    private static final byte VERSION = 1;

    private final LanguageModelConfig config;
    private final InputEmbeddingBlock inputEmbedding;
    private final RmsNormBlock inputNorm; // null unless config.inputNorm()
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
        this.inputNorm = config.inputNorm() ? addChildBlock("inputNorm", new RmsNormBlock(config.embeddingSize()))
                : null;
        this.positions = addParameter(PositionEmbeddingBlock.parameter(config.contextLength(), config.embeddingSize()));
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
                new SconeEmbeddingBlock(config.vocabularySize(), config.fgramModel(), vocabulary,
                        config.fgramCombine()));
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

    /**
     * The vectors the main model reads before positions are added: the input embedding's output,
     * RMS-normalised when the configuration says so. This is where the junction between the
     * f-gram vectors and the token embeddings shows.
     *
     * @param ps the parameter store
     * @param inputs as for {@link #forward}: {@code NDList(tokenIds (B, T), fgramIds (B, T))}
     * @param training whether this is a training pass
     * @return (B, T, E), attached to the token ids' manager
     */
    public NDArray inputVectors(ParameterStore ps, NDList inputs, boolean training) {
        return inputVectors(ps, inputs, training, null);
    }

    private NDArray inputVectors(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputEmbedding.forward(ps, inputs, training, params).singletonOrThrow(); // (B, T, E)
        if (inputNorm != null) {
            x = inputNorm.forward(ps, new NDList(x), training).singletonOrThrow();
        }
        return x;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
            PairList<String, Object> params) {
        NDArray h = hiddenStates(ps, inputs, training, params); // (B, T, E), in the token ids' manager
        try (NDManager scope = NDManager.subManagerOf(h)) {
            scope.tempAttachAll(h);
            NDArray logits = Linear.linear(h, outputWeight(ps, h.getDevice(), training)).singletonOrThrow();
            return new NDList(scope.ret(logits));
        }
    }

    @Override
    public NDArray hiddenStates(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray tokenIds = InputChecks.tokenIdsOf(inputs);
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
            NDArray x = inputVectors(ps, inputs, training, params); // (B, T, E); params may carry HostIds
            x = PositionEmbeddingBlock.addPrefix(ps, positions, scope, x, training);
            if (training && config.dropout() > 0f) {
                x = Dropout.dropout(x, config.dropout(), true).singletonOrThrow();
            }
            NDArray h = decoder.forward(ps, new NDList(x), training, params).singletonOrThrow(); // (B, T, E)
            return scope.ret(h);
        }
    }

    @Override
    public NDArray outputWeight(ParameterStore ps, Device device, boolean training) {
        Parameter out = outputWeight != null ? outputWeight : inputEmbedding.tokenEmbedding().weight();
        return ps.getValue(out, device, training);
    }

    /**
     * The model over a key/value cache, for incremental decoding (inference). The caller supplies
     * the new positions' input vectors ({@link #inputVectors}, or what an inference embedding gives
     * for them), their absolute positions, the cache and the attention mask; this adds the position
     * embedding, runs the decoder over the cache and projects to the vocabulary.
     *
     * @param ps the parameter store
     * @param inputVectors the new positions' input vectors, (B, t, E), already normalised when the
     *     configuration has an input norm
     * @param positionIds (B * t) absolute positions, row-major, each in [0, C)
     * @param past the cache, {@code 2 * layers} arrays (B, H, L, E / H) (see
     *     {@link DecoderStackBlock#forwardCached}), or {@code null} for an empty cache
     * @param mask additive attention mask (B, 1, t, L + t): 0 where a new position may attend a key
     * @return {@code NDList(logits (B, t, V), hidden (B, t, E), then the updated cache)}, attached
     *     to the input vectors' manager
     * @throws IllegalArgumentException when a position is outside [0, C) or the shapes disagree
     */
    public NDList forwardCached(ParameterStore ps, NDArray inputVectors, long[] positionIds, NDList past,
            NDArray mask) {
        Shape shape = inputVectors.getShape();
        if (shape.dimension() != 3 || shape.get(2) != config.embeddingSize()) {
            throw new IllegalArgumentException("input vectors must have shape (B, t, " + config.embeddingSize()
                    + "), got " + shape);
        }
        long b = shape.get(0);
        long t = shape.get(1);
        if (positionIds.length != b * t) {
            throw new IllegalArgumentException(positionIds.length + " position ids for (B, t) = (" + b + ", " + t + ")");
        }
        for (long p : positionIds) {
            if (p < 0 || p >= config.contextLength()) {
                throw new IllegalArgumentException("position " + p + " is outside [0, " + config.contextLength()
                        + ") (the context length)");
            }
        }
        try (NDManager scope = NDManager.subManagerOf(inputVectors)) {
            scope.tempAttachAll(inputVectors);
            NDArray table = ps.getValue(positions, inputVectors.getDevice(), false); // (C, E)
            NDArray pos = table.get(scope, new NDIndex("{}", scope.create(positionIds))).reshape(b, t,
                    config.embeddingSize());
            NDList out = decoder.forwardCached(ps, inputVectors.add(pos), past, mask);
            NDArray h = out.get(0);
            NDArray logits = Linear.linear(h, outputWeight(ps, h.getDevice(), false)).singletonOrThrow();
            NDList result = new NDList(out.size() + 1);
            result.add(scope.ret(logits));
            result.add(scope.ret(h));
            for (int i = 1; i < out.size(); i++) {
                result.add(scope.ret(out.get(i)));
            }
            return result;
        }
    }

    /**
     * Embeds tokens for inference with the model's own input embedding and input norm: what
     * {@link #inputVectors} gives, for an input embedding that needs no f-gram ids.
     *
     * @param ps the parameter store
     * @param embedded (B, t, E) vectors from the input embedding
     * @return (B, t, E), normalised when the configuration says so
     */
    public NDArray normalizeInput(ParameterStore ps, NDArray embedded) {
        return inputNorm == null ? embedded : inputNorm.forward(ps, new NDList(embedded), false).singletonOrThrow();
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
        if (inputNorm != null) {
            inputNorm.initialize(manager, dataType, in.add(config.embeddingSize()));
        }
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

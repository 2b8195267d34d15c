package dev.scone.core.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import dev.scone.core.LinearHeadModel;
import dev.scone.core.data.ShuffledWindowOrder;
import dev.scone.core.data.WindowBatch;
import dev.scone.core.data.WindowDataset;
import dev.scone.fgram.progress.ProgressListener;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a language model on a {@link WindowDataset} with next-token cross-entropy.
 *
 * <p>Each step: B windows in a seeded shuffled order ({@link ShuffledWindowOrder}), the engine's
 * random generator re-seeded from (seed, step), forward in training mode, softmax cross-entropy
 * over the B * T positions (for a {@link LinearHeadModel}, such as scone's own models, a chunk of
 * rows at a time through {@link ChunkedCrossEntropy}; for any other block over its (B * T, V)
 * logits), backward, clipping by global norm ({@link GradientClipping}), one {@link AdamW} update at the learning rate of {@link WarmupCosineSchedule}. Every step's arrays
 * live in a sub-manager closed at the end of the step, so native memory stays flat. Validation
 * perplexity is measured every {@code evalEvery} steps and recorded in {@link #history()}.
 *
 * <p>Training stops at {@code totalSteps} or once {@code maxTokens} training tokens were seen.
 * {@link #saveCheckpoint(Path)} and {@link #resume} continue a run exactly: a resumed run produces
 * the same parameters as one that never stopped.
 *
 * <p>The model's parameters live in the manager given to {@link Builder#optParameterManager}, or
 * else in the trainer's own manager, which {@link #close()} frees. Everything runs on one device:
 * the parameter manager's, else {@link Builder#optDevice}, else the engine's default.
 */
public final class LanguageModelTrainer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LanguageModelTrainer.class);

    private final TrainableModel model;
    private final TrainerConfig config;
    private final WindowDataset training;
    private final WindowDataset validation;
    private final ProgressListener progress;
    private final NDManager manager;
    private final AdamW optimizer;
    private final WarmupCosineSchedule schedule;
    private final ShuffledWindowOrder order;
    private final Loss loss = Loss.softmaxCrossEntropyLoss();
    private final List<HistoryPoint> history = new ArrayList<>();
    private PairList<String, Parameter> trainable;
    private long step;
    private long tokensSeen;
    private long windowPosition;
    private float lastLearningRate;
    private float lastGradientNorm;
    private double lossSum;
    private int lossCount;
    private double wallSeconds;
    private double stepSeconds;
    private double lastPerplexity = Double.NaN;
    private boolean closed;

    private LanguageModelTrainer(Builder b, Path resumeFrom) throws IOException {
        this.model = b.model;
        this.config = b.config;
        this.training = b.training;
        this.validation = b.validation;
        this.progress = b.progress;
        Device device = b.parameterManager != null ? b.parameterManager.getDevice() : b.device;
        this.manager = device != null ? NDManager.newBaseManager(device) : NDManager.newBaseManager();
        NDManager parameterManager = b.parameterManager != null ? b.parameterManager : manager;
        this.schedule = config.schedule();
        this.order = new ShuffledWindowOrder(training.windowCount(), config.seed());
        boolean ok = false;
        try {
            this.optimizer = new AdamW(manager, config.beta1(), config.beta2(), config.epsilon(), config.weightDecay());
            Block block = model.block();
            if (resumeFrom != null) {
                Checkpoint.Header h = Checkpoint.readInto(resumeFrom, block, parameterManager, optimizer);
                this.step = h.step();
                this.tokensSeen = h.tokensSeen();
                this.windowPosition = h.windowPosition();
                this.wallSeconds = h.wallSeconds();
                this.lossSum = h.lossSinceValidation();
                this.lossCount = h.stepsSinceValidation();
                this.history.addAll(h.history());
                if (!history.isEmpty()) {
                    lastPerplexity = history.get(history.size() - 1).validationPerplexity();
                }
            } else if (!block.isInitialized()) {
                Engine.getInstance().setRandomSeed(seedFor(config.seed(), -1));
                int t = config.contextLength();
                block.initialize(parameterManager, DataType.FLOAT32, new Shape(1, t), new Shape(1, t));
            }
            this.trainable = trainableParameters(block);
            if (trainable.isEmpty()) {
                throw new IllegalArgumentException("the model has no trainable parameter");
            }
            ok = true;
        } finally {
            if (!ok) {
                manager.close();
            }
        }
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Continues a run from a checkpoint: the model is rebuilt from the stored configuration text,
     * parameters, optimizer state, counters and history are restored, and the training data must
     * be the data the run was trained on.
     *
     * @param checkpoint the checkpoint file
     * @param factory rebuilds the model from its configuration text
     * @param training the training windows (same signature as when the checkpoint was written)
     * @param validation validation windows, or {@code null}
     * @param progress hears the steps ({@link ProgressListener#NONE} for silence)
     * @param parameterManager where the parameters live, or {@code null} for the trainer's own (on the
     *     engine's default device); the trainer runs on this manager's device
     * @return the trainer, ready to continue
     * @throws IOException when the checkpoint cannot be read, or is damaged ({@link
     *     dev.scone.fgram.io.SconeFormatException})
     * @throws IllegalArgumentException when the training data differ from the checkpoint's
     */
    public static LanguageModelTrainer resume(Path checkpoint, ModelFactory factory, WindowDataset training,
            WindowDataset validation, ProgressListener progress, NDManager parameterManager) throws IOException {
        Checkpoint.Header h = Checkpoint.readHeader(checkpoint);
        // Rebuild the model first: a factory that knows what the model needs (an f-gram vocabulary,
        // say) explains a mismatch more precisely than the data signature can.
        TrainableModel model;
        try {
            model = factory.fromConfigText(h.modelConfigText());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("checkpoint " + checkpoint + ": " + e.getMessage(), e);
        }
        if (!h.dataSignature().equals(training.signature())) {
            throw new IllegalArgumentException("checkpoint " + checkpoint + " was trained on data [" + h.dataSignature()
                    + "] but the training data given is [" + training.signature() + "]");
        }
        if (!h.dataOrigin().isEmpty() && !training.origin().isEmpty() && !h.dataOrigin().equals(training.origin())) {
            throw new IllegalArgumentException("checkpoint " + checkpoint + " was trained on token ids from ["
                    + h.dataOrigin() + "] but the training data given holds ids from [" + training.origin() + "]");
        }
        Builder b = builder().setModel(model).setConfig(h.trainerConfig()).setTrainingData(training)
                .optProgress(progress);
        if (validation != null) {
            b.optValidationData(validation);
        }
        if (parameterManager != null) {
            b.optParameterManager(parameterManager);
        }
        b.check();
        return new LanguageModelTrainer(b, checkpoint);
    }

    /** @return the model being trained */
    public TrainableModel model() {
        return model;
    }

    /** @return the configuration */
    public TrainerConfig config() {
        return config;
    }

    /** @return updates taken */
    public long step() {
        return step;
    }

    /** @return training tokens consumed */
    public long tokensSeen() {
        return tokensSeen;
    }

    /**
     * @return seconds the run has spent in training steps and validations, carried across resumes
     *     (NaN when it began in a checkpoint that did not record it)
     */
    public double wallSeconds() {
        return wallSeconds;
    }

    /** @return seconds this trainer has spent in training steps, validation excluded, since it was built */
    public double stepSeconds() {
        return stepSeconds;
    }

    /** @return validation results so far, oldest first, for plotting perplexity against tokens */
    public List<HistoryPoint> history() {
        return Collections.unmodifiableList(history);
    }

    /** @return whether the step or token cap is reached */
    public boolean isFinished() {
        return step >= config.totalSteps() || (config.maxTokens() > 0 && tokensSeen >= config.maxTokens());
    }

    /**
     * Trains until the step or token cap.
     *
     * @return the validation history
     */
    public List<HistoryPoint> train() {
        return train(Long.MAX_VALUE);
    }

    /**
     * Trains at most {@code steps} more steps (fewer when a cap is reached first).
     *
     * @param steps the most steps to take, &gt;= 0
     * @return the validation history
     */
    public List<HistoryPoint> train(long steps) {
        ensureOpen();
        if (steps < 0) {
            throw new IllegalArgumentException("steps must be >= 0, got " + steps);
        }
        progress.start("train", config.totalSteps(), step);
        long startTokens = tokensSeen;
        double startSeconds = stepSeconds;
        try {
            for (long i = 0; i < steps && !isFinished(); i++) {
                float l = trainStep();
                double tokensPerSecond = (tokensSeen - startTokens) / Math.max(stepSeconds - startSeconds, 1e-9);
                progress.stepTo(step, status(l, tokensPerSecond));
                if (LOG.isDebugEnabled()) {
                    LOG.debug(String.format(Locale.ROOT, "step %d/%d tokens %d loss %.4f lr %.3g grad-norm %.3f", step,
                            config.totalSteps(), tokensSeen, l, lastLearningRate, lastGradientNorm));
                }
                if (validation != null && config.evalEvery() > 0
                        && (step % config.evalEvery() == 0 || isFinished())) {
                    validate();
                    progress.stepTo(step, status(l, tokensPerSecond));
                }
            }
        } finally {
            progress.finish();
        }
        return history();
    }

    // What the progress listener shows after a step: short enough for a console bar's line (the
    // learning rate and the gradient norm go to the debug log, once per step, in train).
    private String status(float loss, double tokensPerSecond) {
        return String.format(Locale.ROOT, "loss %.3f | %.0f tok/s | val ppl %s", loss, tokensPerSecond,
                Double.isNaN(lastPerplexity) ? "-" : String.format(Locale.ROOT, "%.1f", lastPerplexity));
    }

    /**
     * Takes one training step.
     *
     * @return the step's mean cross-entropy (nats per token)
     * @throws IllegalStateException when the loss or the gradient norm is not finite
     */
    public float trainStep() {
        ensureOpen();
        long startNanos = System.nanoTime();
        int b = config.batchSize();
        WindowBatch batch = training.batch(order.windows(windowPosition, b));
        Engine engine = Engine.getInstance();
        engine.setRandomSeed(seedFor(config.seed(), step));
        Block block = model.block();
        float lossValue;
        float norm;
        float lr = schedule.getNewValue((int) Math.min(step, Integer.MAX_VALUE));
        try (NDManager scope = manager.newSubManager()) {
            dev.scone.core.BlockScopes.attachParameters(block, scope);
            ParameterStore store = new ParameterStore(scope, false);
            NDList inputs = batch.inputs(scope);
            NDArray labels = batch.labels(scope);
            List<NDArray> gradients = new ArrayList<>(trainable.size());
            try {
                try (GradientCollector collector = engine.newGradientCollector()) {
                    if (block instanceof LinearHeadModel) {
                        // The loss over the head a chunk of rows at a time (ChunkedCrossEntropy): the
                        // same gradients as the logits path without its (B * T, V) arrays.
                        LinearHeadModel head = (LinearHeadModel) block;
                        NDArray h = head.hiddenStates(store, inputs, true, batch.hostIds().asParams());
                        NDArray w = head.outputWeight(store, h.getDevice(), true);
                        Evaluation.checkVocabulary(w.getShape().get(0), training.corpus().vocabularySize(),
                                w.getShape());
                        ChunkedCrossEntropy.Training t = ChunkedCrossEntropy.forTraining(Evaluation.flatHidden(h, batch),
                                w, labels);
                        collector.backward(t.surrogate());
                        lossValue = t.loss();
                    } else {
                        NDList out = block.forward(store, inputs, true, batch.hostIds().asParams());
                        NDArray logits = Evaluation.flatLogits(out, batch, training.corpus().vocabularySize());
                        NDArray l = loss.evaluate(new NDList(labels), new NDList(logits));
                        collector.backward(l);
                        lossValue = l.getFloat();
                    }
                }
                for (Pair<String, Parameter> p : trainable) {
                    NDArray g = p.getValue().getArray().getGradient();
                    g.attach(scope);
                    gradients.add(g);
                }
                NDArray flat = AdamW.flatten(gradients); // one array: one norm, one scaling, one update
                norm = config.clipNorm() > 0 ? GradientClipping.clipByGlobalNorm(flat, config.clipNorm())
                        : GradientClipping.globalNorm(flat);
                if (!Float.isFinite(lossValue) || !Float.isFinite(norm)) {
                    throw new IllegalStateException("training diverged at step " + (step + 1) + ": loss " + lossValue
                            + ", gradient norm " + norm + " (lower the learning rate or enable clipping)");
                }
                optimizer.step(trainable, flat, lr, scope);
            } finally {
                // PyTorch accumulates gradients across backward passes: clear them for the next step.
                for (NDArray g : gradients) {
                    g.subi(g);
                }
            }
        }
        step++;
        windowPosition += b;
        tokensSeen += config.tokensPerStep();
        lastLearningRate = lr;
        lastGradientNorm = norm;
        lossSum += lossValue;
        lossCount++;
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        stepSeconds += seconds;
        wallSeconds += seconds;
        return lossValue;
    }

    /**
     * Measures validation perplexity now (at most {@code evalMaxWindows} windows) and records it.
     *
     * @return the recorded point
     * @throws IllegalStateException when no validation data was given
     */
    public HistoryPoint validate() {
        ensureOpen();
        if (validation == null) {
            throw new IllegalStateException("no validation data: build the trainer with optValidationData");
        }
        long startNanos = System.nanoTime();
        PerplexityResult r = Evaluation.perplexity(model.block(), validation, config.batchSize(),
                config.evalMaxWindows());
        wallSeconds += (System.nanoTime() - startNanos) / 1e9;
        HistoryPoint p = new HistoryPoint(step, tokensSeen, r, lossCount == 0 ? Double.NaN : lossSum / lossCount,
                wallSeconds);
        lossSum = 0;
        lossCount = 0;
        lastPerplexity = r.perplexity();
        history.add(p);
        LOG.debug("validation at step {} ({} tokens): perplexity {} (matched {} on {} of positions, unmatched {})",
                step, tokensSeen, r.perplexity(), r.matchedPerplexity(), r.matchedFraction(), r.unmatchedPerplexity());
        return p;
    }

    /**
     * Writes a checkpoint of the current state (atomically: a reader sees the old file or the
     * complete new one).
     *
     * @param file the checkpoint file
     * @throws IOException when writing fails
     */
    public void saveCheckpoint(Path file) throws IOException {
        ensureOpen();
        Checkpoint.Header h = new Checkpoint.Header(model.configText(), config, training.signature(), training.origin(),
                step, tokensSeen, windowPosition, wallSeconds, lossSum, lossCount, history);
        Checkpoint.write(file, h, model.block(), optimizer);
        LOG.debug("checkpoint at step {} written to {}", step, file);
    }

    /**
     * @param block a block
     * @return its parameters that require gradients, in the block's order, each once (a parameter
     *     shared by two child blocks is listed under its first name)
     */
    static PairList<String, Parameter> trainableParameters(Block block) {
        PairList<String, Parameter> out = new PairList<>();
        java.util.Set<Parameter> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().requiresGradient() && seen.add(p.getValue())) {
                out.add(p);
            }
        }
        return out;
    }

    /** The engine seed of one step: a mix of the run's seed and the step (-1 for initialization). */
    static int seedFor(long seed, long step) {
        long z = seed * 0x9E3779B97F4A7C15L + step + 1;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (int) (z & 0x7FFFFFFF);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the trainer is closed");
        }
    }

    /** Frees the optimizer state, and the parameters when they live in the trainer's own manager. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            optimizer.close();
            manager.close();
        }
    }

    /** Builds a {@link LanguageModelTrainer}; {@link #build()} checks that the parts fit together. */
    public static final class Builder {
        private TrainableModel model;
        private TrainerConfig config;
        private WindowDataset training;
        private WindowDataset validation;
        private ProgressListener progress = ProgressListener.NONE;
        private NDManager parameterManager;
        private Device device;

        private Builder() {}

        /**
         * @param model the model to train (required)
         * @return this builder
         */
        public Builder setModel(TrainableModel model) {
            this.model = Objects.requireNonNull(model, "model");
            return this;
        }

        /**
         * @param config the training configuration (required)
         * @return this builder
         */
        public Builder setConfig(TrainerConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /**
         * @param training the training windows (required)
         * @return this builder
         */
        public Builder setTrainingData(WindowDataset training) {
            this.training = Objects.requireNonNull(training, "training");
            return this;
        }

        /**
         * @param validation windows for validation perplexity
         * @return this builder
         */
        public Builder optValidationData(WindowDataset validation) {
            this.validation = Objects.requireNonNull(validation, "validation");
            return this;
        }

        /**
         * @param progress hears the steps, each with its loss, tokens/s and the last validation
         *     perplexity as status (default: {@link ProgressListener#NONE})
         * @return this builder
         */
        public Builder optProgress(ProgressListener progress) {
            this.progress = Objects.requireNonNull(progress, "progress");
            return this;
        }

        /**
         * @param parameterManager the manager the model's parameters are created in, so that they
         *     outlive the trainer (default: the trainer's own)
         * @return this builder
         */
        public Builder optParameterManager(NDManager parameterManager) {
            this.parameterManager = Objects.requireNonNull(parameterManager, "parameterManager");
            return this;
        }

        /**
         * @param device where the parameters, the optimizer state and every step run (default: the
         *     parameter manager's device, else the engine's default device)
         * @return this builder
         */
        public Builder optDevice(Device device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        void check() {
            if (model == null || config == null || training == null) {
                throw new IllegalArgumentException("model, config and training data are required");
            }
            if (device != null && parameterManager != null && !device.equals(parameterManager.getDevice())) {
                throw new IllegalArgumentException("optDevice(" + device + ") differs from the parameter manager's"
                        + " device " + parameterManager.getDevice());
            }
            checkData("training", training);
            if (validation != null) {
                checkData("validation", validation);
                String tf = training.fgramVocabulary() == null ? "none" : training.fgramVocabulary().fingerprint();
                String vf = validation.fgramVocabulary() == null ? "none" : validation.fgramVocabulary().fingerprint();
                if (!tf.equals(vf)) {
                    throw new IllegalArgumentException("training and validation data use different f-gram vocabularies ("
                            + tf + " vs " + vf + ")");
                }
            }
        }

        private void checkData(String what, WindowDataset data) {
            if (data.contextLength() != config.contextLength()) {
                throw new IllegalArgumentException(what + " windows have contextLength " + data.contextLength()
                        + " but the configuration has " + config.contextLength());
            }
            int v = data.corpus().vocabularySize();
            if (v != model.tokenVocabularySize()) {
                throw new IllegalArgumentException(what + " corpus has vocabularySize " + v
                        + " but the model's token vocabulary has " + model.tokenVocabularySize() + " tokens");
            }
        }

        /**
         * @return the trainer; initializes the model's block from the seed when it is not yet
         *     initialized
         * @throws IllegalArgumentException when a part is missing or the parts do not fit together
         */
        public LanguageModelTrainer build() {
            check();
            try {
                return new LanguageModelTrainer(this, null);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }
}

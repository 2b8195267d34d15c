package dev.scone.examples;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.scone.core.FgramCombine;
import dev.scone.core.LanguageModel;
import dev.scone.core.LanguageModelConfig;
import dev.scone.core.data.WindowDataset;
import dev.scone.core.train.Checkpoint;
import dev.scone.core.train.HistoryPoint;
import dev.scone.core.train.LanguageModelTrainer;
import dev.scone.core.train.PerplexityResult;
import dev.scone.core.train.TrainerConfig;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.io.AtomicFiles;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.nn.FgramOutput;
import dev.scone.fgram.progress.ProgressListener;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Trains a baseline or SCONE language model on a training split, measuring held-out perplexity as
 * it goes, into a model folder: {@code model.config}, {@code fgrams.bin} (a SCONE model's
 * vocabulary, or the one used to split a baseline's perplexity), {@code checkpoint.ckpt} (the
 * latest periodic checkpoint), {@code final.ckpt} and {@code history.csv}.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a baseline or SCONE language model; writes checkpoints, its configuration and a history CSV.")
public final class TrainCommand implements Callable<Integer> {

    @Mixin
    ModelSizeOptions size = new ModelSizeOptions();

    /** The files a training run writes into its model folder. */
    public record Outputs(Path dir, Path config, Path fgrams, Path checkpoint, Path finalCheckpoint, Path history) {
        /**
         * @param dir the model folder
         * @return its files
         */
        public static Outputs in(Path dir) {
            return new Outputs(dir, dir.resolve("model.config"), dir.resolve("fgrams.bin"),
                    dir.resolve("checkpoint.ckpt"), dir.resolve("final.ckpt"), dir.resolve("history.csv"));
        }
    }

    /**
     * What a training run did.
     *
     * @param outputs the files written
     * @param steps updates taken in all (resumed runs included)
     * @param tokensSeen training tokens consumed in all
     * @param history validation results, oldest first
     * @param tokensPerSecond training throughput of this invocation (validation excluded)
     */
    public record Result(Outputs outputs, long steps, long tokensSeen, List<HistoryPoint> history,
            double tokensPerSecond) {}

    /**
     * Everything a fresh run needs.
     *
     * @param model "baseline" or "scone"
     * @param train the training split's token-id file
     * @param heldOut the held-out token-id file, or null for no validation
     * @param fgrams the vocabulary file (required for SCONE; optional for a baseline, to split its perplexity)
     * @param architecture the model architecture; its f-gram model is ignored (derived from the options)
     * @param fgramLayers A_fgram's layers (SCONE)
     * @param fgramHeads A_fgram's heads (SCONE)
     * @param fgramFfn A_fgram's feed-forward width (SCONE)
     * @param fgramOutput A_fgram's output (SCONE)
     * @param trainer the training configuration
     * @param checkpointEvery steps between periodic checkpoints (0 = only the final one)
     * @param device where the model trains, or null for the engine's default device
     */
    public record Options(String model, Path train, Path heldOut, Path fgrams, LanguageModelConfig architecture,
            int fgramLayers, int fgramHeads, int fgramFfn, FgramOutput fgramOutput, TrainerConfig trainer,
            int checkpointEvery, Device device) {

        /** Checks the output is given. */
        public Options {
            java.util.Objects.requireNonNull(fgramOutput, "fgramOutput");
        }

        /**
         * Options that train on the engine's default device.
         *
         * @param model "baseline" or "scone"
         * @param train the training split's token-id file
         * @param heldOut the held-out token-id file, or null
         * @param fgrams the vocabulary file, or null
         * @param architecture the model architecture
         * @param fgramLayers A_fgram's layers
         * @param fgramHeads A_fgram's heads
         * @param fgramFfn A_fgram's feed-forward width
         * @param fgramOutput A_fgram's output
         * @param trainer the training configuration
         * @param checkpointEvery steps between periodic checkpoints
         */
        public Options(String model, Path train, Path heldOut, Path fgrams, LanguageModelConfig architecture,
                int fgramLayers, int fgramHeads, int fgramFfn, FgramOutput fgramOutput, TrainerConfig trainer,
                int checkpointEvery) {
            this(model, train, heldOut, fgrams, architecture, fgramLayers, fgramHeads, fgramFfn, fgramOutput, trainer,
                    checkpointEvery, null);
        }
    }

    @Option(names = "--model", required = true, description = "baseline or scone.")
    String model;

    @Option(names = "--train", description = "Training split token-id file (default: ${DEFAULT-VALUE}).")
    Path train = Path.of("out", "tokens", "train.tok");

    @Option(names = "--held-out", description = "Held-out token-id file for validation (default: ${DEFAULT-VALUE}).")
    Path heldOut = Path.of("out", "tokens", "heldout.tok");

    @Mixin
    SharedOptions.Fgrams fgrams = new SharedOptions.Fgrams();

    @Option(names = "--dropout", description = "Dropout of both models (default: ${DEFAULT-VALUE}).")
    float dropout = 0f;

    @Option(names = "--tied", description = "Tie the output projection to the token embedding.")
    boolean tied;

    @Option(names = "--fgram-heads", description = "A_fgram heads (default: the main model's).")
    Integer fgramHeads;

    @Option(names = "--fgram-ffn", description = "A_fgram feed-forward width (default: the main model's).")
    Integer fgramFfn;

    @Option(names = "--tokens", description = "Train on this many tokens (rounded up to whole steps).")
    Long tokens;

    @Option(names = "--steps", description = "Train this many steps.")
    Integer steps;

    @Mixin
    SharedOptions.Schedule schedule = new SharedOptions.Schedule(1e-3f, 200, 200, 256);

    @Option(names = "--min-lr", description = "Final learning rate of the cosine decay (default: ${DEFAULT-VALUE}).")
    float minLr = 1e-4f;

    @Option(names = "--weight-decay", description = "AdamW weight decay (default: ${DEFAULT-VALUE}).")
    float weightDecay = 0.1f;

    @Option(names = "--clip", description = "Gradient clipping by global norm, 0 = off (default: ${DEFAULT-VALUE}).")
    float clip = 1f;

    @Mixin
    SharedOptions.Seed seed = SharedOptions.Seed.required();

    @Option(names = "--checkpoint-every", description = "Steps between periodic checkpoints, 0 = final only (default: the validation interval).")
    Integer checkpointEvery;

    @Option(names = "--out", description = "Model folder (default: out/models/<model>).")
    Path out;

    @Option(names = "--resume", description = "Continue from this checkpoint (architecture and schedule come from it; --model and --seed must match it).")
    Path resume;

    @Mixin
    SharedOptions.Quiet quiet = new SharedOptions.Quiet();

    @Mixin
    SharedOptions.DeviceOption device = new SharedOptions.DeviceOption();

    @Override
    public Integer call() throws Exception {
        long seed = this.seed.get();
        Device on = device.device();
        if (!model.equals("baseline") && !model.equals("scone")) {
            throw new IllegalArgumentException("--model must be baseline or scone, got " + model);
        }
        CliSupport.requireFile(train, "--train");
        CliSupport.requireFile(heldOut, "--held-out");
        Path fgrams = this.fgrams.file;
        if (fgrams != null) {
            CliSupport.requireFile(fgrams, "--fgrams");
        }
        int evalEvery = schedule.evalEvery;
        if (resume != null) {
            CliSupport.requireFile(resume, "--resume");
        }
        Path dir = out != null ? out : Path.of("out", "models", model);
        if (resume != null) {
            Checkpoint.Header h = Checkpoint.readHeader(resume);
            boolean scone = LanguageModel.Spec.parse(h.modelConfigText()).config().isScone();
            if (h.trainerConfig().seed() != seed || scone != model.equals("scone")) {
                throw new IllegalArgumentException("--resume " + resume + " holds a " + (scone ? "scone" : "baseline")
                        + " run with seed " + h.trainerConfig().seed() + ", not --model " + model + " --seed " + seed);
            }
            resume(resume, train, heldOut, fgrams, dir, checkpointEvery == null ? evalEvery : checkpointEvery, on,
                    quiet.quiet, System.out);
            return 0;
        }
        if ((tokens == null) == (steps == null)) {
            throw new IllegalArgumentException("give exactly one of --tokens and --steps");
        }
        long perStep = (long) size.batch * size.context;
        if (tokens != null && tokens < 1) {
            throw new IllegalArgumentException("--tokens must be >= 1, got " + tokens);
        }
        long total = tokens != null ? (tokens + perStep - 1) / perStep : steps;
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("--tokens " + tokens + " needs " + total + " steps: too many");
        }
        TrainerConfig tc = TrainerConfig.builder().setSeed(seed).optBatchSize(size.batch)
                .optContextLength(size.context)
                .optLearningRate(schedule.lr, minLr).optSteps(Math.min(schedule.warmup, (int) total), (int) total)
                .optWeightDecay(weightDecay).optClipNorm(clip).optEvaluation(evalEvery, schedule.evalWindows).build();
        LanguageModelConfig arch = new LanguageModelConfig(1, size.context, size.embedding, size.layers,
                size.heads, size.ffn, tied, dropout, null, size.inputNorm, size.fgramCombine);
        Options o = new Options(model, train, heldOut, fgrams, arch, size.fgramLayers,
                fgramHeads != null ? fgramHeads : size.heads, fgramFfn != null ? fgramFfn : size.ffn,
                size.fgramOutput, tc, checkpointEvery == null ? evalEvery : checkpointEvery, on);
        run(o, dir, quiet.quiet, System.out);
        return 0;
    }

    /**
     * Trains a fresh model into {@code dir}.
     *
     * @param o the run's options; the architecture's vocabulary size is replaced by the training
     *     split's
     * @param dir the model folder (created)
     * @param quiet log lines instead of a progress bar
     * @param log where to print what was done
     * @return what the run did
     * @throws Exception when reading data or writing outputs fails
     */
    public static Result run(Options o, Path dir, boolean quiet, PrintStream log) throws Exception {
        boolean scone = switch (o.model()) {
            case "scone" -> true;
            case "baseline" -> false;
            default -> throw new IllegalArgumentException("--model must be baseline or scone, got '" + o.model() + "'");
        };
        if (scone && o.fgrams() == null) {
            throw new IllegalArgumentException("a scone model needs --fgrams (the vocabulary file from 'scone count')");
        }
        if (o.checkpointEvery() < 0) {
            throw new IllegalArgumentException("--checkpoint-every must be >= 0, got " + o.checkpointEvery());
        }
        FgramVocabularyFile.Contents fgramFile = o.fgrams() == null ? null
                : FgramVocabularyFile.readContents(o.fgrams());
        FgramVocabulary vocabulary = fgramFile == null ? null : fgramFile.vocabulary();
        Files.createDirectories(dir);
        Outputs outputs = Outputs.in(dir);
        try (TokenIdFile trainFile = TokenIdFile.open(o.train());
                TokenIdFile heldFile = o.heldOut() == null ? null : TokenIdFile.open(o.heldOut())) {
            TokenOrigins.requireSame(trainFile, heldFile);
            if (fgramFile != null) {
                TokenOrigins.requireCountedLike(o.fgrams(), fgramFile.countedOn(), trainFile);
            }
            LanguageModelConfig a = o.architecture();
            LanguageModelConfig arch = new LanguageModelConfig(trainFile.vocabularySize(), a.contextLength(),
                    a.embeddingSize(), a.layers(), a.heads(), a.ffnSize(), a.tiedOutput(), a.dropout(),
                    scone ? new FgramModelConfig(a.embeddingSize(), o.fgramLayers(), o.fgramHeads(), o.fgramFfn(),
                            vocabulary.maxN(), a.dropout(), o.fgramOutput()) : null, a.inputNorm(),
                    scone ? a.fgramCombine() : FgramCombine.REPLACE);
            if (arch.contextLength() != o.trainer().contextLength()) {
                throw new IllegalArgumentException("model context " + arch.contextLength()
                        + " differs from the trainer's " + o.trainer().contextLength());
            }
            LanguageModel model = LanguageModel.of(arch, vocabulary);
            WindowDataset training = LanguageModel.windows(trainFile, arch.contextLength(), vocabulary);
            WindowDataset validation = heldFile == null ? null
                    : LanguageModel.windows(heldFile, arch.contextLength(), vocabulary);
            model.requireCompatible("training", training);
            if (validation != null) {
                model.requireCompatible("held-out", validation);
            }
            writeText(outputs.config(), model.configText());
            if (vocabulary != null) {
                AtomicFiles.write(outputs.fgrams(), tmp -> Files.copy(o.fgrams(), tmp,
                        StandardCopyOption.REPLACE_EXISTING));
            }
            long params = 0;
            log.printf(Locale.ROOT, "training a %s model (E %d, %d layers, %d heads, FFN %d, T %d%s) on %,d windows"
                    + " of %s (V = %,d)%s for %,d steps of %,d tokens, seed %d%n", o.model(), arch.embeddingSize(),
                    arch.layers(), arch.heads(), arch.ffnSize(), arch.contextLength(),
                    (arch.inputNorm() ? ", RMS-normalised input" : "") + (scone ? String.format(Locale.ROOT,
                            "; A_fgram %d layers (output %s, %s) over %,d f-grams, K = %d", o.fgramLayers(),
                            o.fgramOutput().id(), arch.fgramCombine().id(), vocabulary.size(), vocabulary.maxN())
                            : ""),
                    training.windowCount(), o.train(), arch.vocabularySize(),
                    validation == null ? "" : String.format(Locale.ROOT, ", validating on %,d windows of %s",
                            validation.windowCount(), o.heldOut()),
                    o.trainer().totalSteps(), o.trainer().tokensPerStep(), o.trainer().seed());
            LanguageModelTrainer.Builder b = LanguageModelTrainer.builder().setModel(model).setConfig(o.trainer())
                    .setTrainingData(training).optProgress(display(o.model(), quiet));
            if (validation != null) {
                b.optValidationData(validation);
            }
            if (o.device() != null) {
                b.optDevice(o.device());
            }
            try (LanguageModelTrainer trainer = b.build()) {
                for (var p : model.block().getParameters()) {
                    params += p.getValue().getArray().size();
                }
                log.printf(Locale.ROOT, "%,d parameters%n", params);
                return loop(trainer, outputs, o.checkpointEvery(), log);
            }
        }
    }

    /**
     * Continues a run from a checkpoint until its configured end.
     *
     * @param checkpoint the checkpoint
     * @param train the training split (the same the run started on)
     * @param heldOut held-out data, or null
     * @param fgrams the vocabulary file, or null to use the model folder's {@code fgrams.bin}
     * @param dir the model folder
     * @param checkpointEvery steps between periodic checkpoints (0 = final only)
     * @param quiet log lines instead of a progress bar
     * @param log where to print what was done
     * @return what the run did
     * @throws Exception when reading or writing fails, or the data or vocabulary differ from the run's
     */
    public static Result resume(Path checkpoint, Path train, Path heldOut, Path fgrams, Path dir, int checkpointEvery,
            boolean quiet, PrintStream log) throws Exception {
        return resume(checkpoint, train, heldOut, fgrams, dir, checkpointEvery, null, quiet, log);
    }

    /**
     * Continues a run from a checkpoint until its configured end, on a device.
     *
     * @param checkpoint the checkpoint
     * @param train the training split (the same the run started on)
     * @param heldOut held-out data, or null
     * @param fgrams the vocabulary file, or null to use the model folder's {@code fgrams.bin}
     * @param dir the model folder
     * @param checkpointEvery steps between periodic checkpoints (0 = final only)
     * @param device where the model trains, or null for the engine's default device
     * @param quiet log lines instead of a progress bar
     * @param log where to print what was done
     * @return what the run did
     * @throws Exception when reading or writing fails, or the data or vocabulary differ from the run's
     */
    public static Result resume(Path checkpoint, Path train, Path heldOut, Path fgrams, Path dir, int checkpointEvery,
            Device device, boolean quiet, PrintStream log) throws Exception {
        Files.createDirectories(dir);
        Outputs outputs = Outputs.in(dir);
        Checkpoint.Header h = Checkpoint.readHeader(checkpoint);
        LanguageModel.Spec spec = LanguageModel.Spec.parse(h.modelConfigText());
        Path vocabFile = fgrams != null ? fgrams : Files.exists(outputs.fgrams()) ? outputs.fgrams() : null;
        FgramVocabulary vocabulary = vocabFile == null ? null : FgramVocabularyFile.read(vocabFile);
        try (TokenIdFile trainFile = TokenIdFile.open(train);
                TokenIdFile heldFile = heldOut == null ? null : TokenIdFile.open(heldOut)) {
            TokenOrigins.requireSame(trainFile, heldFile);
            int t = spec.config().contextLength();
            WindowDataset training = LanguageModel.windows(trainFile, t, vocabulary);
            WindowDataset validation = heldFile == null ? null : LanguageModel.windows(heldFile, t, vocabulary);
            try (NDManager parameters = SharedOptions.DeviceOption.manager(device);
                    LanguageModelTrainer trainer = LanguageModelTrainer.resume(checkpoint,
                            LanguageModel.factory(vocabulary), training, validation,
                            display(spec.config().isScone() ? "scone" : "baseline", quiet), parameters)) {
                log.printf(Locale.ROOT, "resuming %s at step %,d of %,d (%,d tokens seen)%n", checkpoint, trainer.step(),
                        trainer.config().totalSteps(), trainer.tokensSeen());
                writeText(outputs.config(), trainer.model().configText());
                if (vocabulary != null && !vocabFile.equals(outputs.fgrams())) {
                    AtomicFiles.write(outputs.fgrams(), tmp -> Files.copy(vocabFile, tmp,
                            StandardCopyOption.REPLACE_EXISTING));
                }
                return loop(trainer, outputs, checkpointEvery, log);
            }
        }
    }

    private static Result loop(LanguageModelTrainer trainer, Outputs outputs, int checkpointEvery, PrintStream log)
            throws IOException {
        long firstStep = trainer.step();
        long firstTokens = trainer.tokensSeen();
        long startNanos = System.nanoTime();
        while (!trainer.isFinished()) {
            trainer.train(checkpointEvery > 0 ? checkpointEvery : Long.MAX_VALUE);
            if (!trainer.isFinished()) {
                trainer.saveCheckpoint(outputs.checkpoint());
                writeHistory(outputs.history(), trainer.history());
            }
        }
        trainer.saveCheckpoint(outputs.checkpoint());
        trainer.saveCheckpoint(outputs.finalCheckpoint());
        writeHistory(outputs.history(), trainer.history());
        double tps = (trainer.tokensSeen() - firstTokens) / Math.max(trainer.stepSeconds(), 1e-9);
        log.printf(Locale.ROOT, "trained %,d steps (%,d tokens) in %.1f s: %.0f tokens/s%n", trainer.step() - firstStep,
                trainer.tokensSeen() - firstTokens, (System.nanoTime() - startNanos) / 1e9, tps);
        if (!trainer.history().isEmpty()) {
            PerplexityResult v = trainer.history().get(trainer.history().size() - 1).validation();
            if (trainer.model() instanceof LanguageModel m && (m.isScone() || v.matchedTokens() > 0)) {
                log.printf(Locale.ROOT, "held-out perplexity %.2f (matched %.2f on %.1f%% of positions, unmatched"
                        + " %.2f)%n", v.perplexity(), v.matchedPerplexity(), 100 * v.matchedFraction(),
                        v.unmatchedPerplexity());
            } else {
                log.printf(Locale.ROOT, "held-out perplexity %.2f (no f-gram vocabulary: no matched/unmatched split)%n",
                        v.perplexity());
            }
        }
        log.printf("wrote %s, %s, %s, %s%n", outputs.config(), outputs.checkpoint(), outputs.finalCheckpoint(),
                outputs.history());
        return new Result(outputs, trainer.step(), trainer.tokensSeen(), trainer.history(), tps);
    }

    private static ProgressListener display(String model, boolean quiet) {
        return SharedOptions.Quiet.progress(quiet, "steps", model);
    }

    /** The CSV header of {@code history.csv}. */
    public static final String HISTORY_HEADER = "step,tokens,wall_seconds,val_loss,val_perplexity,matched_perplexity,"
            + "unmatched_perplexity,matched_fraction,train_loss";

    private static void writeHistory(Path file, List<HistoryPoint> history) throws IOException {
        StringBuilder sb = new StringBuilder(HISTORY_HEADER).append('\n');
        for (HistoryPoint p : history) {
            PerplexityResult v = p.validation();
            sb.append(String.format(Locale.ROOT, "%d,%d,%.3f,%.6f,%.4f,%.4f,%.4f,%.6f,%.6f%n", p.step(), p.tokensSeen(),
                    p.wallSeconds(), v.loss(), v.perplexity(), v.matchedPerplexity(), v.unmatchedPerplexity(),
                    v.matchedFraction(), p.trainingLoss()));
        }
        writeText(file, sb.toString());
    }

    private static void writeText(Path file, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, tmp -> Files.write(tmp, bytes));
    }
}

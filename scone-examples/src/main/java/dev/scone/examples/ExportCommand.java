package dev.scone.examples;

import ai.djl.ndarray.NDManager;
import dev.scone.core.InferenceModel;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Exports what serving needs from a trained model (T, positions, input norm, decoder, head, and the
 * identities that bind it to its store) into one file; {@code scone eval --store} and
 * {@code scone generate} serve from it without A_fgram or V_fgram.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Export a trained model for serving: everything but A_fgram and V_fgram, bound to its store.",
                "--model: the model's folder or a checkpoint."})
public final class ExportCommand implements Callable<Integer> {

    /**
     * What an export wrote.
     *
     * @param file the export file
     * @param header its header
     * @param parameters the parameters it holds
     * @param bytes its size
     */
    public record Result(Path file, InferenceModel.Header header, long parameters, long bytes) {}

    @Mixin
    SharedOptions.TrainedModel model = new SharedOptions.TrainedModel();

    @Mixin
    SharedOptions.TokenCompaction compaction = new SharedOptions.TokenCompaction();

    @Option(names = "--out", description = "The export file (default: <model folder>/" + ServingModels.FILE_NAME + ").")
    Path out;

    @Override
    public Integer call() throws Exception {
        CliSupport.requireExists(model.path, "--model");
        run(model.path, compaction.file, out, System.out);
        return 0;
    }

    /**
     * Exports a trained model.
     *
     * @param model a model folder or checkpoint
     * @param compaction the token compaction file, or null / missing for uncompacted ids
     * @param out the export file, or null for the model folder's {@value ServingModels#FILE_NAME}
     * @param log where to say what was written
     * @return what was written
     * @throws Exception when the model cannot be read or the file written
     */
    public static Result run(Path model, Path compaction, Path out, PrintStream log) throws Exception {
        Path checkpoint = TrainedModels.checkpointOf(model);
        Path file = out != null ? out : checkpoint.toAbsolutePath().getParent().resolve(ServingModels.FILE_NAME);
        boolean compacted = compaction != null && Files.exists(compaction);
        try (NDManager manager = NDManager.newBaseManager()) {
            TrainedModels.Loaded loaded = TrainedModels.load(model, null, manager);
            TokenOrigins.requireCompactionFile(compaction, "--token-compaction", loaded);
            int v = loaded.model().config().vocabularySize();
            InferenceModel.Header h = InferenceModel.export(loaded.model(), file,
                    TrainedModels.tokenVocabularyFingerprint(compaction, v),
                    compacted ? Files.readAllBytes(compaction) : null);
            // Read back what serving will read.
            if (!InferenceModel.readHeader(file).binding().equals(h.binding())) {
                throw new IllegalStateException(file + " did not read back as written");
            }
            long params = 0;
            for (var p : loaded.model().block().getParameters()) {
                if (!(h.binding().isScone() && p.getKey().contains("fgramModel"))) {
                    params += p.getValue().getArray().size();
                }
            }
            long bytes = Files.size(file);
            log.printf(Locale.ROOT, "exported the %s model %s to %s: %,d parameters, %,d bytes%s%n",
                    h.binding().isScone() ? "SCONE" : "baseline", checkpoint, file, params, bytes,
                    compacted ? ", with the token compaction " + compaction : "");
            log.printf(Locale.ROOT, "  main model %s%s; token vocabulary %s%n", h.binding().mainModelFingerprint(),
                    h.binding().isScone() ? String.format(Locale.ROOT, "; serves the store of f-gram model %s over"
                            + " V_fgram %s (K = %d, S = %,d)", h.binding().fgramModelFingerprint(),
                            h.binding().fgramVocabularyFingerprint(), h.binding().maxN(), h.binding().fgramCount())
                            : "", h.binding().tokenVocabularyFingerprint());
            return new Result(file, h, params, bytes);
        }
    }
}

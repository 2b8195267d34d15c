package dev.scone.examples;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.scone.core.InferenceModel;
import dev.scone.store.FgramStorePrecompute;
import dev.scone.store.StoreManifest;
import dev.scone.store.VectorDtype;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Runs a trained SCONE model's A_fgram over every f-gram once and writes the vectors into a store. */
@Command(name = "precompute", mixinStandardHelpOptions = true,
        description = {"Precompute every f-gram's embedding of a trained SCONE model into a store folder.",
                "--model: the SCONE model's folder or a checkpoint."})
public final class PrecomputeCommand implements Callable<Integer> {

    /**
     * What a precompute wrote.
     *
     * @param manifest the store's manifest
     * @param bytesOnDisk the store folder's size
     * @param seconds wall time of the precompute
     */
    public record Result(StoreManifest manifest, long bytesOnDisk, double seconds) {}

    @Mixin
    SharedOptions.TrainedModel model = new SharedOptions.TrainedModel();

    @Option(names = "--out", description = "Store folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("out", "store");

    @Option(names = "--dtype", description = "FLOAT32, BFLOAT16 or INT8 (default: ${DEFAULT-VALUE}).")
    VectorDtype dtype = VectorDtype.FLOAT32;

    @Mixin
    SharedOptions.TokenCompaction compaction = new SharedOptions.TokenCompaction();

    @Mixin
    SharedOptions.Quiet quiet = new SharedOptions.Quiet();

    @Mixin
    SharedOptions.DeviceOption device = new SharedOptions.DeviceOption();

    @Override
    public Integer call() throws Exception {
        CliSupport.requireExists(model.path, "--model");
        run(model.path, out, dtype, compaction.file, device.device(), quiet.quiet, System.out);
        return 0;
    }

    /**
     * Precomputes a store.
     *
     * @param model a SCONE model folder or checkpoint
     * @param out the store folder (replaced atomically when it exists)
     * @param dtype how vectors are stored
     * @param compaction the token compaction file, or null
     * @param quiet log lines instead of a progress bar
     * @param log where to print what was done
     * @return what was written
     * @throws Exception when reading the model or writing the store fails
     */
    public static Result run(Path model, Path out, VectorDtype dtype, Path compaction, boolean quiet, PrintStream log)
            throws Exception {
        return run(model, out, dtype, compaction, null, quiet, log);
    }

    /**
     * Precomputes a store, running A_fgram on a device.
     *
     * @param model a SCONE model folder or checkpoint
     * @param out the store folder (replaced atomically when it exists)
     * @param dtype how vectors are stored
     * @param compaction the token compaction file, or null
     * @param device where A_fgram runs, or null for the engine's default device
     * @param quiet log lines instead of a progress bar
     * @param log where to print what was done
     * @return what was written
     * @throws Exception when reading the model or writing the store fails
     */
    public static Result run(Path model, Path out, VectorDtype dtype, Path compaction, Device device, boolean quiet,
            PrintStream log) throws Exception {
        try (NDManager manager = SharedOptions.DeviceOption.manager(device)) {
            TrainedModels.Loaded loaded = TrainedModels.load(model, null, manager);
            if (!loaded.model().isScone()) {
                throw new IllegalArgumentException(loaded.checkpoint() + " holds a baseline model: nothing to precompute");
            }
            TokenOrigins.requireCompactionFile(compaction, "--token-compaction", loaded);
            long t0 = System.nanoTime();
            StoreManifest manifest = FgramStorePrecompute.builder()
                    .setBlock(loaded.model().sconeEmbedding())
                    .optMainModelFingerprint(InferenceModel.mainModelFingerprint(loaded.model().block()))
                    .setPath(out)
                    .optDtype(dtype)
                    .setTokenVocabularyFingerprint(TrainedModels.tokenVocabularyFingerprint(compaction,
                            loaded.model().config().vocabularySize()))
                    .optProgress(SharedOptions.Quiet.progress(quiet, "f-grams", null))
                    .build()
                    .run();
            double secs = (System.nanoTime() - t0) / 1e9;
            long bytes = sizeOf(out);
            log.printf(Locale.ROOT, "precomputed %,d f-gram vectors (d = %d, %s) into %s in %.1f s: %,d bytes on disk%n",
                    manifest.size(), manifest.embeddingSize(), manifest.dtype(), out, secs, bytes);
            return new Result(manifest, bytes, secs);
        }
    }

    /**
     * @param dir a folder
     * @return the total size of its regular files
     * @throws IOException when listing fails
     */
    static long sizeOf(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }
}

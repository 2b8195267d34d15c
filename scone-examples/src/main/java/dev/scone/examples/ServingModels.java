package dev.scone.examples;

import ai.djl.ndarray.NDManager;
import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.InferenceModel;
import dev.scone.fgram.corpus.TokenCompaction;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStorePrecompute;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Finding and loading inference exports ({@code scone export}), shared by the commands that serve a
 * model: the export, and for a SCONE model the store opened against it. Nothing of A_fgram or V_fgram
 * is read.
 */
final class ServingModels {

    /** The export's default file name inside a model folder. */
    static final String FILE_NAME = "inference.model";

    private ServingModels() {}

    /**
     * A loaded inference model and the store it reads (null for a baseline); closing closes the store.
     * The parameters live in the manager the caller gave.
     */
    record Served(InferenceModel model, FgramEmbeddingTable store, Path file) implements AutoCloseable {
        @Override
        public void close() {
            if (store != null) {
                store.close();
            }
        }
    }

    /**
     * @param path an export file
     * @return whether it starts like one
     */
    static boolean isExport(Path path) throws IOException {
        if (!Files.isRegularFile(path)) {
            return false;
        }
        try (InputStream in = Files.newInputStream(path)) {
            return Arrays.equals(in.readNBytes(InferenceModel.MAGIC.length), InferenceModel.MAGIC);
        }
    }

    /**
     * @param model an export file, or a model folder holding {@value #FILE_NAME}
     * @return the export file
     * @throws IllegalArgumentException when there is none, saying how to make one
     */
    static Path exportOf(Path model) throws IOException {
        if (Files.isDirectory(model)) {
            Path f = model.resolve(FILE_NAME);
            if (Files.isRegularFile(f)) {
                return f;
            }
            throw new IllegalArgumentException("model folder " + model + " holds no " + FILE_NAME
                    + ": run 'scone export --model " + model + "' first");
        }
        if (!Files.isRegularFile(model)) {
            throw new IllegalArgumentException("--model " + model + " is neither an inference model file nor a folder");
        }
        if (!isExport(model)) {
            throw new IllegalArgumentException(model + " is not an inference model (a checkpoint? run 'scone export"
                    + " --model " + model + "' and serve the file it writes)");
        }
        return model;
    }

    /**
     * Loads an export, opening its store when it is a SCONE model's.
     *
     * @param model an export file or a model folder holding one
     * @param store the store folder (required for a SCONE model, refused for a baseline)
     * @param manager where the parameters live
     * @return the model and its store
     * @throws IllegalArgumentException when the store is missing, superfluous or not the model's
     */
    static Served load(Path model, Path store, NDManager manager) throws IOException {
        Path file = exportOf(model);
        InferenceModel.Header header = InferenceModel.readHeader(file);
        if (!header.binding().isScone()) {
            if (store != null) {
                throw new IllegalArgumentException("--store needs a SCONE model; " + file + " holds a baseline");
            }
            return new Served(InferenceModel.load(file, null, manager), null, file);
        }
        if (store == null) {
            throw new IllegalArgumentException(file + " holds a SCONE model: give --store (the store 'scone precompute'"
                    + " wrote from the same model)");
        }
        if (!Files.isDirectory(store)) {
            throw new IllegalArgumentException("--store " + store + " is not a folder");
        }
        FgramEmbeddingTable table = FgramStorePrecompute.openFor(store, header, FgramStore.OpenOptions.defaults());
        try {
            return new Served(InferenceModel.load(file, table, manager), table, file);
        } catch (IOException | RuntimeException e) {
            table.close();
            throw e;
        }
    }

    /**
     * The compaction an export carries, else the one a file holds, else none.
     *
     * @param header the export's header
     * @param compaction a compaction file given on the command line, or null
     * @param file the export file (named in messages)
     * @return the compaction, or null for uncompacted ids
     * @throws IllegalArgumentException when both are given and differ
     */
    static TokenCompaction compactionOf(InferenceModel.Header header, Path compaction, Path file) throws IOException {
        byte[] carried = header.compaction();
        if (carried != null) {
            if (compaction != null && Files.exists(compaction)
                    && !Arrays.equals(carried, Files.readAllBytes(compaction))) {
                throw new IllegalArgumentException("--token-compaction " + compaction + " is not the compaction the"
                        + " model was exported with");
            }
            return TokenCompaction.read(carried, file);
        }
        return compaction != null && Files.exists(compaction) ? TokenCompaction.load(compaction) : null;
    }
}

package dev.scone.examples;

import java.io.PrintStream;
import java.nio.file.Path;

/** Public entry points to the pipeline steps for code outside this package (benchmarks, notebooks). */
public final class Steps {

    private Steps() {}

    /** Applies the process-wide offline settings every scone main needs. */
    public static void configureOffline() {
        CliSupport.configureOffline();
    }

    /** @return the data folder ({@code -Dscone.data.dir}, else ./data) */
    public static Path dataDir() {
        return CliSupport.dataDir();
    }

    /**
     * Tokenizes a folder of documents into {@code all.tok}, {@code train.tok} and {@code heldout.tok}
     * in {@code out} (see {@link TokenizeCommand}).
     *
     * @param folder the folder of .txt documents
     * @param tokenizerJson a Hugging Face tokenizer.json
     * @param out the output folder
     * @param heldOut documents held out (the last by file name)
     * @param maxDocuments use only the last N documents
     * @param compact keep this many most frequent training ids plus one unknown id (0 = no compaction)
     * @param log where to print what was done
     * @return the training split's file
     * @throws Exception when tokenizing fails
     */
    public static Path tokenize(Path folder, Path tokenizerJson, Path out, int heldOut, int maxDocuments, int compact,
            PrintStream log) throws Exception {
        return TokenizeCommand.run(folder, tokenizerJson, out, heldOut, maxDocuments, compact, true, log).train();
    }
}

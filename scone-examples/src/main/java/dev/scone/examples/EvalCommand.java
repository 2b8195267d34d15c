package dev.scone.examples;

import ai.djl.ndarray.NDManager;
import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.InMemoryFgramEmbeddingTable;
import dev.scone.core.LanguageModel;
import dev.scone.core.data.WindowDataset;
import dev.scone.core.train.Evaluation;
import dev.scone.core.train.PerplexityResult;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStorePrecompute;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Measures a trained model's perplexity on a token-id file, split by f-gram match, either through
 * A_fgram (training mode) or through a precomputed f-gram embedding table (the inference path).
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Perplexity of a trained model on a token-id file, split by f-gram match.")
public final class EvalCommand implements Callable<Integer> {

    /**
     * What an evaluation measured.
     *
     * @param result the perplexity, split by match
     * @param throughTable whether f-gram vectors came from a precomputed table
     * @param seconds evaluation time (table precomputation excluded)
     * @param tokensPerSecond evaluated tokens per second
     */
    public record Result(PerplexityResult result, boolean throughTable, double seconds, double tokensPerSecond) {}

    @Option(names = "--model", required = true, description = "Model folder from 'scone train' (its final.ckpt), or a checkpoint file.")
    Path model;

    @Option(names = "--data", description = "Token-id file to evaluate on (default: ${DEFAULT-VALUE}).")
    Path data = Path.of("out", "tokens", "heldout.tok");

    @Option(names = "--fgrams", description = "F-gram vocabulary file (default: the model folder's fgrams.bin).")
    Path fgrams;

    @Option(names = "--through-table", description = "Precompute every f-gram's vector and look them up (inference path).")
    boolean throughTable;

    @Option(names = "--store", description = "Read f-gram vectors from this store folder ('scone precompute', or a sharded store): the inference path.")
    Path store;

    @Option(names = "--token-compaction", description = "The compaction file the store was built against (default: ${DEFAULT-VALUE}).")
    Path compaction = Path.of("out", "tokens", "compaction.cmp");

    @Option(names = "--batch", description = "Windows per forward pass (default: ${DEFAULT-VALUE}).")
    int batch = 16;

    @Option(names = "--max-windows", description = "Evaluate at most this many windows, 0 = all (default: ${DEFAULT-VALUE}).")
    long maxWindows = 0;

    @Override
    public Integer call() throws Exception {
        try {
            run(model, data, fgrams, throughTable, store, compaction, batch, maxWindows, System.out);
            return 0;
        } catch (IllegalArgumentException | SconeFormatException e) {
            // Bad options or a damaged input file: say what is wrong, without a stack trace.
            System.err.println("eval: " + e.getMessage());
            return 2;
        }
    }

    /**
     * Evaluates a trained model.
     *
     * @param model a model folder (its {@code final.ckpt}, else {@code checkpoint.ckpt}) or a checkpoint file
     * @param data the token-id file
     * @param fgrams the vocabulary file, or null for the model folder's {@code fgrams.bin} (when present)
     * @param throughTable whether to evaluate a SCONE model through a precomputed table
     * @param batch windows per forward pass
     * @param maxWindows cap on windows (0 = all)
     * @param log where to print the figures
     * @return the figures
     * @throws Exception when reading fails, or the model and vocabulary do not fit
     */
    public static Result run(Path model, Path data, Path fgrams, boolean throughTable, int batch, long maxWindows,
            PrintStream log) throws Exception {
        return run(model, data, fgrams, throughTable, null, null, batch, maxWindows, log);
    }

    /**
     * Evaluates a trained model, optionally reading f-gram vectors from a store.
     *
     * @param model a model folder or a checkpoint file
     * @param data the token-id file
     * @param fgrams the vocabulary file, or null for the model folder's {@code fgrams.bin} (when present)
     * @param throughTable whether to evaluate a SCONE model through an in-memory precomputed table
     * @param store a store folder from {@code scone precompute} to read f-gram vectors from, or null
     * @param compaction the token compaction file the store was built against, or null
     * @param batch windows per forward pass
     * @param maxWindows cap on windows (0 = all)
     * @param log where to print the figures
     * @return the figures
     * @throws Exception when reading fails, or the model, vocabulary and store do not fit
     */
    public static Result run(Path model, Path data, Path fgrams, boolean throughTable, Path store, Path compaction,
            int batch, long maxWindows, PrintStream log) throws Exception {
        if (throughTable && store != null) {
            throw new IllegalArgumentException("give at most one of --through-table and --store");
        }
        try (NDManager manager = NDManager.newBaseManager(); TokenIdFile corpus = TokenIdFile.open(data)) {
            TrainedModels.Loaded loaded = TrainedModels.load(model, fgrams, manager);
            LanguageModel m = loaded.model();
            FgramVocabulary vocabulary = loaded.vocabulary();
            Path checkpoint = loaded.checkpoint();
            if ((throughTable || store != null) && !m.isScone()) {
                throw new IllegalArgumentException("--through-table needs a SCONE model; " + checkpoint
                        + " holds a baseline");
            }
            WindowDataset windows = LanguageModel.windows(corpus, m.config().contextLength(), vocabulary);
            m.requireCompatible("evaluation", windows);
            FgramEmbeddingTable table = null;
            try {
                if (store != null) {
                    table = FgramStorePrecompute.openAny(store, m.sconeEmbedding(),
                            TrainedModels.tokenVocabularyFingerprint(compaction, m.config().vocabularySize()),
                            FgramStore.OpenOptions.defaults());
                    m.sconeEmbedding().useTable(table);
                    log.printf(Locale.ROOT, "reading %,d f-gram vectors from the store %s%n", table.size(), store);
                } else if (throughTable) {
                    long t0 = System.nanoTime();
                    table = InMemoryFgramEmbeddingTable.precompute(m.sconeEmbedding(), 1024,
                            LanguageModel.matcherFor(m.vocabulary()));
                    m.sconeEmbedding().useTable(table);
                    log.printf(Locale.ROOT, "precomputed %,d f-gram vectors in %.1f s%n", table.size(),
                            (System.nanoTime() - t0) / 1e9);
                }
                long t0 = System.nanoTime();
                PerplexityResult r = Evaluation.perplexity(m.block(), windows, batch, maxWindows);
                double secs = (System.nanoTime() - t0) / 1e9;
                Result res = new Result(r, throughTable || store != null, secs, r.tokens() / Math.max(secs, 1e-9));
                log.printf(Locale.ROOT, "%s model %s on %s%s: %,d tokens%n", m.isScone() ? "SCONE" : "baseline",
                        checkpoint, data, store != null ? " through the store" : throughTable ? " through the f-gram table" : "", r.tokens());
                log.printf(Locale.ROOT, "perplexity %.3f (loss %.4f nats)%n", r.perplexity(), r.loss());
                if (vocabulary != null) {
                    log.printf(Locale.ROOT, "  matched positions   %5.1f%%: perplexity %.3f%n", 100 * r.matchedFraction(),
                            r.matchedPerplexity());
                    log.printf(Locale.ROOT, "  unmatched positions %5.1f%%: perplexity %.3f%n",
                            100 * (1 - r.matchedFraction()), r.unmatchedPerplexity());
                }
                log.printf(Locale.ROOT, "%.1f s, %.0f tokens/s%n", secs, res.tokensPerSecond());
                return res;
            } finally {
                if (table != null) {
                    m.sconeEmbedding().useFgramModel();
                    table.close();
                }
            }
        }
    }
}

package dev.scone.examples;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.InMemoryFgramEmbeddingTable;
import dev.scone.core.InferenceModel;
import dev.scone.core.LanguageModel;
import dev.scone.core.data.WindowDataset;
import dev.scone.core.train.Evaluation;
import dev.scone.core.train.PerplexityResult;
import dev.scone.fgram.corpus.CompactingTokenizer;
import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import dev.scone.fgram.corpus.TokenCompaction;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.corpus.Tokenizer;
import dev.scone.fgram.corpus.Tokenizers;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Measures a trained model's perplexity on a token-id file or on a folder of text, split by f-gram
 * match: through A_fgram (the checkpoint, training mode), through an in-memory precomputed table, or
 * served from an inference export and its store (no A_fgram, no V_fgram: the store's own matches
 * split the result).
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Perplexity of a trained model on a token-id file or a folder of .txt files, split by f-gram"
                + " match.", "--model: a model folder or checkpoint, or (with --store, or for a baseline) an inference"
                + " export or a folder holding one."})
public final class EvalCommand implements Callable<Integer> {

    /**
     * What an evaluation measured.
     *
     * @param result the perplexity, split by match
     * @param throughTable whether f-gram vectors came from a precomputed table or store
     * @param seconds evaluation time (table precomputation excluded)
     * @param tokensPerSecond evaluated tokens per second
     */
    public record Result(PerplexityResult result, boolean throughTable, double seconds, double tokensPerSecond) {}

    @Mixin
    SharedOptions.TrainedModel model = new SharedOptions.TrainedModel();

    @Option(names = "--data", description = "Token-id file to evaluate on (default: ${DEFAULT-VALUE}).")
    Path data = Path.of("out", "tokens", "heldout.tok");

    @Option(names = "--text", description = "Evaluate on this folder of .txt documents instead, tokenized with --tokenizer"
            + " and the model's token compaction.")
    Path text;

    @Option(names = "--tokenizer", description = "The tokenizer.json the model's corpus was tokenized with, for --text"
            + " (default: <data>/gpt2/tokenizer.json).")
    Path tokenizerJson;

    @Mixin
    SharedOptions.Fgrams fgrams = new SharedOptions.Fgrams();

    @Option(names = "--through-table", description = "Precompute every f-gram's vector in memory and serve the model from"
            + " T and that table.")
    boolean throughTable;

    @Mixin
    SharedOptions.Store store = new SharedOptions.Store();

    @Mixin
    SharedOptions.TokenCompaction compaction = new SharedOptions.TokenCompaction();

    @Mixin
    SharedOptions.DeviceOption device = new SharedOptions.DeviceOption();

    @Option(names = "--batch", description = "Windows per forward pass (default: ${DEFAULT-VALUE}).")
    int batch = 16;

    @Option(names = "--max-windows", description = "Evaluate at most this many windows, 0 = all (default: ${DEFAULT-VALUE}).")
    long maxWindows = 0;

    @Override
    public Integer call() throws Exception {
        if (text != null) {
            Path json = tokenizerJson != null ? tokenizerJson
                    : CliSupport.dataDir().resolve("gpt2").resolve("tokenizer.json");
            runOnText(model.path, text, json, fgrams.file, throughTable, store.folder, compaction.file, batch, maxWindows,
                    device.device(), System.out);
        } else {
            run(model.path, data, fgrams.file, throughTable, store.folder, batch, maxWindows, device.device(),
                    System.out);
        }
        return 0;
    }

    /**
     * Evaluates a trained model through A_fgram or an in-memory table (the checkpoint path).
     *
     * @param model a model folder or a checkpoint file
     * @param data the token-id file
     * @param fgrams the vocabulary file, or null for the model folder's {@code fgrams.bin} (when present)
     * @param throughTable whether to serve a SCONE model from T and an in-memory precomputed table
     * @param batch windows per forward pass
     * @param maxWindows cap on windows (0 = all)
     * @param log where to print the figures
     * @return the figures
     * @throws Exception when reading fails, or the model and vocabulary do not fit
     */
    public static Result run(Path model, Path data, Path fgrams, boolean throughTable, int batch, long maxWindows,
            PrintStream log) throws Exception {
        return run(model, data, fgrams, throughTable, null, batch, maxWindows, log);
    }

    /**
     * Evaluates a trained model on a token-id file.
     *
     * @param model a model folder or checkpoint, or with a store (or for a baseline) an inference export
     * @param data the token-id file
     * @param fgrams the vocabulary file, or null for the model folder's {@code fgrams.bin} (when present)
     * @param throughTable whether to serve a SCONE model from T and an in-memory precomputed table
     * @param store a store folder to serve a SCONE model's export from, or null
     * @param batch windows per forward pass
     * @param maxWindows cap on windows (0 = all)
     * @param log where to print the figures
     * @return the figures
     * @throws Exception when reading fails, or the model, vocabulary and store do not fit
     */
    public static Result run(Path model, Path data, Path fgrams, boolean throughTable, Path store, int batch,
            long maxWindows, PrintStream log) throws Exception {
        return run(model, data, fgrams, throughTable, store, batch, maxWindows, null, log);
    }

    /**
     * Evaluates a trained model on a token-id file, on a device.
     *
     * @param model a model folder or checkpoint, or with a store (or for a baseline) an inference export
     * @param data the token-id file
     * @param fgrams the vocabulary file, or null for the model folder's {@code fgrams.bin} (when present)
     * @param throughTable whether to serve a SCONE model from T and an in-memory precomputed table
     * @param store a store folder to serve a SCONE model's export from, or null
     * @param batch windows per forward pass
     * @param maxWindows cap on windows (0 = all)
     * @param device where the model runs, or null for the engine's default device
     * @param log where to print the figures
     * @return the figures
     * @throws Exception when reading fails, or the model, vocabulary and store do not fit
     */
    public static Result run(Path model, Path data, Path fgrams, boolean throughTable, Path store, int batch,
            long maxWindows, Device device, PrintStream log) throws Exception {
        requireModel(model, store);
        CliSupport.requireFile(data, "--data");
        try (TokenIdFile corpus = TokenIdFile.open(data)) {
            return evaluate(model, corpus, data.toString(), fgrams, throughTable, store, batch, maxWindows, device,
                    log);
        }
    }

    /** Finds the model's file, or refuses it, before any data is read. */
    private static void requireModel(Path model, Path store) throws IOException {
        CliSupport.requireExists(model, "--model");
        if (servesExport(model, store)) {
            ServingModels.exportOf(model);
        } else {
            TrainedModels.checkpointOf(model);
        }
    }

    /** Whether the model is served from its inference export (with a store, or an export given). */
    private static boolean servesExport(Path model, Path store) throws IOException {
        return store != null || ServingModels.isExport(model);
    }

    /**
     * Evaluates a trained model on a folder of text documents: each {@code .txt} file (by name order) is
     * one document, tokenized with the tokenizer and the model's token compaction.
     *
     * @param model as for {@link #run(Path, Path, Path, boolean, Path, int, long, PrintStream)}
     * @param text the folder
     * @param tokenizerJson the tokenizer the model's training corpus was tokenized with
     * @param fgrams the vocabulary file, or null
     * @param throughTable whether to serve a SCONE model from an in-memory table
     * @param store a store folder, or null
     * @param compaction the token compaction file, or null (an export's own compaction wins)
     * @param batch windows per forward pass
     * @param maxWindows cap on windows (0 = all)
     * @param device where the model runs, or null for the engine's default device
     * @param log where to print the figures
     * @return the figures
     * @throws Exception when reading fails or the parts do not fit
     */
    public static Result runOnText(Path model, Path text, Path tokenizerJson, Path fgrams, boolean throughTable,
            Path store, Path compaction, int batch, long maxWindows, Device device, PrintStream log) throws Exception {
        requireModel(model, store);
        if (!Files.isDirectory(text)) {
            throw new IllegalArgumentException("--text " + text + " is not a folder of .txt documents");
        }
        CliSupport.requireFile(tokenizerJson, "--tokenizer");
        List<Path> files;
        try (Stream<Path> s = Files.list(text)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".txt") && Files.isRegularFile(p)).sorted()
                    .toList();
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("--text " + text + " holds no .txt file");
        }
        TokenCompaction c = ServingModels.isExport(model) || (store != null && Files.isDirectory(model))
                ? ServingModels.compactionOf(InferenceModel.readHeader(ServingModels.exportOf(model)), compaction,
                        ServingModels.exportOf(model))
                : compaction != null && Files.exists(compaction) ? TokenCompaction.load(compaction) : null;
        int[][] docs = new int[files.size()][];
        int vocabularySize;
        try (Tokenizer base = Tokenizers.open(tokenizerJson);
                Tokenizer tokenizer = c == null ? base : new CompactingTokenizer(base, c)) {
            vocabularySize = tokenizer.vocabularySize();
            for (int i = 0; i < docs.length; i++) {
                docs[i] = tokenizer.encode(Files.readString(files.get(i), StandardCharsets.UTF_8));
            }
        }
        TokenCorpus corpus = new InMemoryTokenCorpus(docs, vocabularySize);
        if (corpus.tokenCount() < 2) {
            throw new IllegalArgumentException("--text " + text + " holds fewer than 2 tokens: nothing to evaluate");
        }
        log.printf(Locale.ROOT, "tokenized %,d documents of %s: %,d tokens (V = %,d%s)%n", docs.length, text,
                corpus.tokenCount(), vocabularySize, c == null ? "" : ", compacted");
        return evaluate(model, corpus, text.toString(), fgrams, throughTable, store, batch, maxWindows, device, log);
    }

    private static Result evaluate(Path model, TokenCorpus corpus, String dataName, Path fgrams, boolean throughTable,
            Path store, int batch, long maxWindows, Device device, PrintStream log) throws Exception {
        if (throughTable && store != null) {
            throw new IllegalArgumentException("give at most one of --through-table and --store");
        }
        try (NDManager manager = SharedOptions.DeviceOption.manager(device)) {
            if (servesExport(model, store)) {
                return evaluateExport(model, corpus, dataName, fgrams, store, batch, maxWindows, manager, log);
            }
            TrainedModels.Loaded loaded = TrainedModels.load(model, fgrams, manager);
            LanguageModel m = loaded.model();
            FgramVocabulary vocabulary = loaded.vocabulary();
            if (fgrams != null && vocabulary != null) {
                TrainedModels.requireTrainedWith(loaded, fgrams);
            }
            if (corpus instanceof TokenIdFile f) {
                TokenOrigins.requireCompaction(f, loaded.header().dataCompaction(), loaded.checkpoint());
            }
            if (throughTable && !m.isScone()) {
                throw new IllegalArgumentException("--through-table needs a SCONE model; " + loaded.checkpoint()
                        + " holds a baseline");
            }
            WindowDataset windows = LanguageModel.windows(corpus, m.config().contextLength(), vocabulary);
            m.requireCompatible("evaluation", windows);
            String how = "";
            ai.djl.nn.Block block = m.block();
            FgramEmbeddingTable table = null;
            try {
                if (throughTable) {
                    long t0 = System.nanoTime();
                    table = InMemoryFgramEmbeddingTable.precompute(m.sconeEmbedding(), 1024,
                            LanguageModel.matcherFor(m.vocabulary()));
                    block = InferenceModel.fromTrained(m, table, InferenceModel.UNSPECIFIED, manager).block();
                    log.printf(Locale.ROOT, "precomputed %,d f-gram vectors in %.1f s%n", table.size(),
                            (System.nanoTime() - t0) / 1e9);
                    how = " through the f-gram table";
                }
                return measure(block, windows, batch, maxWindows, null, m.isScone() ? "SCONE" : "baseline",
                        loaded.checkpoint() + how, dataName, vocabulary != null, throughTable, log);
            } finally {
                if (table != null) {
                    table.close();
                }
            }
        }
    }

    /** The inference path: the export (and the store of a SCONE model); nothing of A_fgram or V_fgram. */
    private static Result evaluateExport(Path model, TokenCorpus corpus, String dataName, Path fgrams, Path store,
            int batch, long maxWindows, NDManager manager, PrintStream log) throws Exception {
        try (ServingModels.Served served = ServingModels.load(model, store, manager)) {
            InferenceModel m = served.model();
            if (corpus instanceof TokenIdFile f) {
                TokenOrigins.requireCompaction(f, TokenOrigins.fingerprintOf(m.header().compaction()),
                        "the model " + served.file());
            }
            int v = m.header().config().vocabularySize();
            if (corpus.vocabularySize() != v) {
                throw new IllegalArgumentException(dataName + " has token vocabulary size " + corpus.vocabularySize()
                        + " but the model " + served.file() + " has " + v);
            }
            // A baseline's perplexity splits by a vocabulary's pre-scan when one is given; a SCONE model's
            // by its store's own matches.
            FgramVocabulary vocabulary = !m.isScone() && fgrams != null ? FgramVocabularyFile.read(fgrams) : null;
            WindowDataset windows = LanguageModel.windows(corpus, m.header().config().contextLength(), vocabulary);
            if (m.isScone()) {
                log.printf(Locale.ROOT, "reading %,d f-gram vectors from the store %s%n", served.store().size(), store);
            }
            return measure(m.block(), windows, batch, maxWindows, served.store(), m.isScone() ? "SCONE" : "baseline",
                    served.file() + (m.isScone() ? " through the store" : ""), dataName,
                    m.isScone() || vocabulary != null, m.isScone(), log);
        }
    }

    private static Result measure(ai.djl.nn.Block block, WindowDataset windows, int batch, long maxWindows,
            FgramEmbeddingTable matches, String kind, String what, String dataName, boolean split, boolean table,
            PrintStream log) {
        long t0 = System.nanoTime();
        PerplexityResult r = Evaluation.perplexity(block, windows, batch, maxWindows, matches);
        double secs = (System.nanoTime() - t0) / 1e9;
        Result res = new Result(r, table, secs, r.tokens() / Math.max(secs, 1e-9));
        log.printf(Locale.ROOT, "%s model %s on %s: %,d tokens%n", kind, what, dataName, r.tokens());
        log.printf(Locale.ROOT, "perplexity %.3f (loss %.4f nats)%n", r.perplexity(), r.loss());
        if (split) {
            log.printf(Locale.ROOT, "  matched positions   %5.1f%%: perplexity %.3f%n", 100 * r.matchedFraction(),
                    r.matchedPerplexity());
            log.printf(Locale.ROOT, "  unmatched positions %5.1f%%: perplexity %.3f%n",
                    100 * (1 - r.matchedFraction()), r.unmatchedPerplexity());
        }
        log.printf(Locale.ROOT, "%.1f s, %.0f tokens/s%n", secs, res.tokensPerSecond());
        return res;
    }
}

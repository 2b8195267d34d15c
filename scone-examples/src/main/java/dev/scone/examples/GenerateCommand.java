package dev.scone.examples;

import ai.djl.ndarray.NDManager;
import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.LanguageModel;
import dev.scone.core.generate.Sampling;
import dev.scone.core.generate.TextGenerator;
import dev.scone.fgram.corpus.CompactingTokenizer;
import dev.scone.fgram.corpus.TokenCompaction;
import dev.scone.fgram.corpus.Tokenizer;
import dev.scone.fgram.corpus.Tokenizers;
import dev.scone.fgram.io.SconeFormatException;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStorePrecompute;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Generates text with a trained model: greedy or top-k sampling; a SCONE model reads its f-gram
 * vectors from a store (the inference path) when one is given.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text with a trained model (a SCONE model through its store).")
public final class GenerateCommand implements Callable<Integer> {

    /**
     * A generated continuation.
     *
     * @param prompt the prompt text
     * @param text the generated text (without the prompt)
     * @param tokens the generated token ids
     * @param tokensPerSecond generation speed (model forward passes and sampling)
     */
    public record Result(String prompt, String text, int[] tokens, double tokensPerSecond) {}

    @Option(names = "--model", required = true, description = "Model folder from 'scone train', or a checkpoint.")
    Path model;

    @Option(names = "--store", description = "Store folder ('scone precompute', or a sharded store) a SCONE model reads f-gram vectors from.")
    Path store;

    @Option(names = "--prompt", description = "Text to continue (default: ${DEFAULT-VALUE}).")
    String prompt = "The state of the Union";

    @Option(names = "--tokens", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int tokens = 60;

    @Option(names = "--top-k", description = "1 = greedy, else sample among the k most likely (default: ${DEFAULT-VALUE}).")
    int topK = 1;

    @Option(names = "--temperature", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    float temperature = 1f;

    @Option(names = "--seed", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--tokenizer", description = "The tokenizer.json the corpus was tokenized with (default: <data>/gpt2/tokenizer.json).")
    Path tokenizerJson;

    @Option(names = "--token-compaction", description = "The token compaction file (default: ${DEFAULT-VALUE}; ignored when missing).")
    Path compaction = Path.of("out", "tokens", "compaction.cmp");

    @Override
    public Integer call() throws Exception {
        try {
            Path json = tokenizerJson != null ? tokenizerJson : CliSupport.dataDir().resolve("gpt2").resolve("tokenizer.json");
            Result r = run(model, store, json, compaction, prompt, tokens, new Sampling(topK, temperature), seed, 16);
            System.out.println(r.prompt() + r.text());
            System.out.printf(Locale.ROOT, "(%d tokens, %.1f tokens/s)%n", r.tokens().length, r.tokensPerSecond());
            return 0;
        } catch (IllegalArgumentException | IllegalStateException | SconeFormatException e) {
            System.err.println("generate: " + e.getMessage());
            return 2;
        }
    }

    /**
     * Generates a continuation.
     *
     * @param model model folder or checkpoint
     * @param store a store folder for a SCONE model, or null (A_fgram then runs at every step)
     * @param tokenizerJson the tokenizer
     * @param compaction the compaction file, or null / missing for uncompacted ids
     * @param prompt the text to continue
     * @param newTokens how many tokens to generate
     * @param sampling greedy or top-k
     * @param seed the sampling seed
     * @param warmupTokens tokens generated (and discarded) before the timed run
     * @return the continuation and the speed
     * @throws Exception when files are missing or damaged, or do not fit together
     */
    public static Result run(Path model, Path store, Path tokenizerJson, Path compaction, String prompt, int newTokens,
            Sampling sampling, long seed, int warmupTokens) throws Exception {
        boolean compacted = compaction != null && Files.exists(compaction);
        try (NDManager manager = NDManager.newBaseManager();
                Tokenizer tokenizer = compacted
                        ? new CompactingTokenizer(Tokenizers.open(tokenizerJson), TokenCompaction.load(compaction))
                        : Tokenizers.open(tokenizerJson)) {
            TrainedModels.Loaded loaded = TrainedModels.load(model, null, manager);
            LanguageModel m = loaded.model();
            if (tokenizer.vocabularySize() != m.config().vocabularySize()) {
                throw new IllegalArgumentException("the tokenizer" + (compacted ? " with " + compaction : "") + " has "
                        + tokenizer.vocabularySize() + " tokens but the model " + m.config().vocabularySize());
            }
            int[] ids = tokenizer.encode(prompt);
            if (store != null && !m.isScone()) {
                throw new IllegalArgumentException("--store needs a SCONE model; " + loaded.checkpoint()
                        + " holds a baseline");
            }
            FgramEmbeddingTable table = store == null ? null
                    : FgramStorePrecompute.openAny(store, m.sconeEmbedding(),
                            TrainedModels.tokenVocabularyFingerprint(compaction, m.config().vocabularySize()),
                            FgramStore.OpenOptions.defaults());
            try {
                if (table != null) {
                    m.sconeEmbedding().useTable(table);
                }
                TextGenerator.Builder b = TextGenerator.builder().setModel(m.block()).setManager(manager)
                        .setSeed(seed);
                if (m.isScone() && table == null) {
                    b.optMatcher(LanguageModel.matcherFor(m.vocabulary()));
                }
                if (compacted) {
                    // The unknown id stands for thousands of rare tokens: never emit it.
                    b.optExcludedTokens(((CompactingTokenizer) tokenizer).compaction().unknownId());
                }
                TextGenerator g = b.build();
                if (warmupTokens > 0) {
                    g.generate(ids, warmupTokens, sampling); // untimed: JIT and first-use costs
                    g.resetStatistics();
                }
                int[] out = g.generate(ids, newTokens, sampling);
                return new Result(prompt, tokenizer.decode(out), out, g.tokensPerSecond());
            } finally {
                if (table != null) {
                    m.sconeEmbedding().useFgramModel();
                    table.close();
                }
            }
        }
    }
}

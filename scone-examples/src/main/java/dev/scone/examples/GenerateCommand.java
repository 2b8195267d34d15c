package dev.scone.examples;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.scone.core.generate.Sampling;
import dev.scone.core.generate.TextGenerator;
import dev.scone.fgram.corpus.CompactingTokenizer;
import dev.scone.fgram.corpus.TokenCompaction;
import dev.scone.fgram.corpus.Tokenizer;
import dev.scone.fgram.corpus.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Generates text from an inference export ({@code scone export}): a baseline alone, a SCONE model
 * with its store; nothing of A_fgram or V_fgram is loaded. Several prompts decode in one batch over a
 * key/value cache; greedy, top-k and top-p sampling with a seed.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate text from an inference export (a SCONE model with its store), over a key/value cache.",
                "--model: the export or a model folder holding one."})
public final class GenerateCommand implements Callable<Integer> {

    /**
     * Generated continuations.
     *
     * @param prompts the prompt texts
     * @param texts the generated texts (without the prompts), one per prompt
     * @param tokens the generated token ids, one array per prompt
     * @param reasons why each continuation ended
     * @param tokensPerSecond generated tokens per second of the timed run (all sequences together)
     */
    public record Result(List<String> prompts, List<String> texts, List<int[]> tokens,
            List<TextGenerator.FinishReason> reasons, double tokensPerSecond) {

        /** @return the first continuation's text */
        public String text() {
            return texts.get(0);
        }
    }

    @Mixin
    SharedOptions.TrainedModel model = new SharedOptions.TrainedModel();

    @Mixin
    SharedOptions.Store store = new SharedOptions.Store();

    @Option(names = "--prompt", description = "Text to continue; repeat for several prompts, decoded in one batch"
            + " (default: \"The state of the Union\").")
    List<String> prompts;

    @Option(names = "--tokens", description = "Most tokens to generate per prompt (default: ${DEFAULT-VALUE}).")
    int tokens = 60;

    @Option(names = "--top-k", description = "1 = greedy, 0 = no limit, else sample among the k most likely (default: ${DEFAULT-VALUE}).")
    int topK = 1;

    @Option(names = "--top-p", description = "Sample within the most likely tokens whose probability reaches p; 1 = no"
            + " cut (default: ${DEFAULT-VALUE}).")
    float topP = 1f;

    @Option(names = "--temperature", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    float temperature = 1f;

    @Mixin
    SharedOptions.Seed seed = SharedOptions.Seed.forGenerate();

    @Option(names = "--stop", description = "Stop a continuation at this text (it must be one token); repeatable.")
    List<String> stops;

    @Option(names = "--no-kv-cache", description = "Recompute every window at each step instead of decoding over a cache.")
    boolean noCache;

    @Option(names = "--tokenizer", description = "The tokenizer.json the corpus was tokenized with (default: <data>/gpt2/tokenizer.json).")
    Path tokenizerJson;

    @Mixin
    SharedOptions.TokenCompaction compaction = new SharedOptions.TokenCompaction();

    @Mixin
    SharedOptions.DeviceOption device = new SharedOptions.DeviceOption();

    @Override
    public Integer call() throws Exception {
        CliSupport.requireExists(model.path, "--model");
        CliSupport.requireAtLeast(tokens, 1, "--tokens");
        CliSupport.requireAtLeast(topK, 0, "--top-k");
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("--top-p must be in (0, 1], got " + topP);
        }
        if (!(temperature > 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be > 0, got " + temperature);
        }
        Path json = tokenizerJson != null ? tokenizerJson : CliSupport.dataDir().resolve("gpt2").resolve("tokenizer.json");
        CliSupport.requireFile(json, "--tokenizer");
        List<String> p = prompts == null || prompts.isEmpty() ? List.of("The state of the Union") : prompts;
        Result r = run(model.path, store.folder, json, compaction.file, p, stops == null ? List.of() : stops, tokens,
                new Sampling(topK, topP, temperature), seed.get(), !noCache, 16, device.device());
        for (int i = 0; i < p.size(); i++) {
            System.out.println(r.prompts().get(i) + r.texts().get(i));
            if (p.size() > 1) {
                System.out.println();
            }
        }
        long n = r.tokens().stream().mapToLong(t -> t.length).sum();
        System.out.printf(Locale.ROOT, "(%d tokens, %.1f tokens/s)%n", n, r.tokensPerSecond());
        return 0;
    }

    /**
     * Generates continuations of one prompt.
     *
     * @param model an inference export, or a model folder holding one
     * @param store the store folder of a SCONE model, or null for a baseline
     * @param tokenizerJson the tokenizer
     * @param compaction the compaction file when the export carries none, or null / missing
     * @param prompt the text to continue
     * @param newTokens the most tokens to generate
     * @param sampling greedy, top-k or top-p
     * @param seed the sampling seed
     * @param warmupTokens tokens generated (and discarded) before the timed run
     * @return the continuation and the speed
     * @throws Exception when files are missing or damaged, or do not fit together
     */
    public static Result run(Path model, Path store, Path tokenizerJson, Path compaction, String prompt, int newTokens,
            Sampling sampling, long seed, int warmupTokens) throws Exception {
        return run(model, store, tokenizerJson, compaction, List.of(prompt), List.of(), newTokens, sampling, seed, true,
                warmupTokens);
    }

    /**
     * Generates continuations of several prompts in one batch.
     *
     * @param model an inference export, or a model folder holding one
     * @param store the store folder of a SCONE model, or null for a baseline
     * @param tokenizerJson the tokenizer
     * @param compaction the compaction file when the export carries none, or null / missing
     * @param prompts the texts to continue
     * @param stops texts that end a continuation, each one token
     * @param newTokens the most tokens to generate per prompt
     * @param sampling greedy, top-k or top-p
     * @param seed the sampling seed
     * @param kvCache whether to decode over a key/value cache
     * @param warmupTokens tokens generated (and discarded) before the timed run
     * @return the continuations and the speed
     * @throws Exception when files are missing or damaged, or do not fit together
     */
    public static Result run(Path model, Path store, Path tokenizerJson, Path compaction, List<String> prompts,
            List<String> stops, int newTokens, Sampling sampling, long seed, boolean kvCache, int warmupTokens)
            throws Exception {
        return run(model, store, tokenizerJson, compaction, prompts, stops, newTokens, sampling, seed, kvCache,
                warmupTokens, null);
    }

    /**
     * Generates continuations of several prompts in one batch, on a device.
     *
     * @param model an inference export, or a model folder holding one
     * @param store the store folder of a SCONE model, or null for a baseline
     * @param tokenizerJson the tokenizer
     * @param compaction the compaction file when the export carries none, or null / missing
     * @param prompts the texts to continue
     * @param stops texts that end a continuation, each one token
     * @param newTokens the most tokens to generate per prompt
     * @param sampling greedy, top-k or top-p
     * @param seed the sampling seed
     * @param kvCache whether to decode over a key/value cache
     * @param warmupTokens tokens generated (and discarded) before the timed run
     * @param device where the model runs, or null for the engine's default device
     * @return the continuations and the speed
     * @throws Exception when files are missing or damaged, or do not fit together
     */
    public static Result run(Path model, Path store, Path tokenizerJson, Path compaction, List<String> prompts,
            List<String> stops, int newTokens, Sampling sampling, long seed, boolean kvCache, int warmupTokens,
            Device device) throws Exception {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IllegalArgumentException("--tokenizer " + tokenizerJson + " is not a file");
        }
        try (NDManager manager = SharedOptions.DeviceOption.manager(device);
                ServingModels.Served served = ServingModels.load(model, store, manager)) {
            TokenCompaction c = ServingModels.compactionOf(served.model().header(), compaction, served.file());
            try (Tokenizer base = Tokenizers.open(tokenizerJson);
                    Tokenizer tokenizer = c == null ? base : new CompactingTokenizer(base, c)) {
                int v = served.model().header().config().vocabularySize();
                if (tokenizer.vocabularySize() != v) {
                    throw new IllegalArgumentException("the tokenizer" + (c != null ? " with its compaction" : "")
                            + " has " + tokenizer.vocabularySize() + " tokens but the model " + served.file() + " has "
                            + v + (c == null ? " (is the token compaction missing?)" : ""));
                }
                int[][] ids = new int[prompts.size()][];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = tokenizer.encode(prompts.get(i));
                    if (ids[i].length == 0) {
                        throw new IllegalArgumentException("prompt " + i + " is empty: give some text to continue");
                    }
                }
                int[] stopIds = new int[stops.size()];
                for (int i = 0; i < stopIds.length; i++) {
                    int[] t = tokenizer.encode(stops.get(i));
                    if (t.length != 1) {
                        throw new IllegalArgumentException("--stop '" + stops.get(i) + "' is " + t.length
                                + " tokens, not one");
                    }
                    stopIds[i] = t[0];
                }
                TextGenerator.Builder b = TextGenerator.builder().setModel(served.model().block()).setManager(manager)
                        .setSeed(seed).optStopTokens(stopIds).optKvCache(kvCache);
                if (c != null) {
                    // The unknown id stands for thousands of rare tokens: never emit it.
                    b.optExcludedTokens(c.unknownId());
                }
                TextGenerator g = b.build();
                if (warmupTokens > 0) {
                    g.generate(ids, warmupTokens, sampling); // untimed: JIT and first-use costs
                    g.resetStatistics();
                }
                List<TextGenerator.Generation> out = g.generate(ids, newTokens, sampling);
                List<String> texts = new ArrayList<>();
                List<int[]> tokens = new ArrayList<>();
                List<TextGenerator.FinishReason> reasons = new ArrayList<>();
                for (TextGenerator.Generation gen : out) {
                    texts.add(tokenizer.decode(gen.tokens()));
                    tokens.add(gen.tokens());
                    reasons.add(gen.finishReason());
                }
                return new Result(List.copyOf(prompts), texts, tokens, reasons, g.tokensPerSecond());
            }
        }
    }
}

package dev.scone.examples;

import ai.djl.engine.Engine;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The end-to-end demo on the default corpus: runs every pipeline stage that exists. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the SCONE pipeline end to end on the State of the Union corpus.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--data", description = "Data folder from scripts/fetch-data.sh (default: ${DEFAULT-VALUE}).")
    Path data = CliSupport.dataDir();

    @Option(names = "--max-documents", description = "Use at most this many addresses (default: all).")
    int maxDocuments = Integer.MAX_VALUE;

    @Override
    public Integer call() throws Exception {
        Path sotu = data.resolve("sotu");
        Path tokenizerJson = data.resolve("gpt2").resolve("tokenizer.json");
        if (!Files.isDirectory(sotu) || !Files.isRegularFile(tokenizerJson)) {
            System.err.println("demo: " + data + " lacks sotu/ or gpt2/tokenizer.json: run scripts/fetch-data.sh");
            return 2;
        }
        System.out.println("[1/2] engine: " + Engine.getInstance().getEngineName() + " "
                + Engine.getInstance().getVersion());
        List<Path> files;
        try (Stream<Path> s = Files.list(sotu)) {
            files = s.filter(p -> p.toString().endsWith(".txt")).sorted().limit(maxDocuments).toList();
        }
        long tokens = 0;
        long t0 = System.nanoTime();
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerJson)
                .optAddSpecialTokens(false).optTruncation(false).optPadding(false).build()) {
            for (Path f : files) {
                tokens += tok.encode(Files.readString(f, StandardCharsets.UTF_8)).getIds().length;
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("[2/2] tokenized %d addresses: %,d tokens in %.1f s%n", files.size(), tokens, secs);
        return 0;
    }
}

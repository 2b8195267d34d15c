package dev.scone.examples.bench;

import dev.scone.examples.SharedOptions;
import dev.scone.examples.Steps;
import dev.scone.fgram.corpus.CorpusTokenizer;
import dev.scone.fgram.corpus.HuggingFaceTokenizerJson;
import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import dev.scone.fgram.corpus.JtokkitTokenizer;
import dev.scone.fgram.corpus.TokenCompaction;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.corpus.Tokenizer;
import dev.scone.fgram.io.Temporaries;
import dev.scone.fgram.progress.ProgressBarListener;
import dev.scone.fgram.progress.ProgressListener;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * What the corpus stage costs on the real corpus: tokenizing every address with the Hugging Face
 * and the jtokkit GPT-2 tokenizers on one thread (and whether their ids agree), tokenizing the
 * folder with {@link CorpusTokenizer} on every core, opening the token-id file with checksum
 * verification, and splitting and compacting it as {@code scone tokenize --compact 8191} does.
 */
@Command(name = "tokenizing-benchmark", mixinStandardHelpOptions = true,
        description = "Tokenizer throughput, id agreement, token-file open time, split and compaction on the corpus.")
public final class TokenizingBenchmark implements Callable<Integer> {

    @Mixin
    SharedOptions.DataFolder data = new SharedOptions.DataFolder();

    @Option(names = "--work", description = "Folder for the files it writes (default: a temporary folder, removed after).")
    Path workDir;

    /**
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        System.exit(runExample(args));
    }

    /**
     * Runs the benchmark without exiting.
     *
     * @param args command-line arguments
     * @return the exit status
     */
    public static int runExample(String[] args) {
        return new CommandLine(new TokenizingBenchmark()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        Steps.configureOffline();
        Path dataDir = data.resolve();
        Path work = workDir != null ? Files.createDirectories(workDir) : Files.createTempDirectory("tokenizing-benchmark");
        try {
            run(dataDir, work, System.out);
            return 0;
        } finally {
            if (workDir == null) {
                Temporaries.deleteTree(work);
            }
        }
    }

    private static void run(Path dataDir, Path work, PrintStream out) throws Exception {
            Path json = dataDir.resolve("gpt2").resolve("tokenizer.json");
            out.println("gpt2 fingerprint " + HuggingFaceTokenizerJson.describe(json));
            List<Path> files = CorpusTokenizer.listDocuments(dataDir.resolve("sotu"));
            String[] texts = new String[files.size()];
            for (int i = 0; i < texts.length; i++) {
                texts[i] = Files.readString(files.get(i), StandardCharsets.UTF_8);
            }
            try (HuggingFaceTokenizerJson hf = HuggingFaceTokenizerJson.open(json, "gpt2");
                    JtokkitTokenizer jt = JtokkitTokenizer.gpt2()) {
                for (int rep = 0; rep < 2; rep++) {
                    long t0 = System.nanoTime();
                    int[][] a = new int[texts.length][];
                    for (int i = 0; i < texts.length; i++) {
                        a[i] = hf.encode(texts[i]);
                    }
                    long t1 = System.nanoTime();
                    int[][] b = new int[texts.length][];
                    for (int i = 0; i < texts.length; i++) {
                        b[i] = jt.encode(texts[i]);
                    }
                    long t2 = System.nanoTime();
                    long tokens = Arrays.stream(a).mapToLong(x -> x.length).sum();
                    int differ = 0;
                    for (int i = 0; i < texts.length; i++) {
                        if (!Arrays.equals(a[i], b[i])) {
                            differ++;
                        }
                    }
                    out.printf("pass %d, one thread: HF %d ms, jtokkit %d ms, %d tokens, %d documents differ%n",
                            rep, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, tokens, differ);
                }
                for (Tokenizer t : new Tokenizer[] {hf, jt}) {
                    for (int rep = 0; rep < 2; rep++) {
                        CorpusTokenizer.Result r = CorpusTokenizer.builder().setTokenizer(t)
                                .optProgress(rep == 0 ? new ProgressBarListener("docs") : ProgressListener.NONE).build()
                                .tokenize(dataDir.resolve("sotu"), work.resolve("sotu-" + t.getClass().getSimpleName() + ".tok"));
                        out.printf("CorpusTokenizer %s, %d threads: %d documents, %d tokens in %d ms%n",
                                t, Runtime.getRuntime().availableProcessors(), r.documentCount(), r.tokenCount(),
                                r.elapsed().toMillis());
                    }
                }
            }
            Path file = work.resolve("sotu-JtokkitTokenizer.tok");
            out.println("file size " + Files.size(file) + " bytes");
            for (int rep = 0; rep < 5; rep++) {
                long t0 = System.nanoTime();
                try (TokenIdFile f = TokenIdFile.open(file)) {
                    long t1 = System.nanoTime();
                    out.printf("open with checksum verification: %.2f ms (%d tokens)%n", (t1 - t0) / 1e6, f.tokenCount());
                }
            }
    
            // Train / held-out split by document index (the 20 most recent addresses held out), then
            // GPT-2 ids compacted to the 8,191 most frequent training ids + unknown.
            try (TokenIdFile all = TokenIdFile.open(file)) {
                int n = all.documentCount();
                int[] train = java.util.stream.IntStream.range(0, n - 20).toArray();
                int[] held = java.util.stream.IntStream.range(n - 20, n).toArray();
                long t0 = System.nanoTime();
                TokenIdFile.writeSubset(work.resolve("train.tok"), all, train);
                TokenIdFile.writeSubset(work.resolve("heldout.tok"), all, held);
                long t1 = System.nanoTime();
                try (TokenIdFile tr = TokenIdFile.open(work.resolve("train.tok"));
                        TokenIdFile ho = TokenIdFile.open(work.resolve("heldout.tok"))) {
                    TokenCompaction c = TokenCompaction.fit(tr, 8191);
                    long t2 = System.nanoTime();
                    c.save(work.resolve("top8191.cmp"));
                    c.compactTo(tr, work.resolve("train-top8191.tok"));
                    c.compactTo(ho, work.resolve("heldout-top8191.tok"));
                    long t3 = System.nanoTime();
                    InMemoryTokenCorpus hc = c.compact(ho);
                    long unk = 0;
                    for (int d = 0; d < hc.documentCount(); d++) {
                        for (int id : hc.document(d)) {
                            if (id == c.unknownId()) {
                                unk++;
                            }
                        }
                    }
                    out.printf("split: train %d tokens, held-out %d tokens, written in %.0f ms%n",
                            tr.tokenCount(), ho.tokenCount(), (t1 - t0) / 1e6);
                    out.printf("compaction top 8191: fit %.0f ms, save + compact both splits %.0f ms; unknown"
                            + " %.2f%% of training tokens, %.2f%% of held-out tokens; compaction file %d bytes%n",
                            (t2 - t1) / 1e6, (t3 - t2) / 1e6, 100.0 * c.count(c.unknownId()) / tr.tokenCount(),
                            100.0 * unk / ho.tokenCount(), Files.size(work.resolve("top8191.cmp")));
                }
            }
    }
}

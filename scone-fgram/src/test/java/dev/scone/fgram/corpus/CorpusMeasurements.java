package dev.scone.fgram.corpus;

import dev.scone.fgram.testing.TestData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Measures, on the real corpus, what the corpus package costs: tokenizing every address with the
 * Hugging Face and the jtokkit GPT-2 tokenizers (and whether their ids agree), writing the
 * token-id file, and opening it with checksum verification. Run by hand; prints figures.
 */
public final class CorpusMeasurements {

    private CorpusMeasurements() {}

    /**
     * @param args optional: output folder (default: a temporary folder)
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Path out = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("corpus-measure");
        Path json = TestData.gpt2TokenizerJson();
        System.out.println("gpt2 fingerprint " + HuggingFaceTokenizerJson.describe(json));
        List<Path> files = CorpusTokenizer.listDocuments(TestData.sotuDir());
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
                System.out.printf("pass %d, one thread: HF %d ms, jtokkit %d ms, %d tokens, %d documents differ%n",
                        rep, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, tokens, differ);
            }
            for (Tokenizer t : new Tokenizer[] {hf, jt}) {
                for (int rep = 0; rep < 2; rep++) {
                    CorpusTokenizer.Result r = CorpusTokenizer.builder().setTokenizer(t)
                            .optProgress(rep == 0 ? new ProgressBarListener("docs") : ProgressListener.NONE).build()
                            .tokenize(TestData.sotuDir(), out.resolve("sotu-" + t.getClass().getSimpleName() + ".tok"));
                    System.out.printf("CorpusTokenizer %s, %d threads: %d documents, %d tokens in %d ms%n",
                            t, Runtime.getRuntime().availableProcessors(), r.documentCount(), r.tokenCount(),
                            r.elapsed().toMillis());
                }
            }
        }
        Path file = out.resolve("sotu-JtokkitTokenizer.tok");
        System.out.println("file size " + Files.size(file) + " bytes");
        for (int rep = 0; rep < 5; rep++) {
            long t0 = System.nanoTime();
            try (TokenIdFile f = TokenIdFile.open(file)) {
                long t1 = System.nanoTime();
                System.out.printf("open with checksum verification: %.2f ms (%d tokens)%n", (t1 - t0) / 1e6, f.tokenCount());
            }
        }
    
        // Train / held-out split by document index (the 20 most recent addresses held out), then
        // GPT-2 ids compacted to the 8,191 most frequent training ids + unknown.
        try (TokenIdFile all = TokenIdFile.open(file)) {
            int n = all.documentCount();
            int[] train = java.util.stream.IntStream.range(0, n - 20).toArray();
            int[] held = java.util.stream.IntStream.range(n - 20, n).toArray();
            long t0 = System.nanoTime();
            TokenIdFile.writeSubset(out.resolve("train.tok"), all, train);
            TokenIdFile.writeSubset(out.resolve("heldout.tok"), all, held);
            long t1 = System.nanoTime();
            try (TokenIdFile tr = TokenIdFile.open(out.resolve("train.tok"));
                    TokenIdFile ho = TokenIdFile.open(out.resolve("heldout.tok"))) {
                TokenCompaction c = TokenCompaction.fit(tr, 8191);
                long t2 = System.nanoTime();
                c.save(out.resolve("top8191.cmp"));
                c.compactTo(tr, out.resolve("train-top8191.tok"));
                c.compactTo(ho, out.resolve("heldout-top8191.tok"));
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
                System.out.printf("split: train %d tokens, held-out %d tokens, written in %.0f ms%n",
                        tr.tokenCount(), ho.tokenCount(), (t1 - t0) / 1e6);
                System.out.printf("compaction top 8191: fit %.0f ms, save + compact both splits %.0f ms; unknown"
                        + " %.2f%% of training tokens, %.2f%% of held-out tokens; compaction file %d bytes%n",
                        (t2 - t1) / 1e6, (t3 - t2) / 1e6, 100.0 * c.count(c.unknownId()) / tr.tokenCount(),
                        100.0 * unk / ho.tokenCount(), Files.size(out.resolve("top8191.cmp")));
            }
        }
    }
}

package dev.scone.examples;

import dev.scone.fgram.corpus.CorpusTokenizer;
import dev.scone.fgram.corpus.TokenCompaction;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.corpus.Tokenizer;
import dev.scone.fgram.corpus.Tokenizers;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Tokenizes a folder of text documents into token-id files: the whole corpus, a training split and
 * a held-out split (the most recent documents, by file name), optionally with the token vocabulary
 * compacted to the training split's most frequent ids.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Tokenize a folder of .txt documents into token-id files (all, train, held-out).")
final class TokenizeCommand implements Callable<Integer> {

    /** The files one run writes into its output folder. */
    record Outputs(Path all, Path train, Path heldOut, Path compaction) {
        static Outputs in(Path dir) {
            return new Outputs(dir.resolve("all.tok"), dir.resolve("train.tok"), dir.resolve("heldout.tok"),
                    dir.resolve("compaction.cmp"));
        }
    }

    @Option(names = "--corpus", description = "Folder of .txt documents (default: <data>/sotu).")
    Path corpus;

    @Option(names = "--tokenizer", description = "A Hugging Face tokenizer.json (default: <data>/gpt2/tokenizer.json).")
    Path tokenizerJson;

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("out", "tokens");

    @Option(names = "--held-out", description = "Hold out this many documents, the last by file name (default: ${DEFAULT-VALUE}).")
    int heldOut = 20;

    @Option(names = "--max-documents", description = "Use only the last N documents of the folder (default: all).")
    int maxDocuments = Integer.MAX_VALUE;

    @Option(names = "--compact", description = "Keep the N most frequent training token ids, map the rest to one unknown id (0 = no compaction; default: ${DEFAULT-VALUE}).")
    int compact = 0;

    @Option(names = "--quiet", description = "No progress bar.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        Path data = CliSupport.dataDir();
        Path folder = corpus != null ? corpus : data.resolve("sotu");
        Path json = tokenizerJson != null ? tokenizerJson : data.resolve("gpt2").resolve("tokenizer.json");
        run(folder, json, out, heldOut, maxDocuments, compact, quiet, System.out);
        return 0;
    }

    /**
     * Runs the step.
     *
     * @return the files written
     */
    static Outputs run(Path folder, Path json, Path out, int heldOut, int maxDocuments, int compact, boolean quiet,
            PrintStream log) throws Exception {
        if (heldOut < 1) {
            throw new IllegalArgumentException("--held-out must be >= 1, got " + heldOut);
        }
        return run(folder, json, out, maxDocuments, compact, quiet, log, all -> {
            int n = all.documentCount();
            if (n <= heldOut) {
                throw new IllegalArgumentException("only " + n + " documents: cannot hold out " + heldOut
                        + " and keep any for training");
            }
            return IntStream.range(n - heldOut, n).toArray();
        });
    }

    /** Chooses the held-out documents of a corpus. */
    @FunctionalInterface
    interface HeldOutChoice {
        /**
         * @param all the whole tokenized corpus
         * @return the held-out document indices, ascending, at least one and fewer than all
         */
        int[] choose(TokenCorpus all);
    }

    /**
     * Runs the step with any choice of held-out documents; the compaction (if any) is fitted on the
     * other documents.
     *
     * @return the files written
     */
    static Outputs run(Path folder, Path json, Path out, int maxDocuments, int compact, boolean quiet,
            PrintStream log, HeldOutChoice choice) throws Exception {
        Files.createDirectories(out);
        Outputs o = Outputs.in(out);
        Path source = folder;
        List<Path> docs = CorpusTokenizer.listDocuments(folder);
        if (docs.size() > maxDocuments) {
            // Tokenize only the most recent documents: copy-free, through a temporary folder of links.
            source = Files.createTempDirectory(out, ".subset");
            for (Path p : docs.subList(docs.size() - maxDocuments, docs.size())) {
                Files.createSymbolicLink(source.resolve(p.getFileName()), p.toAbsolutePath());
            }
        }
        Path raw = compact > 0 ? out.resolve("all-original.tok") : o.all();
        try (Tokenizer tok = Tokenizers.open(json)) {
            CorpusTokenizer.Builder b = CorpusTokenizer.builder().setTokenizer(tok);
            if (quiet) {
                b.optProgress(dev.scone.fgram.corpus.ProgressListener.NONE);
            }
            CorpusTokenizer.Result r = b.build().tokenize(source, raw);
            log.printf("tokenized %d documents with %s: %,d tokens in %.1f s%n", r.documentCount(), tok.name(),
                    r.tokenCount(), r.elapsed().toMillis() / 1e3);
        } finally {
            if (!source.equals(folder)) {
                try (var s = Files.list(source)) {
                    for (Path p : s.toList()) {
                        Files.delete(p);
                    }
                }
                Files.delete(source);
            }
        }
        int[] heldDocs;
        int[] trainDocs;
        try (TokenIdFile all = TokenIdFile.open(raw)) {
            int n = all.documentCount();
            heldDocs = choice.choose(all);
            BitSet held = new BitSet(n);
            for (int d : heldDocs) {
                if (d < 0 || d >= n || held.get(d)) {
                    throw new IllegalArgumentException("held-out document " + d + " is out of [0, " + n
                            + ") or repeated");
                }
                held.set(d);
            }
            if (heldDocs.length == 0 || heldDocs.length >= n) {
                throw new IllegalArgumentException(heldDocs.length + " held-out documents of " + n
                        + ": need at least one on each side");
            }
            trainDocs = IntStream.range(0, n).filter(d -> !held.get(d)).toArray();
            if (compact > 0) {
                Path rawTrain = out.resolve("train-original.tok");
                TokenIdFile.writeSubset(rawTrain, all, trainDocs);
                TokenCompaction c;
                try (TokenIdFile train = TokenIdFile.open(rawTrain)) {
                    c = TokenCompaction.fit(train, compact);
                }
                c.save(o.compaction());
                c.compactTo(all, o.all());
                Files.delete(rawTrain);
                Files.delete(raw);
            }
        }
        try (TokenIdFile all = TokenIdFile.open(o.all())) {
            TokenIdFile.writeSubset(o.train(), all, trainDocs);
            TokenIdFile.writeSubset(o.heldOut(), all, heldDocs);
        }
        try (TokenIdFile train = TokenIdFile.open(o.train()); TokenIdFile held = TokenIdFile.open(o.heldOut())) {
            log.printf("split by document: train %d documents / %,d tokens, held-out %d documents / %,d tokens;"
                    + " token vocabulary %,d%s%n", train.documentCount(), train.tokenCount(), held.documentCount(),
                    held.tokenCount(), train.vocabularySize(), compact > 0 ? " (compacted)" : "");
        }
        return o;
    }
}

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
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Tokenizes a folder of text documents into token-id files: the whole corpus, a training split and
 * a held-out split (the most recent documents, by file name), optionally with the token vocabulary
 * compacted to the training split's most frequent ids.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Tokenize a folder of .txt documents into token-id files (all, train, held-out).")
final class TokenizeCommand implements Callable<Integer> {

    /**
     * The files one run writes into its output folder; {@code transfer} (the most recent documents, held
     * out besides the held-out split) exists only when a run asked for it.
     */
    record Outputs(Path all, Path train, Path heldOut, Path compaction, Path transfer) {
        static Outputs in(Path dir) {
            return new Outputs(dir.resolve("all.tok"), dir.resolve("train.tok"), dir.resolve("heldout.tok"),
                    dir.resolve("compaction.cmp"), dir.resolve("transfer.tok"));
        }
    }

    /**
     * Draws documents at random with a seed (the same draw for the same arguments on any machine).
     *
     * @param n draw among documents 0..n-1
     * @param count how many, in [1, n)
     * @param seed the seed
     * @return the drawn indices, ascending
     */
    static int[] randomDocuments(int n, int count, long seed) {
        if (count < 1 || count >= n) {
            throw new IllegalArgumentException("cannot hold out " + count + " of " + n
                    + " documents and keep any for training");
        }
        int[] perm = IntStream.range(0, n).toArray();
        java.util.Random rnd = new java.util.Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] out = java.util.Arrays.copyOf(perm, count);
        java.util.Arrays.sort(out);
        return out;
    }

    /**
     * Holds out {@code heldOut} documents drawn at random (seeded) among all but the most recent
     * {@code transfer}, and the most recent {@code transfer} as a second evaluation set: training and the
     * compaction see neither.
     *
     * @return the files written, {@code transfer.tok} included
     */
    static Outputs runWithTransfer(Path folder, Path json, Path out, int maxDocuments, int compact, boolean quiet,
            PrintStream log, int heldOut, int transfer, long seed) throws Exception {
        if (heldOut < 1 || transfer < 1) {
            throw new IllegalArgumentException("hold out at least one document at random and one as the transfer set,"
                    + " got " + heldOut + " and " + transfer);
        }
        return run(folder, json, out, maxDocuments, compact, quiet, log, all -> {
            int n = all.documentCount();
            if (n <= heldOut + transfer) {
                throw new IllegalArgumentException("only " + n + " documents: cannot hold out " + heldOut + " at random"
                        + " and the " + transfer + " most recent, and keep any for training");
            }
            int[] random = randomDocuments(n - transfer, heldOut, seed);
            return IntStream.concat(IntStream.of(random), IntStream.range(n - transfer, n)).toArray();
        }, o -> {
            // The held-out file holds the random documents, then the most recent: split it in two.
            Path both = o.heldOut().resolveSibling("heldout-both.tok");
            Files.move(o.heldOut(), both);
            try (TokenIdFile held = TokenIdFile.open(both)) {
                TokenIdFile.writeSubset(o.heldOut(), held, IntStream.range(0, heldOut).toArray());
                TokenIdFile.writeSubset(o.transfer(), held, IntStream.range(heldOut, heldOut + transfer).toArray());
            }
            Files.delete(both);
            try (TokenIdFile h = TokenIdFile.open(o.heldOut()); TokenIdFile t = TokenIdFile.open(o.transfer())) {
                log.printf("held out %d documents at random (seed %d) / %,d tokens, and the %d most recent as the"
                        + " transfer set / %,d tokens%n", h.documentCount(), seed, h.tokenCount(), t.documentCount(),
                        t.tokenCount());
            }
        });
    }

    @Option(names = "--corpus", description = "Folder of .txt documents (default: <data>/sotu).")
    Path corpus;

    @Option(names = "--tokenizer", description = "A Hugging Face tokenizer.json (default: <data>/gpt2/tokenizer.json).")
    Path tokenizerJson;

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("out", "tokens");

    @Option(names = "--held-out", description = "Hold out this many documents, the last by file name (default: ${DEFAULT-VALUE}).")
    int heldOut = 20;

    @Mixin
    SharedOptions.CorpusSelection selection = new SharedOptions.CorpusSelection(0);

    @Mixin
    SharedOptions.Quiet quiet = new SharedOptions.Quiet();

    @Override
    public Integer call() throws Exception {
        Path data = CliSupport.dataDir();
        Path folder = corpus != null ? corpus : data.resolve("sotu");
        Path json = tokenizerJson != null ? tokenizerJson : data.resolve("gpt2").resolve("tokenizer.json");
        CliSupport.requireFolder(folder, "--corpus");
        CliSupport.requireFile(json, "--tokenizer");
        run(folder, json, out, heldOut, selection.maxDocuments, selection.compact, quiet.quiet, System.out);
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
        }, o -> { });
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

    /** A last step on the outputs before they are published (they are still in the hidden folder). */
    @FunctionalInterface
    interface Finish {
        /**
         * @param staged the outputs in the hidden folder
         * @throws Exception on failure: nothing is published
         */
        void finish(Outputs staged) throws Exception;
    }

    /** The names a tokenize output folder holds: a folder with anything else is not replaced. */
    static final java.util.Set<String> OUTPUT_NAMES = java.util.Set.of("all.tok", "train.tok", "heldout.tok",
            "transfer.tok", "compaction.cmp");

    /**
     * Runs the step with any choice of held-out documents; the compaction (if any) is fitted on the
     * other documents. Every file is written into a hidden folder beside {@code out}, which then
     * replaces {@code out} as one set: a killed run leaves the previous outputs or none, never a
     * mix, and the next run removes what it left.
     *
     * @return the files written
     */
    static Outputs run(Path folder, Path json, Path out, int maxDocuments, int compact, boolean quiet,
            PrintStream log, HeldOutChoice choice, Finish finish) throws Exception {
        if (compact < 0) {
            throw new IllegalArgumentException("--compact must be >= 0 (0 = no compaction), got " + compact);
        }
        if (maxDocuments < 1) {
            throw new IllegalArgumentException("--max-documents must be >= 1, got " + maxDocuments);
        }
        List<Path> docs = CorpusTokenizer.listDocuments(folder);
        if (Files.isDirectory(out) && !isTokenizeOutput(out)) {
            throw new java.io.IOException(out + ": holds other files than a tokenize output ("
                    + String.join(", ", new java.util.TreeSet<>(OUTPUT_NAMES)) + "): not replacing it");
        }
        Path stage = dev.scone.fgram.io.Temporaries.createFolder(out);
        boolean published = false;
        try {
            Outputs staged = produce(folder, docs, json, stage, maxDocuments, compact, quiet, log, choice);
            finish.finish(staged);
            dev.scone.fgram.io.Temporaries.publishFolder(stage, out, TokenizeCommand::isTokenizeOutput,
                    "a tokenize output");
            published = true;
        } finally {
            if (!published) {
                dev.scone.fgram.io.Temporaries.deleteTree(stage);
            }
        }
        return Outputs.in(out);
    }

    /** Whether a folder holds nothing but tokenize outputs (hidden entries aside). */
    static boolean isTokenizeOutput(Path dir) {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).allMatch(n -> n.startsWith(".") || OUTPUT_NAMES.contains(n));
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** Writes every output into {@code out} (the hidden folder). */
    private static Outputs produce(Path folder, List<Path> docs, Path json, Path out, int maxDocuments, int compact,
            boolean quiet, PrintStream log, HeldOutChoice choice) throws Exception {
        Outputs o = Outputs.in(out);
        Path source = folder;
        if (docs.size() > maxDocuments) {
            // Tokenize only the most recent documents: copy-free, through a temporary folder of links.
            source = Files.createTempDirectory(out, ".subset");
            for (Path p : docs.subList(docs.size() - maxDocuments, docs.size())) {
                Files.createSymbolicLink(source.resolve(p.getFileName()), p.toAbsolutePath());
            }
        }
        Path raw = compact > 0 ? out.resolve("all-original.tok") : o.all();
        try (Tokenizer tok = Tokenizers.open(json)) {
            CorpusTokenizer.Builder b = CorpusTokenizer.builder().setTokenizer(tok)
                    .optOrigin(TokenIdFile.Origin.ofTokenizer(json));
            b.optProgress(SharedOptions.Quiet.progress(quiet, "docs", null));
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

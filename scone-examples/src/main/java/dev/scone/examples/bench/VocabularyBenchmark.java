package dev.scone.examples.bench;

import dev.scone.fgram.match.LevelwiseMatcher;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.fgram.vocab.MappedFgramVocabulary;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The f-gram vocabulary at scale: writes a synthetic vocabulary of {@code --fgrams} f-grams as a
 * stream ({@link FgramVocabularyFile#newWriter}), then measures what reading it costs: opening it
 * memory-mapped, verifying it in one pass, reads by id and by range, reading it whole onto the
 * heap, reading a range onto the heap, and building the matcher from the mapped file. Prints
 * the file's size and the heap used after each step (after a full collection).
 *
 * <p>The vocabulary is closed under prefixes and suffixes, as one counted by Algorithm 3 is: its
 * 2-grams are the pairs (x, succ(x, i)) for every token x and {@code i < d}, and every longer
 * f-gram extends its prefix by the successor {@code succ(last, 0)} of its last token, so that its
 * suffix is an f-gram too; the lengths 2..K hold about S / (K - 1) f-grams each (the longest fewer).
 */
@Command(name = "vocabulary-benchmark", mixinStandardHelpOptions = true,
        description = "Writes, opens, verifies and reads an f-gram vocabulary file at scale.")
public final class VocabularyBenchmark implements Callable<Integer> {

    @Option(names = "--fgrams", description = "F-grams S (default: ${DEFAULT-VALUE}).")
    int fgrams = 10_000_000;

    @Option(names = "--vocab", description = "Token vocabulary size (default: ${DEFAULT-VALUE}).")
    int vocab = 50_257;

    @Option(names = "--max-n", description = "Longest f-gram length K (default: ${DEFAULT-VALUE}).")
    int maxN = 5;

    @Option(names = "--work", description = "Folder for the vocabulary file (default: ${DEFAULT-VALUE}).")
    Path work = Path.of("out/bench-vocabulary");

    @Option(names = "--reads", description = "Random reads by id to time (default: ${DEFAULT-VALUE}).")
    int reads = 1_000_000;

    @Option(names = "--heap-read", negatable = true, description = "Also read the whole file onto the heap (default: true).")
    boolean heapRead = true;

    @Option(names = "--matcher", negatable = true, description = "Also build the matcher from the mapped file (default: true).")
    boolean matcher = true;

    @Option(names = "--parts", negatable = true, description = "Also write the file in parts: blocks encoded apart,"
            + " joined by an assembler, as a distributed writer does (default: true).")
    boolean parts = true;

    @Option(names = "--keep", description = "Keep the vocabulary file afterwards.")
    boolean keep;

    @Option(names = "--seed", description = "Random seed of the reads (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    /**
     * Writes the same vocabulary as a distributed writer does: every block encoded apart
     * ({@link FgramVocabularyFile#newBlock}), then joined in order by one
     * {@link FgramVocabularyFile.Assembler} (checksums and records checked, the fingerprint
     * computed, the bytes written); prints the time of each, one thread each, and checks the file
     * is the one written as a stream.
     */
    private void writeInParts(Synthetic gen, Path streamed) throws java.io.IOException {
        long t0 = System.nanoTime();
        java.util.List<FgramVocabularyFile.EncodedBlock> blocks = new java.util.ArrayList<>();
        int[] g = new int[maxN];
        for (int first = 0; first < fgrams; first += FgramVocabularyFile.BLOCK_FGRAMS) {
            FgramVocabularyFile.BlockBuilder b = FgramVocabularyFile.newBlock(vocab, maxN, fgrams,
                    first / FgramVocabularyFile.BLOCK_FGRAMS);
            for (int id = first; id < Math.min(fgrams, first + FgramVocabularyFile.BLOCK_FGRAMS); id++) {
                int len = gen.fgram(id, g);
                b.add(g, 0, len, fgrams - id);
            }
            blocks.add(b.encode());
        }
        double encodeSecs = secs(t0);
        int[] tokens = blocks.stream().mapToInt(FgramVocabularyFile.EncodedBlock::tokens).toArray();
        Path assembled = work.resolve("fgrams-" + fgrams + "-parts.bin");
        t0 = System.nanoTime();
        try (java.io.OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(assembled), 1 << 20)) {
            FgramVocabularyFile.Assembler a = FgramVocabularyFile.newAssembler(out, assembled, vocab, maxN, fgrams, null,
                    tokens);
            for (FgramVocabularyFile.EncodedBlock b : blocks) {
                a.append(b);
            }
            a.complete();
        }
        double assembleSecs = secs(t0);
        long bytes = Files.size(assembled);
        boolean same = Files.mismatch(streamed, assembled) == -1;
        Files.delete(assembled);
        System.out.printf("write in parts: %,d blocks encoded apart in %.1f s (%,.0f f-grams/s, one thread); joined by"
                + " one assembler in %.1f s (%,.0f f-grams/s, %.0f MB/s: checksums, records, fingerprint, bytes out);"
                + " the streamed file byte for byte: %s%n", blocks.size(), encodeSecs, fgrams / encodeSecs,
                assembleSecs, fgrams / assembleSecs, bytes / 1e6 / assembleSecs, same);
        if (!same) {
            throw new IllegalStateException("the file written in parts differs from the streamed one");
        }
    }

    /**
     * Runs the benchmark and exits with its status.
     *
     * @param args command-line arguments (see {@code --help})
     */
    public static void main(String[] args) {
        System.exit(runExample(args));
    }

    /**
     * Runs the benchmark without exiting.
     *
     * @param args command-line arguments (see {@code --help})
     * @return the exit status
     */
    public static int runExample(String[] args) {
        return new CommandLine(new VocabularyBenchmark()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        if (fgrams < 1 || vocab < 2 || maxN < 2 || reads < 0) {
            throw new CommandLine.ParameterException(new CommandLine(this), "an option is out of range");
        }
        Synthetic gen = new Synthetic(vocab, maxN, fgrams);
        System.out.printf("vocabulary benchmark: S=%,d K=%d V=%,d (successors per token: %d; %s), %d processors, max heap %,d MiB%n",
                fgrams, maxN, vocab, gen.degree, gen.describeLengths(), Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20);
        Files.createDirectories(work);
        Path file = work.resolve("fgrams-" + fgrams + ".bin");
        long heap0 = heapUsed();

        long t0 = System.nanoTime();
        String fingerprint;
        try (FgramVocabularyFile.Writer w = FgramVocabularyFile.newWriter(file, vocab, maxN, fgrams, null)) {
            int[] g = new int[maxN];
            for (int id = 0; id < fgrams; id++) {
                int len = gen.fgram(id, g);
                w.append(g, 0, len, fgrams - id);
            }
            fingerprint = w.complete();
        }
        double writeSecs = secs(t0);
        long bytes = Files.size(file);
        System.out.printf("write (streaming): %.1f s, %,.0f f-grams/s, %.0f MB/s; file %,d bytes (%.2f GiB),"
                + " %.2f bytes per f-gram; fingerprint %s%n", writeSecs, fgrams / writeSecs, bytes / 1e6 / writeSecs,
                bytes, bytes / (double) (1L << 30), bytes / (double) fgrams, fingerprint);

        if (parts) {
            writeInParts(gen, file);
        }

        t0 = System.nanoTime();
        try (MappedFgramVocabulary mapped = FgramVocabularyFile.open(file)) {
            double openMs = secs(t0) * 1e3;
            FgramVocabulary v = mapped.vocabulary();
            System.out.printf("open (mapped): %.1f ms; heap used %s%n", openMs, heapSince(heap0));

            t0 = System.nanoTime();
            mapped.verify();
            double verifySecs = secs(t0);
            System.out.printf("verify (one pass: every block's checksum and records, the fingerprint): %.1f s,"
                    + " %.0f MB/s; heap used %s%n", verifySecs, bytes / 1e6 / verifySecs, heapSince(heap0));

            SplittableRandom r = new SplittableRandom(seed);
            int[] g = new int[maxN];
            long check = 0;
            for (int pass = 0; pass < 2; pass++) { // the first pass warms the JIT and the page cache
                t0 = System.nanoTime();
                for (int k = 0; k < reads; k++) {
                    int id = r.nextInt(fgrams);
                    check += v.copyTokens(id, g, 0) + v.count(id);
                }
                if (pass == 1 && reads > 0) {
                    System.out.printf("random reads by id (copyTokens + count, mapped, page cache warm): %.0f ns per"
                            + " f-gram over %,d reads%n", secs(t0) * 1e9 / reads, reads);
                }
            }
            for (int[] range : new int[][] {{0, fgrams}, {fgrams - fgrams / 16, fgrams}}) {
                t0 = System.nanoTime();
                FgramVocabulary.Cursor c = v.cursor(range[0], range[1]);
                while (c.next()) {
                    check += c.length() + c.tokens()[0];
                }
                double s = secs(t0);
                System.out.printf("cursor over ids [%,d, %,d) (mapped): %.2f s, %,.0f f-grams/s%n", range[0], range[1],
                        s, (range[1] - range[0]) / s);
            }

            if (matcher) {
                long before = heapUsed();
                t0 = System.nanoTime();
                LevelwiseMatcher m = LevelwiseMatcher.of(v);
                double buildSecs = secs(t0);
                long after = heapUsed();
                System.out.printf("LevelwiseMatcher from the mapped file: %.1f s; %s; memory %,d bytes (%.1f MiB,"
                        + " %.1f bytes per f-gram, %.1f per node); construction peak %,d bytes (%.2fx the matcher);"
                        + " heap after build %+,.1f MiB%n", buildSecs, m, m.memoryBytes(), m.memoryBytes() / 1048576.0,
                        m.memoryBytes() / (double) m.size(), m.memoryBytes() / (double) m.nodeCount(),
                        m.constructionPeakBytes(), m.constructionPeakBytes() / (double) m.memoryBytes(),
                        (after - before) / 1048576.0);
                check += m.match(gen.text(v))[0];
            }
            System.out.printf("(checksum of what was read: %d)%n", check);
        }
        System.out.printf("closed; heap used %s%n", heapSince(heap0));

        int from = fgrams - fgrams / 16;
        t0 = System.nanoTime();
        FgramVocabulary range = FgramVocabularyFile.readRange(file, from, fgrams);
        double rangeSecs = secs(t0);
        String rangeHeap = heapSince(heap0);
        System.out.printf("readRange [%,d, %,d) onto the heap (its blocks read and checked): %.2f s; heap used %s"
                + " while it is held (%s)%n", from, fgrams, rangeSecs, rangeHeap, range);

        if (heapRead) {
            t0 = System.nanoTime();
            FgramVocabulary whole = FgramVocabularyFile.read(file);
            double readSecs = secs(t0);
            System.out.printf("read whole onto the heap (checked, fingerprint recomputed, exact index built): %.1f s,"
                    + " %.0f MB/s; heap used %s%n", readSecs, bytes / 1e6 / readSecs, heapSince(heap0));
            if (!whole.fingerprint().equals(fingerprint)) {
                throw new IllegalStateException("the vocabulary read differs from the one written");
            }
        }
        if (!keep) {
            Files.delete(file);
        }
        return 0;
    }

    /** The synthetic closed vocabulary: f-gram by id, without holding it. */
    static final class Synthetic {

        final int vocab;
        final int maxN;
        final int size;
        final int degree;
        final long perLength;

        Synthetic(int vocab, int maxN, int size) {
            this.vocab = vocab;
            this.maxN = maxN;
            this.size = size;
            // Each length holds vocab * degree f-grams; lengths 2..K together at least S.
            long d = (size + (long) vocab * (maxN - 1) - 1) / ((long) vocab * (maxN - 1));
            if (d > vocab) {
                throw new IllegalArgumentException(size + " f-grams need more than " + vocab + " successors per token");
            }
            this.degree = (int) Math.max(1, d);
            this.perLength = (long) vocab * degree;
        }

        String describeLengths() {
            StringBuilder sb = new StringBuilder("f-grams per length");
            long left = size;
            for (int n = 2; n <= maxN; n++) {
                long here = Math.min(left, perLength);
                sb.append(n == 2 ? " " : ", ").append(String.format("%,d", here));
                left -= here;
            }
            return sb.toString();
        }

        /** Writes f-gram {@code id}'s tokens into {@code g}; returns its length. */
        int fgram(int id, int[] g) {
            int len = (int) (2 + id / perLength);
            long within = id % perLength;
            int x = (int) (within / degree);
            g[0] = x;
            g[1] = successor(x, (int) (within % degree));
            for (int k = 2; k < len; k++) {
                g[k] = successor(g[k - 1], 0);
            }
            return len;
        }

        int successor(int token, int i) {
            long h = token * 0x9E3779B97F4A7C15L;
            h ^= h >>> 29;
            h *= 0xBF58476D1CE4E5B9L;
            return (int) (((h >>> 33) + i) % vocab);
        }

        /** A short text built from f-grams (a check that the matcher answers). */
        int[] text(FgramVocabulary v) {
            int[] out = new int[4 * maxN];
            SplittableRandom r = new SplittableRandom(3);
            int p = 0;
            while (p + maxN <= out.length) {
                p += v.copyTokens(r.nextInt(size), out, p);
            }
            return out;
        }
    }

    private static long heapUsed() {
        MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return mx.getHeapMemoryUsage().getUsed();
    }

    private static String heapSince(long base) {
        return String.format("%+,.1f MiB", (heapUsed() - base) / 1048576.0);
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}

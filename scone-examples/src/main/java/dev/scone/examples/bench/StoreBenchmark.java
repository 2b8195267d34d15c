package dev.scone.examples.bench;

import dev.scone.fgram.io.Temporaries;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStoreWriter;
import dev.scone.store.StoreManifest;
import dev.scone.store.VectorDtype;
import it.unimi.dsi.fastutil.longs.LongOpenHashSet;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Measures the f-gram store for several (K, V) configurations in one run: build rate, bytes on
 * disk against the raw payload, open time, resident memory, and per-token amortised batch-lookup
 * latency at several batch sizes (windows of T positions, about half of them ending an f-gram),
 * warm and (with {@code --cold}) with the store's pages dropped from the page cache, against the
 * physical-limit reference: a flat memory-mapped vector file with an in-heap open-addressing
 * index over the same keys (two longs per key), no checksums, no filter. Single-threaded
 * lookups. The entry count is a parameter: the same command measures 10^6 f-grams in a few
 * minutes and 10^8 in an hour.
 */
@Command(name = "store-bench", mixinStandardHelpOptions = true,
        description = "Benchmark the f-gram store against a flat mmap file + in-heap index.")
public final class StoreBenchmark implements Callable<Integer> {

    @Option(names = "--entries", description = "F-grams per store (default: ${DEFAULT-VALUE}).")
    long entries = 1_000_000;

    @Option(names = "--dim", description = "Embedding size d (default: ${DEFAULT-VALUE}).")
    int dim = 256;

    @Option(names = "--length", description = "Window length T (default: ${DEFAULT-VALUE}).")
    int length = 64;

    @Option(names = "--configs", split = ",", description = "K:V pairs, the longest f-gram length and the token"
            + " vocabulary size (default: 4:32000,5:8192,5:50257).")
    List<String> configs = List.of("4:32000", "5:8192", "5:50257");

    @Option(names = "--dtypes", split = ",", description = "Dtypes (default: FLOAT32,BFLOAT16,INT8).")
    List<VectorDtype> dtypes = List.of(VectorDtype.FLOAT32, VectorDtype.BFLOAT16, VectorDtype.INT8);

    @Option(names = "--batches", split = ",", description = "Batch sizes B (default: 1,16,256).")
    List<Integer> batches = List.of(1, 16, 256);

    @Option(names = "--passes", description = "Timed warm passes over the window pool; the median is reported"
            + " (default: ${DEFAULT-VALUE}).")
    int passes = 5;

    @Option(names = "--no-reference", negatable = true, description = "Time the reference too (default: on; it"
            + " needs about 20 bytes of heap per f-gram and a vector file under 2 GiB).")
    boolean reference = true;

    @Option(names = "--cold", description = "Also time passes with the store's pages dropped from the page cache"
            + " (writes 1 to /proc/sys/vm/drop_caches, which needs root).")
    boolean cold;

    @Option(names = "--cold-positions", description = "Positions timed per cold pass (default: ${DEFAULT-VALUE}).")
    int coldPositions = 16_384;

    @Option(names = "--no-verify", negatable = true, description = "Time verify() of the whole store (default: on).")
    boolean verify = true;

    @Option(names = "--dir", description = "Working folder (default: a new temporary folder, deleted afterwards).")
    Path dir;

    @Option(names = "--keep", description = "Keep the stores in --dir, and reuse a store found there instead of"
            + " building it again (its build figures are then not printed).")
    boolean keep;

    @Option(names = "--seed", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    private final List<String> table = new ArrayList<>();

    /**
     * Runs the benchmark and exits with its status.
     *
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
        System.setProperty("chronicle.analytics.disable", "true");
        return new CommandLine(new StoreBenchmark()).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        if (keep && dir == null) {
            throw new IllegalArgumentException("--keep needs --dir");
        }
        boolean tempDir = dir == null;
        Path work = tempDir ? Files.createTempDirectory("store-bench") : Files.createDirectories(dir);
        Path dropCaches = Path.of("/proc/sys/vm/drop_caches");
        boolean canDrop = Files.isWritable(dropCaches);
        System.out.printf(Locale.ROOT, "store benchmark: S=%,d f-grams, d=%d, configurations %s, dtypes %s, T=%d,"
                + " batches %s, %d passes, %d cores, JVM %s, max heap %,d MiB%n", entries, dim, configs, dtypes,
                length, batches, passes, Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                Runtime.getRuntime().maxMemory() >> 20);
        System.out.println("page cache: " + (cold ? canDrop ? "cold passes after writing 1 to " + dropCaches
                : "cannot write " + dropCaches + ": warm figures only" : "warm figures only (use --cold)"));
        table.add("| K | V | key bits | dtype | build f-grams/s | disk / payload | open s | B | reference ns/token"
                + " | store ns/token (ratio) | cold ns/token | note |");
        table.add("|---|---|---|---|---|---|---|---|---|---|---|---|");
        try {
            for (String c : configs) {
                String[] kv = c.split(":");
                Config config = new Config(Integer.parseInt(kv[0]), Integer.parseInt(kv[1]), length, entries, seed);
                for (VectorDtype dtype : dtypes) {
                    runOne(work.resolve("k" + config.maxN + "-v" + config.tokens + "-" + dtype.name()
                            .toLowerCase(Locale.ROOT)), config, dtype, cold && canDrop);
                }
            }
        } finally {
            if (tempDir) {
                Temporaries.deleteTree(work);
            }
        }
        System.out.println();
        table.forEach(System.out::println);
        return 0;
    }

    private void runOne(Path storeDir, Config c, VectorDtype dtype, boolean coldPasses) throws Exception {
        System.out.println();
        System.out.printf(Locale.ROOT, "== K=%d, V=%,d (%d bits per token, keys of %d bits), %s%n", c.maxN, c.tokens,
                c.bits, c.bits * c.maxN, dtype);
        float[] block = new float[4096 * dim];
        SplittableRandom r = new SplittableRandom(seed + 1);
        for (int i = 0; i < block.length; i++) {
            block[i] = (float) (r.nextDouble() * 2 - 1);
        }
        long payload = entries * dim * dtype.elementBytes();
        String build = "reused";
        if (!(keep && Files.exists(storeDir.resolve(StoreManifest.FILE_NAME)))) {
            long t0 = System.nanoTime();
            int[] tok = new int[c.maxN];
            try (FgramStoreWriter w = FgramStoreWriter.builder().setPath(storeDir).setEmbeddingSize(dim).optDtype(dtype)
                    .optMaxN(c.maxN).optTokenVocabularySize(c.tokens).optExpectedEntries(entries)
                    .optTokenVocabularyFingerprint("bench-" + c.tokens).optModelFingerprint("bench-" + seed).build()) {
                Config.Cursor fgrams = c.cursor();
                for (long i = 0; i < entries; i++) {
                    int n = fgrams.next(tok);
                    w.add(tok, 0, n, block, (int) (i & 4095) * dim);
                    if ((i + 1) % 10_000_000 == 0) {
                        System.out.printf(Locale.ROOT, "  %,d f-grams written, %,.0f f-grams/s%n", i + 1,
                                (i + 1) / ((System.nanoTime() - t0) / 1e9));
                    }
                }
                w.commit();
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            build = String.format(Locale.ROOT, "%,.0f", entries / secs);
            System.out.printf(Locale.ROOT, "build: %,.0f f-grams/s (%.1f s, committed and forced to disk)%n",
                    entries / secs, secs);
        }
        long[] disk = diskBytes(storeDir);
        System.out.printf(Locale.ROOT, "on disk: %,d bytes allocated (%,d apparent) for a %,d-byte payload: %.4fx"
                + " (%.4fx apparent); per f-gram %.1f bytes besides its vector%n", disk[0], disk[1], payload,
                disk[0] / (double) payload, disk[1] / (double) payload, (disk[0] - payload) / (double) entries);
        try (Stream<Path> s = Files.list(storeDir)) {
            for (Path f : (Iterable<Path>) s.sorted()::iterator) {
                long[] b = diskBytes(f);
                System.out.printf(Locale.ROOT, "  %-12s %,16d bytes allocated, %,16d apparent%n", f.getFileName(), b[0],
                        b[1]);
            }
        }
        String diskRatio = String.format(Locale.ROOT, "%.4fx", disk[0] / (double) payload);

        String[] warmRefs = new String[batches.size()];
        String[] warmStores = new String[batches.size()];
        String[] notes = new String[batches.size()];
        double[] coldNs = new double[batches.size()];
        Arrays.fill(coldNs, Double.NaN);
        double open;
        String openCold = "-";
        try {
            open = warm(storeDir, c, dtype, block, warmRefs, warmStores, notes);
            if (coldPasses) {
                // the warm phase's mappings released first: the kernel does not drop pages that a process maps
                unmapClosedStores();
                openCold = String.format(Locale.ROOT, "%.2f", coldOpen(storeDir));
                for (int k = 0; k < batches.size(); k++) {
                    unmapClosedStores();
                    coldNs[k] = cold(storeDir, c, batches.get(k));
                }
                unmapClosedStores();
            }
        } finally {
            if (!keep) {
                Temporaries.deleteTree(storeDir);
            }
        }
        for (int k = 0; k < batches.size(); k++) {
            String opened = String.format(Locale.ROOT, "%.2f", open) + (coldPasses ? " / " + openCold : "");
            table.add(String.format(Locale.ROOT, "| %d | %,d | %d | %s | %s | %s | %s | %d | %s | %s | %s | %s |",
                    c.maxN, c.tokens, c.bits * c.maxN, dtype.name().toLowerCase(Locale.ROOT), build, diskRatio, opened,
                    batches.get(k), warmRefs[k], warmStores[k],
                    Double.isNaN(coldNs[k]) ? "-" : String.format(Locale.ROOT, "%.0f", coldNs[k]), notes[k]));
        }
    }

    /**
     * Times the warm passes against the reference, in a frame of its own, so that nothing of the
     * store it opened stays reachable once it returns.
     *
     * @return the open time in seconds
     */
    private double warm(Path storeDir, Config c, VectorDtype dtype, float[] block, String[] warmRefs,
            String[] warmStores, String[] notes) throws Exception {
        Reference ref = null;
        Path refFile = storeDir.resolveSibling(storeDir.getFileName() + ".ref");
        if (reference && entries * dtype.vectorBytes(dim) <= Integer.MAX_VALUE) {
            ref = Reference.build(refFile, c, dtype, dim, block);
        } else if (reference) {
            System.out.println("reference: skipped (its flat vector file would exceed 2 GiB)");
        }
        long o0 = System.nanoTime();
        FgramStore store = FgramStore.open(storeDir);
        double open = (System.nanoTime() - o0) / 1e9;
        try {
            System.out.printf(Locale.ROOT, "open (index checksum verified, warm): %.2f s%n", open);
            List<BatchCall> calls = new ArrayList<>();
            if (ref != null) {
                Reference rf = ref;
                calls.add((out, m, from, bb) -> rf.lookupBatch(c.slice(from, bb), bb, out, m));
            }
            // every call gets its own copy of the window, as an inference loop would hand it a fresh batch
            calls.add((out, m, from, bb) -> store.lookupBatch(c.slice(from, bb), bb, length, out, m));
            for (int k = 0; k < batches.size(); k++) {
                int b = batches.get(k);
                // interleaved passes (reference, store, reference, ...): load changes on a shared machine hit
                // both alike, and each pass gives a paired ratio
                double[][] warm = timeInterleaved(calls, b, c);
                double[] w = warm[calls.size() - 1];
                warmRefs[k] = ref != null ? String.format(Locale.ROOT, "%.0f", median(warm[0])) : "-";
                warmStores[k] = String.format(Locale.ROOT, "%.0f", median(w))
                        + (ref != null ? String.format(Locale.ROOT, " (%.2fx)", medianRatio(w, warm[0])) : "");
                notes[k] = "passes " + (ref != null ? spread(warm[0]) + " / " : "") + spread(w);
                System.out.printf(Locale.ROOT, "warm B=%d: reference %s ns/token; store %s; %s%n", b, warmRefs[k],
                        warmStores[k], notes[k]);
            }
            System.out.printf(Locale.ROOT, "resident memory: process VmRSS %s; store pages in the page cache %s%n",
                    vmRss(), resident(storeDir));
            if (verify) {
                long v0 = System.nanoTime();
                store.verify();
                double vs = (System.nanoTime() - v0) / 1e9;
                System.out.printf(Locale.ROOT, "verify() of every entry (warm): %.2f s, %.2f GB/s of vector file%n", vs,
                        Files.size(storeDir.resolve("vectors.bin")) / vs / 1e9);
            }
        } finally {
            store.close();
            if (ref != null) {
                ref.close();
            }
            Files.deleteIfExists(refFile);
        }
        return open;
    }

    /** @return the seconds a store takes to open (index checksum verified) with its pages dropped */
    private static double coldOpen(Path storeDir) throws Exception {
        dropCaches();
        System.out.println("cold open: store pages resident before " + resident(storeDir));
        long c0 = System.nanoTime();
        try (FgramStore fresh = FgramStore.open(storeDir)) {
            return (System.nanoTime() - c0) / 1e9;
        }
    }

    /**
     * Times one cold pass: a fresh store (its index not read through by a checksum), the page
     * cache dropped, then lookups of windows spread over the pool.
     *
     * @return ns per token
     */
    private double cold(Path storeDir, Config c, int b) throws Exception {
        try (FgramStore fresh = FgramStore.open(storeDir,
                FgramStore.OpenOptions.defaults().withVerifyIndexChecksum(false))) {
            dropCaches();
            String res = resident(storeDir);
            double ns = timeCold((out, m, from, bb) -> fresh.lookupBatch(c.slice(from, bb), bb, length, out, m), b, c);
            System.out.printf(Locale.ROOT, "cold B=%d: %.0f ns/token over %,d positions (store pages resident before"
                    + " the pass: %s, after: %s; process VmRSS %s)%n", b, ns, coldCalls(b, c) * (long) b * length, res,
                    resident(storeDir), vmRss());
            return ns;
        }
    }

    /** One batch lookup of B rows from the pool starting at position {@code from}. */
    interface BatchCall {
        void run(float[] out, int[] matched, int from, int batch);
    }

    /** @return per call, the ns per token of each timed pass */
    private double[][] timeInterleaved(List<BatchCall> callsToTime, int batch, Config c) {
        int perCall = batch * length;
        float[] out = new float[perCall * dim];
        int[] matched = new int[perCall];
        int calls = c.poolPositions / perCall;
        double[][] times = new double[callsToTime.size()][passes];
        for (int pass = -1; pass < passes; pass++) { // pass -1 warms the JIT and the page cache
            for (int k = 0; k < callsToTime.size(); k++) {
                BatchCall call = callsToTime.get(k);
                long t0 = System.nanoTime();
                for (int i = 0; i < calls; i++) {
                    call.run(out, matched, i * perCall, batch);
                }
                long dt = System.nanoTime() - t0;
                if (pass >= 0) {
                    times[k][pass] = dt / (double) (calls * perCall);
                }
            }
        }
        return times;
    }

    private int coldCalls(int batch, Config c) {
        return Math.max(1, Math.min(c.poolPositions, coldPositions) / (batch * length));
    }

    private double timeCold(BatchCall call, int batch, Config c) {
        int perCall = batch * length;
        float[] out = new float[perCall * dim];
        int[] matched = new int[perCall];
        int calls = coldCalls(batch, c);
        // windows spread over the whole pool, so that the pass touches pages all over the store
        int slots = c.poolPositions / perCall;
        int step = Math.max(1, slots / calls);
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            call.run(out, matched, (int) ((long) i * step % slots) * perCall, batch);
        }
        return (System.nanoTime() - t0) / (double) (calls * perCall);
    }

    private static void dropCaches() throws IOException, InterruptedException {
        new ProcessBuilder("sync").inheritIO().start().waitFor();
        Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "1");
    }

    /** Lets the garbage collector unmap the mappings of closed stores, so that their pages can be dropped. */
    private static void unmapClosedStores() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
    }

    /** @return the store files' bytes in the page cache, as {@code fincore} reports them, or why not */
    private static String resident(Path storeDir) {
        try (Stream<Path> s = Files.list(storeDir)) {
            List<String> cmd = new ArrayList<>(List.of("fincore", "-b", "-n", "-o", "RES"));
            s.filter(Files::isRegularFile).sorted().forEach(p -> cmd.add(p.toString()));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.waitFor() != 0) {
                return "unknown (fincore failed)";
            }
            long total = 0;
            for (String line : out.split("\\s+")) {
                total += Long.parseLong(line.trim());
            }
            return String.format(Locale.ROOT, "%,d bytes", total);
        } catch (IOException | NumberFormatException e) {
            return "unknown (no fincore)";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    private static String vmRss() {
        Long bytes = ServingMemoryProbe.procStatus().get("VmRSS");
        return bytes == null ? "unknown" : bytes / 1024 + " kB";
    }

    private static double median(double[] xs) {
        double[] c = xs.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    private static double medianRatio(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        return median(r);
    }

    private static String spread(double[] xs) {
        double[] c = xs.clone();
        Arrays.sort(c);
        return String.format(Locale.ROOT, "%.0f..%.0f", c[0], c[c.length - 1]);
    }

    /** @return {allocated bytes (du), apparent bytes} of a file or folder */
    private static long[] diskBytes(Path p) throws IOException {
        long apparent = 0;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
                apparent += Files.size(f);
            }
        }
        long allocated = apparent;
        try {
            Process proc = new ProcessBuilder("du", "-s", "-B1", p.toString()).redirectErrorStream(true).start();
            String outText = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (proc.waitFor() == 0) {
                allocated = Long.parseLong(outText.split("\\s+")[0]);
            }
        } catch (IOException | NumberFormatException e) {
            // no du here: report the apparent size
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new long[] {allocated, apparent};
    }

    /**
     * One configuration's f-grams and windows, generated without holding the f-grams: a pool of
     * (rows, T) windows over the lower half of the token vocabulary, in which f-grams are planted
     * (about half the positions end one); then the store's f-grams in row order: the planted ones
     * spread evenly over the rows, the rest drawn from the f-grams whose first token lies in the
     * upper half (so they never repeat a planted one) by a bijection of their index, so that
     * 10^8 of them need no set to be distinct.
     */
    static final class Config {
        final int maxN;
        final int tokens;
        final int bits;
        final int length;
        final long entries;
        final int poolPositions;
        final int[] pool;
        final int[][] planted;
        private final long[] space; // random f-grams available of each length
        private final long[][] mix; // per length and digit: multiplier and offset of the digit's permutation
        private int[] sliceBuf;

        Config(int maxN, int tokens, int length, long entries, long seed) {
            if (maxN < FgramVocabulary.MIN_N || tokens < 4) {
                throw new IllegalArgumentException("bad configuration K=" + maxN + ", V=" + tokens);
            }
            this.maxN = maxN;
            this.tokens = tokens;
            this.bits = 32 - Integer.numberOfLeadingZeros(tokens);
            this.length = length;
            this.entries = entries;
            SplittableRandom r = new SplittableRandom(seed);
            int rows = Math.max(256, Integer.highestOneBit((int) Math.max(1, Math.min(entries, 1 << 19) / length)));
            poolPositions = rows * length;
            pool = new int[poolPositions];
            int low = tokens / 2;
            for (int i = 0; i < poolPositions; i++) {
                pool[i] = r.nextInt(low);
            }
            LongOpenHashSet seen = new LongOpenHashSet();
            List<int[]> grams = new ArrayList<>();
            for (int i = 0; i < poolPositions && grams.size() < entries; i++) {
                int t = i % length;
                if (t == 0 || !r.nextBoolean()) {
                    continue;
                }
                int n = 2 + r.nextInt(Math.min(maxN, t + 1) - 1);
                // two different n-grams may share a hash: one of them is then simply not planted
                if (seen.add(FgramVocabulary.hash(pool, i - n + 1, n))) {
                    grams.add(Arrays.copyOfRange(pool, i - n + 1, i + 1));
                }
            }
            planted = grams.toArray(new int[0][]);
            space = new long[maxN + 1];
            mix = new long[maxN + 1][];
            for (int n = FgramVocabulary.MIN_N; n <= maxN; n++) {
                double s = (double) (tokens - low) * Math.pow(tokens, n - 1);
                space[n] = s >= Long.MAX_VALUE / 2 ? Long.MAX_VALUE / 2 : (long) s;
                mix[n] = new long[2 * n];
                for (int k = 0; k < n; k++) {
                    long modulus = k == 0 ? tokens - low : tokens;
                    long a;
                    do {
                        a = 1 + r.nextLong(modulus - 1);
                    } while (gcd(a, modulus) != 1);
                    mix[n][2 * k] = a;
                    mix[n][2 * k + 1] = r.nextLong(modulus);
                }
            }
            long random = entries - planted.length;
            for (int n = FgramVocabulary.MIN_N; n <= maxN; n++) {
                long wanted = random / (maxN - 1) + 1;
                if (wanted > space[n]) {
                    throw new IllegalArgumentException(entries + " f-grams do not fit K=" + maxN + ", V=" + tokens
                            + ": only " + space[n] + " of length " + n + " can be drawn");
                }
            }
            System.out.printf(Locale.ROOT, "window pool: %,d positions (%,d rows of T=%d); %,d f-grams planted in it,"
                    + " %,d others%n", poolPositions, rows, length, planted.length, entries - planted.length);
        }

        private static long gcd(long a, long b) {
            return b == 0 ? a : gcd(b, a % b);
        }

        /** @return a reader of the store's f-grams in row order */
        Cursor cursor() {
            return new Cursor();
        }

        /** The f-grams in row order. */
        final class Cursor {
            private long row;
            private long random;
            private int nextPlanted;

            /** Writes the next row's f-gram into {@code out} and returns its length. */
            int next(int[] out) {
                long r = row++;
                // planted f-gram k sits at row floor(k * S / P)
                if (nextPlanted < planted.length && r == (long) ((double) nextPlanted * entries / planted.length)) {
                    int[] g = planted[nextPlanted++];
                    System.arraycopy(g, 0, out, 0, g.length);
                    return g.length;
                }
                long j = random++;
                int n = FgramVocabulary.MIN_N + (int) (j % (maxN - 1));
                long index = j / (maxN - 1);
                int low = tokens / 2;
                long[] m = mix[n];
                long d = index % (tokens - low);
                index /= tokens - low;
                out[0] = low + (int) ((m[0] * d + m[1]) % (tokens - low));
                for (int k = 1; k < n; k++) {
                    d = index % tokens;
                    index /= tokens;
                    out[k] = (int) ((m[2 * k] * d + m[2 * k + 1]) % tokens);
                }
                return n;
            }
        }

        /** Copies B rows of the pool into a reused window buffer. */
        int[] slice(int from, int batch) {
            int n = batch * length;
            if (sliceBuf == null || sliceBuf.length != n) {
                sliceBuf = new int[n];
            }
            System.arraycopy(pool, from, sliceBuf, 0, n);
            return sliceBuf;
        }
    }

    /**
     * The physical-limit reference: rows (encoded vectors only) in a flat mmap file, and an
     * in-heap open-addressing table from each f-gram's digits (two longs) to its row, one slot of
     * 32 bytes (high digits, low digits, row) per probe, so that a probe touches one cache line.
     */
    private static final class Reference implements AutoCloseable {
        private static final int STRIDE = 4;
        private final Config c;
        private final VectorDtype dtype;
        private final int d;
        private final int rowBytes;
        private final FileChannel channel;
        private final ByteBuffer map;
        private final FloatBuffer floats;
        private final long[] table; // per slot: hi, lo, row + 1 (0: empty), unused
        private final int mask;

        private Reference(Config c, VectorDtype dtype, int d, FileChannel ch, long[] table) throws IOException {
            this.c = c;
            this.dtype = dtype;
            this.d = d;
            this.rowBytes = dtype.vectorBytes(d);
            this.channel = ch;
            this.map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
            this.floats = map.asFloatBuffer();
            this.table = table;
            this.mask = table.length / STRIDE - 1;
        }

        static Reference build(Path file, Config c, VectorDtype dtype, int d, float[] block) throws IOException {
            int rowBytes = dtype.vectorBytes(d);
            int capacity = Integer.highestOneBit((int) Math.min(1 << 28, c.entries * 2 - 1)) << 1;
            long[] table = new long[capacity * STRIDE];
            ByteBuffer buf = ByteBuffer.allocate(rowBytes * 1024).order(ByteOrder.LITTLE_ENDIAN);
            int[] tok = new int[c.maxN];
            Config.Cursor fgrams = c.cursor();
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                for (int i = 0; i < c.entries; i++) {
                    int n = fgrams.next(tok);
                    long hi = 0;
                    long lo = 0;
                    for (int k = 0; k < n; k++) {
                        hi = (hi << c.bits) | (lo >>> (64 - c.bits));
                        lo = (lo << c.bits) | (tok[k] + 1L);
                    }
                    int slot = slot(hi, lo, capacity - 1);
                    while (table[slot * STRIDE + 2] != 0) {
                        slot = (slot + 1) & (capacity - 1);
                    }
                    table[slot * STRIDE] = hi;
                    table[slot * STRIDE + 1] = lo;
                    table[slot * STRIDE + 2] = i + 1L;
                    dtype.encode(block, (i & 4095) * d, d, buf, buf.position());
                    buf.position(buf.position() + rowBytes);
                    if (!buf.hasRemaining() || i == c.entries - 1) {
                        buf.flip();
                        while (buf.hasRemaining()) {
                            ch.write(buf);
                        }
                        buf.clear();
                    }
                }
            }
            return new Reference(c, dtype, d, FileChannel.open(file, StandardOpenOption.READ), table);
        }

        static int slot(long hi, long lo, int mask) {
            long h = (lo * 0x9E3779B97F4A7C15L) ^ (hi * 0xC2B2AE3D27D4EB4FL);
            h ^= h >>> 29;
            return (int) (h * 0xBF58476D1CE4E5B9L >>> 33) & mask;
        }

        private int find(long hi, long lo) {
            long[] t = table;
            int slot = slot(hi, lo, mask);
            while (true) {
                int at = slot * STRIDE;
                long row = t[at + 2];
                if (row == 0 || t[at] == hi && t[at + 1] == lo) {
                    return (int) row - 1;
                }
                slot = (slot + 1) & mask;
            }
        }

        void lookupBatch(int[] window, int batch, float[] out, int[] matched) {
            int length = c.length;
            int bits = c.bits;
            for (int b = 0; b < batch; b++) {
                int rowStart = b * length;
                for (int t = 0; t < length; t++) {
                    int i = rowStart + t;
                    int o = i * d;
                    int found = 0;
                    for (int n = Math.min(c.maxN, t + 1); n >= 2; n--) {
                        long hi = 0;
                        long lo = 0;
                        for (int k = i - n + 1; k <= i; k++) {
                            hi = (hi << bits) | (lo >>> (64 - bits));
                            lo = (lo << bits) | (window[k] + 1L);
                        }
                        int row = find(hi, lo);
                        if (row >= 0) {
                            int off = row * rowBytes;
                            if (dtype == VectorDtype.FLOAT32) {
                                floats.get(off >>> 2, out, o, d);
                            } else {
                                dtype.decode(map, off, d, out, o);
                            }
                            found = n;
                            break;
                        }
                    }
                    matched[i] = found;
                    if (found == 0) {
                        Arrays.fill(out, o, o + d, 0f);
                    }
                }
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}

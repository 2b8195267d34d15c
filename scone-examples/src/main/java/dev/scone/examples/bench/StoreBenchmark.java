package dev.scone.examples.bench;

import dev.scone.fgram.io.Temporaries;
import dev.scone.store.FgramStore;
import dev.scone.store.FgramStoreWriter;
import dev.scone.store.VectorDtype;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
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
import java.util.zip.CRC32C;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Measures the f-gram store: build rate, bytes on disk against the raw payload, and per-token
 * amortised batch-lookup latency at several batch sizes (windows of T positions, about half of
 * them matching an f-gram), for each dtype and index mode, against the physical-limit reference
 * (a flat memory-mapped vector file with an in-heap fastutil index over the same keys, no
 * checksums, no filter). Single-threaded lookups; figures on a shared machine are rough.
 */
@Command(name = "store-bench", mixinStandardHelpOptions = true,
        description = "Benchmark the f-gram store against a flat mmap file + in-heap index.")
public final class StoreBenchmark implements Callable<Integer> {

    @Option(names = "--entries", description = "F-grams per store (default: ${DEFAULT-VALUE}).")
    int entries = 1_000_000;

    @Option(names = "--dim", description = "Embedding size d (default: ${DEFAULT-VALUE}).")
    int dim = 256;

    @Option(names = "--length", description = "Window length T (default: ${DEFAULT-VALUE}).")
    int length = 64;

    @Option(names = "--tokens", description = "Token vocabulary size (default: ${DEFAULT-VALUE}).")
    int tokens = 32_000;

    @Option(names = "--max-n", description = "Longest f-gram length K (default: ${DEFAULT-VALUE}).")
    int maxN = 4;

    @Option(names = "--dtypes", split = ",", description = "Dtypes (default: FLOAT32,BFLOAT16,INT8).")
    List<VectorDtype> dtypes = List.of(VectorDtype.FLOAT32, VectorDtype.BFLOAT16, VectorDtype.INT8);

    @Option(names = "--batches", split = ",", description = "Batch sizes B (default: 1,16,256).")
    List<Integer> batches = List.of(1, 16, 256);

    @Option(names = "--passes", description = "Timed passes over the window pool; the median is reported (default: ${DEFAULT-VALUE}).")
    int passes = 5;

    @Option(names = "--cold", description = "Also time one pass right after dropping the page cache (needs a writable /proc/sys/vm/drop_caches).")
    boolean cold;

    @Option(names = "--cold-positions", description = "Positions timed per cold pass (default: ${DEFAULT-VALUE}).")
    int coldPositions = 16_384;

    @Option(names = "--dir", description = "Working folder (default: a new temporary folder, deleted afterwards).")
    Path dir;

    @Option(names = "--seed", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    private int bits;
    private long[] keys; // packed f-grams, row order
    private int[] pool; // window pool, (P) token ids
    private int poolPositions;

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
        bits = 32 - Integer.numberOfLeadingZeros(tokens);
        if (bits * maxN > 64) {
            throw new IllegalArgumentException("K * bits(tokens) = " + bits * maxN + " > 64: the reference needs long keys");
        }
        boolean tempDir = dir == null;
        Path work = tempDir ? Files.createTempDirectory("store-bench") : Files.createDirectories(dir);
        boolean canDrop = Files.isWritable(Path.of("/proc/sys/vm/drop_caches"));
        System.out.printf(Locale.ROOT, "store benchmark: S=%,d f-grams, d=%d, K=%d, V=%,d, T=%d, batches %s, %d passes,"
                + " %d cores, JVM %s%n", entries, dim, maxN, tokens, length, batches, passes,
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
        System.out.println("page cache drop: " + (canDrop ? (cold ? "cold passes enabled" : "possible (use --cold)")
                : "not possible here: warm figures only"));
        generate();
        List<String> table = new ArrayList<>();
        table.add(String.format(Locale.ROOT, "| %-8s | %-9s | %5s | %12s | %12s | %8s | %s |", "dtype", "index", "B",
                "warm ns/tok", "cold ns/tok", "warm/ref", "note"));
        try {
            for (VectorDtype dtype : dtypes) {
                runDtype(work.resolve(dtype.name().toLowerCase(Locale.ROOT)), dtype, canDrop && cold, table);
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

    private void generate() {
        SplittableRandom r = new SplittableRandom(seed);
        int rowsPerPool = Math.max(256, Integer.highestOneBit(Math.max(1, Math.min(entries, 1 << 19) / length)));
        poolPositions = rowsPerPool * length;
        pool = new int[poolPositions];
        for (int i = 0; i < poolPositions; i++) {
            pool[i] = r.nextInt(tokens);
        }
        LongOpenHashSet set = new LongOpenHashSet(entries);
        List<Long> order = new ArrayList<>(entries);
        for (int i = 0; i < poolPositions && set.size() < entries; i++) {
            int t = i % length;
            if (t == 0 || !r.nextBoolean()) {
                continue;
            }
            int n = 2 + r.nextInt(Math.min(maxN, t + 1) - 1);
            long k = pack(pool, i - n + 1, n);
            if (set.add(k)) {
                order.add(k);
            }
        }
        int planted = set.size();
        int[] g = new int[maxN];
        while (set.size() < entries) {
            int n = 2 + r.nextInt(maxN - 1);
            for (int k = 0; k < n; k++) {
                g[k] = r.nextInt(tokens);
            }
            long k = pack(g, 0, n);
            if (set.add(k)) {
                order.add(k);
            }
        }
        keys = new long[entries];
        for (int i = 0; i < entries; i++) {
            keys[i] = order.get(i);
        }
        // shuffle the rows so that planted f-grams are spread over the file
        for (int i = entries - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            long tmp = keys[i];
            keys[i] = keys[j];
            keys[j] = tmp;
        }
        System.out.printf(Locale.ROOT, "window pool: %,d positions (%,d rows of T=%d); %,d f-grams planted in it, %,d random%n",
                poolPositions, rowsPerPool, length, planted, entries - planted);
    }

    private void runDtype(Path storeDir, VectorDtype dtype, boolean coldPasses, List<String> table) throws Exception {
        System.out.println();
        System.out.println("== " + dtype);
        float[] block = new float[4096 * dim];
        SplittableRandom r = new SplittableRandom(seed + 1);
        for (int i = 0; i < block.length; i++) {
            block[i] = (float) (r.nextDouble() * 2 - 1);
        }
        int[] tok = new int[maxN];
        long t0 = System.nanoTime();
        try (FgramStoreWriter w = FgramStoreWriter.builder().setPath(storeDir).setEmbeddingSize(dim).optDtype(dtype).optMaxN(maxN)
                .optTokenVocabularySize(tokens).optExpectedEntries(entries).optTokenVocabularyFingerprint("bench-" + tokens)
                .optModelFingerprint("bench-" + seed).build()) {
            for (int i = 0; i < entries; i++) {
                int n = unpack(keys[i], tok);
                w.add(tok, 0, n, block, (i & 4095) * dim);
            }
            w.commit();
        }
        double buildSecs = (System.nanoTime() - t0) / 1e9;
        long payload = (long) entries * dim * dtype.elementBytes();
        long[] store = diskBytes(storeDir);
        System.out.printf(Locale.ROOT, "build: %,.0f entries/s (%.1f s); on disk %,d bytes allocated (%,d apparent) for a "
                + "%,d-byte payload: %.4fx (%.4fx apparent)%n", entries / buildSecs, buildSecs, store[0], store[1],
                payload, store[0] / (double) payload, store[1] / (double) payload);
        List<Path> files;
        try (Stream<Path> s = Files.list(storeDir)) {
            files = s.sorted().toList();
        }
        for (Path f : files) {
            long[] b = diskBytes(f);
            System.out.printf(Locale.ROOT, "  %-12s %,14d bytes allocated, %,14d apparent%n", f.getFileName(), b[0],
                    b[1]);
        }
        table.add(String.format(Locale.ROOT, "| %-8s | %-9s | %5s | %12s | %12s | %8s | build %,.0f entries/s, disk %.4fx payload |",
                dtype, "-", "-", "-", "-", "-", entries / buildSecs, store[0] / (double) payload));

        Path refFile = storeDir.resolveSibling(storeDir.getFileName() + ".ref");
        Reference ref = Reference.build(refFile, dtype, dim, keys, block, this);
        long[] refDisk = diskBytes(refFile);
        System.out.printf(Locale.ROOT, "reference: flat file %,d bytes (%.4fx payload) + in-heap index%n", refDisk[0],
                refDisk[0] / (double) payload);

        FgramStore.OpenOptions opts = FgramStore.OpenOptions.defaults();
        long o0 = System.nanoTime();
        FgramStore chron = FgramStore.open(storeDir, opts.withIndexMode(FgramStore.IndexMode.CHRONICLE));
        double chronOpen = (System.nanoTime() - o0) / 1e9;
        o0 = System.nanoTime();
        FgramStore heap = FgramStore.open(storeDir, opts.withIndexMode(FgramStore.IndexMode.HEAP));
        double heapOpen = (System.nanoTime() - o0) / 1e9;
        System.out.printf(Locale.ROOT, "open, index checksum verified: chronicle %.2f s, heap %.2f s%n", chronOpen,
                heapOpen);
        try {
            // all three get the same window copy, as an inference loop would hand them a fresh batch
            BatchCall refCall = (out, m, from, bb) -> ref.lookupBatch(slice(from, bb), 0, bb, length, out, m);
            BatchCall chronCall = (out, m, from, bb) -> chron.lookupBatch(slice(from, bb), bb, length, out, m);
            BatchCall heapCall = (out, m, from, bb) -> heap.lookupBatch(slice(from, bb), bb, length, out, m);
            for (int b : batches) {
                // interleaved passes (reference, chronicle, heap, reference, ...): load changes on a shared
                // machine then hit all three alike, and each pass gives a paired ratio
                double[][] warm = timeInterleaved(List.of(refCall, chronCall, heapCall), b);
                double[] coldNs = new double[3];
                Arrays.fill(coldNs, Double.NaN);
                if (coldPasses) {
                    coldNs[0] = timeCold(refCall, b);
                    coldNs[1] = timeCold(chronCall, b);
                    coldNs[2] = timeCold(heapCall, b);
                }
                String[] names = {"reference", "chronicle", "heap"};
                for (int k = 0; k < 3; k++) {
                    double ratio = k == 0 ? Double.NaN : medianRatio(warm[k], warm[0]);
                    String note = k == 0 ? String.format(Locale.ROOT, "passes %s", spread(warm[0]))
                            : String.format(Locale.ROOT, "passes %s%s", spread(warm[k]), b == batches.get(0)
                                    ? String.format(Locale.ROOT, "; open %.2f s", k == 1 ? chronOpen : heapOpen) : "");
                    table.add(row(dtype, names[k], b, new double[] {median(warm[k]), coldNs[k]}, ratio, note));
                    System.out.println(table.get(table.size() - 1));
                }
            }
            long v0 = System.nanoTime();
            heap.verify();
            double vs = (System.nanoTime() - v0) / 1e9;
            System.out.printf(Locale.ROOT, "verify() of every entry (warm): %.2f s, %.2f GB/s of vector file%n", vs,
                    Files.size(storeDir.resolve("vectors.bin")) / vs / 1e9);
            table.add(String.format(Locale.ROOT, "| %-8s | %-9s | %5s | %12s | %12s | %8s | verify() %.2f s; CRC32C of one row, in cache: %.0f ns |",
                    dtype, "-", "-", "-", "-", "-", vs, crcNanos(dtype)));
        } finally {
            chron.close();
            heap.close();
        }
        ref.close();
        Files.deleteIfExists(refFile);
        Temporaries.deleteTree(storeDir);
    }

    private int[] sliceBuf;

    // copies B rows of the pool into a reused window buffer
    private int[] slice(int from, int batch) {
        int n = batch * length;
        if (sliceBuf == null || sliceBuf.length != n) {
            sliceBuf = new int[n];
        }
        System.arraycopy(pool, from, sliceBuf, 0, n);
        return sliceBuf;
    }

    private String row(VectorDtype dtype, String index, int b, double[] ns, double ratio, String note) {
        return String.format(Locale.ROOT, "| %-8s | %-9s | %5d | %12.0f | %12s | %8s | %s |", dtype, index, b, ns[0],
                Double.isNaN(ns[1]) ? "-" : String.format(Locale.ROOT, "%.0f", ns[1]),
                Double.isNaN(ratio) ? "1.00x" : String.format(Locale.ROOT, "%.2fx", ratio), note);
    }

    /** One batch lookup of B rows from the pool starting at position {@code from}. */
    interface BatchCall {
        void run(float[] out, int[] matched, int from, int batch);
    }

    /** @return per call, the ns per token of each timed pass */
    private double[][] timeInterleaved(List<BatchCall> callsToTime, int batch) {
        int perCall = batch * length;
        float[] out = new float[perCall * dim];
        int[] matched = new int[perCall];
        int calls = poolPositions / perCall;
        double[][] times = new double[callsToTime.size()][passes];
        for (int pass = -1; pass < passes; pass++) { // pass -1 warms the JIT and the page cache
            for (int k = 0; k < callsToTime.size(); k++) {
                BatchCall call = callsToTime.get(k);
                long t0 = System.nanoTime();
                for (int c = 0; c < calls; c++) {
                    call.run(out, matched, c * perCall, batch);
                }
                long dt = System.nanoTime() - t0;
                if (pass >= 0) {
                    times[k][pass] = dt / (double) (calls * perCall);
                }
            }
        }
        return times;
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

    private double timeCold(BatchCall call, int batch) throws IOException, InterruptedException {
        int perCall = batch * length;
        float[] out = new float[perCall * dim];
        int[] matched = new int[perCall];
        int calls = Math.max(1, Math.min(poolPositions, coldPositions) / perCall);
        Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "1");
        long t0 = System.nanoTime();
        for (int c = 0; c < calls; c++) {
            call.run(out, matched, c * perCall, batch);
        }
        return (System.nanoTime() - t0) / (double) (calls * perCall);
    }

    /** CRC32C of one row already in cache: the compute cost the per-read check adds to a lookup. */
    private double crcNanos(VectorDtype dtype) {
        int rowBytes = dtype.vectorBytes(dim);
        ByteBuffer buf = ByteBuffer.allocateDirect(rowBytes * 16);
        CRC32C crc = new CRC32C();
        long sink = 0;
        int n = 1_000_000;
        double ns = Double.MAX_VALUE;
        for (int rep = 0; rep < 4; rep++) { // the best of 4: the compute cost, without the machine's noise
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                int off = (i & 15) * rowBytes;
                buf.limit(off + rowBytes).position(off);
                crc.reset();
                crc.update(buf);
                buf.limit(buf.capacity());
                sink += crc.getValue();
            }
            ns = Math.min(ns, (System.nanoTime() - t0) / (double) n);
        }
        return sink == 42 ? ns + 1e-9 : ns;
    }

    long pack(int[] seq, int from, int n) {
        long acc = 0;
        for (int k = from; k < from + n; k++) {
            acc = (acc << bits) | (seq[k] + 1L);
        }
        return acc;
    }

    int unpack(long key, int[] dst) {
        int n = (64 - Long.numberOfLeadingZeros(key) + bits - 1) / bits;
        long mask = (1L << bits) - 1;
        for (int k = n - 1; k >= 0; k--) {
            dst[k] = (int) (key & mask) - 1;
            key >>>= bits;
        }
        return n;
    }

    /** The physical-limit reference: rows (encoded vectors only) in a flat mmap file, fastutil index in heap. */
    private static final class Reference implements AutoCloseable {
        private final StoreBenchmark bench;
        private final VectorDtype dtype;
        private final int d;
        private final int rowBytes;
        private final ByteBuffer map;
        private final FloatBuffer floats;
        private final Long2IntOpenHashMap index;
        private final FileChannel channel;

        private Reference(StoreBenchmark bench, VectorDtype dtype, int d, FileChannel ch, Long2IntOpenHashMap index)
                throws IOException {
            this.bench = bench;
            this.dtype = dtype;
            this.d = d;
            this.rowBytes = dtype.vectorBytes(d);
            this.channel = ch;
            if (ch.size() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("reference file over 2 GiB: use fewer entries or a smaller d");
            }
            this.map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
            this.floats = map.asFloatBuffer();
            this.index = index;
        }

        static Reference build(Path file, VectorDtype dtype, int d, long[] keys, float[] block, StoreBenchmark bench)
                throws IOException {
            int rowBytes = dtype.vectorBytes(d);
            Long2IntOpenHashMap index = new Long2IntOpenHashMap(keys.length);
            index.defaultReturnValue(-1);
            ByteBuffer buf = ByteBuffer.allocate(rowBytes * 1024).order(ByteOrder.LITTLE_ENDIAN);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                for (int i = 0; i < keys.length; i++) {
                    index.put(keys[i], i);
                    dtype.encode(block, (i & 4095) * d, d, buf, buf.position());
                    buf.position(buf.position() + rowBytes);
                    if (!buf.hasRemaining() || i == keys.length - 1) {
                        buf.flip();
                        while (buf.hasRemaining()) {
                            ch.write(buf);
                        }
                        buf.clear();
                    }
                }
            }
            return new Reference(bench, dtype, d, FileChannel.open(file, StandardOpenOption.READ), index);
        }

        void lookupBatch(int[] window, int start, int batch, int length, float[] out, int[] matched) {
            int k = bench.maxN;
            for (int b = 0; b < batch; b++) {
                int rowStart = start + b * length;
                for (int t = 0; t < length; t++) {
                    int i = rowStart + t;
                    int o = (i - start) * d;
                    int found = 0;
                    for (int n = Math.min(k, t + 1); n >= 2; n--) {
                        int row = index.get(bench.pack(window, i - n + 1, n));
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
                    matched[i - start] = found;
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
}

package dev.scone.spark.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.scone.core.SconeEmbeddingBlock;
import dev.scone.fgram.nn.FgramModelConfig;
import dev.scone.fgram.nn.FgramPrefixTree;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.spark.cli.Args;
import dev.scone.spark.cli.Spark;
import dev.scone.spark.precompute.ModelSource;
import dev.scone.spark.precompute.SparkStorePrecompute;
import dev.scone.store.ShardedFgramStore;
import dev.scone.store.ShardedStoreManifest;
import dev.scone.store.VectorDtype;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.CollectionAccumulator;

/**
 * Runs {@link SparkStorePrecompute} over a synthetic vocabulary of S f-grams with a seeded,
 * untrained A_fgram, and prints its rate and the memory a compute task holds: the heap in use
 * after a full collection, measured inside each compute task once its model is loaded (what the
 * task holds of the vocabulary, and the model), against the same measure in the JVM before the
 * job and against the heap a whole copy of the vocabulary takes.
 *
 * <pre>
 * PrecomputeBenchmark [--fgrams 1000000] [--tokens 8192] [--max-n 5] [--embedding-size 64]
 *                     [--layers 1] [--heads 2] [--ffn 256] [--shards 4] [--partitions 8]
 *                     [--batch-size 1024] [--dtype bfloat16] [--master local[2]] [--work DIR]
 * </pre>
 *
 * The vocabulary: lengths 2..K in turn, each f-gram's tokens the base-2^b digits (2^b the largest
 * power of two up to V) of an odd multiple of its rank among the f-grams of its length, modulo
 * 2^min(nb, 62), so that no two are equal; written as a stream, never held. In local mode the driver and the executor
 * are one JVM: the heap measured in a task holds what the driver holds too.
 */
public final class PrecomputeBenchmark {

    private static final Set<String> KNOWN = Set.of("fgrams", "tokens", "max-n", "embedding-size", "layers", "heads",
            "ffn", "shards", "partitions", "batch-size", "dtype", "master", "work", "help");

    private PrecomputeBenchmark() {}

    /**
     * @param argv the command line
     * @throws Exception when the run fails
     */
    public static void main(String[] argv) throws Exception {
        Args a = Args.parse(argv, Set.of("help"), KNOWN);
        PrintStream out = System.out;
        if (a.has("help")) {
            out.println("usage: PrecomputeBenchmark [--fgrams 1000000] [--tokens 8192] [--max-n 5] [--embedding-size 64]"
                    + " [--layers 1] [--heads 2] [--ffn 256] [--shards 4] [--partitions 8] [--batch-size 1024]"
                    + " [--dtype bfloat16] [--master local[2]] [--work DIR]");
            return;
        }
        int size = a.integer("fgrams", 1_000_000);
        int tokens = a.integer("tokens", 8192);
        int maxN = a.integer("max-n", 5);
        int d = a.integer("embedding-size", 64);
        FgramModelConfig model = FgramModelConfig.of(d, a.integer("layers", 1), a.integer("heads", 2),
                a.integer("ffn", 4 * d), maxN);
        VectorDtype dtype = VectorDtype.valueOf(a.get("dtype", "bfloat16").toUpperCase(Locale.ROOT));
        String master = a.get("master", "local[2]");
        Path work = a.has("work") ? Files.createDirectories(Path.of(a.required("work")))
                : Files.createTempDirectory("scone-precompute-bench");
        Path vocabularyFile = work.resolve("fgrams.bin");
        Path store = work.resolve("store");
        long t0 = System.nanoTime();
        writeVocabulary(vocabularyFile, size, tokens, maxN);
        out.printf(Locale.ROOT, "vocabulary: %,d f-grams (K = %d, V = %,d), %,d bytes, written in %.1f s%n", size, maxN,
                tokens, Files.size(vocabularyFile), (System.nanoTime() - t0) / 1e9);
        long before = heapAfterGc();
        FgramVocabulary whole = FgramVocabularyFile.read(vocabularyFile);
        long wholeHeap = heapAfterGc() - before;
        out.printf(Locale.ROOT, "the whole vocabulary read onto the heap (FgramVocabularyFile.read): %.1f MiB%n",
                wholeHeap / 1048576.0);
        // A_fgram's work: every node of each batch's prefix tree through its weight matrices once
        int batchSize = a.integer("batch-size", 1024);
        int shards = a.integer("shards", 4);
        int partitions = a.integer("partitions", 8);
        long nodes = 0;
        int[] ids = new int[batchSize];
        for (int first = 0; first < size; first += batchSize) {
            int count = Math.min(batchSize, size - first);
            for (int i = 0; i < count; i++) {
                ids[i] = first + i;
            }
            nodes += FgramPrefixTree.of(whole, ids, count).nodeCount();
        }
        whole = null; // only its size on the heap and its trees were wanted
        long weights = matrixWeights(model);
        double flopPerVector = 2.0 * weights * nodes / size;
        out.printf(Locale.ROOT, "A_fgram: d = %d, %d layer(s), %d heads, FFN %d; %s, %d shards, %d compute partitions,"
                + " batches of %d, master %s, max heap %.0f MiB%n", d, model.layers(), model.heads(), model.ffnSize(),
                dtype, shards, partitions, batchSize, master,
                Runtime.getRuntime().maxMemory() / 1048576.0);
        JavaSparkContext spark = Spark.start("scone-precompute-benchmark", master);
        try {
            CollectionAccumulator<Long> heap = spark.sc().collectionAccumulator("heap after GC in compute tasks");
            long baseline = heapAfterGc();
            out.printf(Locale.ROOT, "heap after GC before the job (Spark started): %.1f MiB%n", baseline / 1048576.0);
            SparkStorePrecompute.Settings settings = new SparkStorePrecompute.Settings(shards, partitions,
                    batchSize, dtype, "ids-0.." + (tokens - 1));
            long start = System.nanoTime();
            ShardedStoreManifest m = new SparkStorePrecompute(spark, settings).run(vocabularyFile.toString(),
                    new SeededModelSource(model, 11, heap), store.toUri().toString());
            double seconds = (System.nanoTime() - start) / 1e9;
            out.printf(Locale.ROOT, "precompute: %,d vectors in %.1f s, %,.0f vectors/s (%s)%n", m.size(), seconds,
                    m.size() / seconds, master);
            out.printf(Locale.ROOT, "A_fgram's work: %,d weights in its matrices, %.2f prefix-tree nodes per f-gram"
                    + " (batches of %d), %.3f MFLOP per vector: %.1f GFLOP/s end to end%n", weights,
                    (double) nodes / size, batchSize, flopPerVector / 1e6, flopPerVector * m.size() / seconds / 1e9);
            List<Long> measured = new ArrayList<>(heap.value());
            measured.sort(null);
            if (!measured.isEmpty()) {
                long max = measured.get(measured.size() - 1);
                out.printf(Locale.ROOT, "heap after GC in the %d compute tasks, model loaded: %.1f .. %.1f MiB,"
                        + " the most %.1f MiB above the JVM before the job (%.2f x the whole vocabulary's heap)%n",
                        measured.size(), measured.get(0) / 1048576.0, max / 1048576.0, (max - baseline) / 1048576.0,
                        (double) (max - baseline) / wholeHeap);
            }
            try (ShardedFgramStore s = ShardedFgramStore.open(store)) {
                if (s.size() != size) {
                    throw new IllegalStateException("the store holds " + s.size() + " f-grams, expected " + size);
                }
            }
        } finally {
            spark.stop();
        }
    }

    /** @return the weights of A_fgram's matrices (parameters of two or more dimensions, embeddings aside) */
    static long matrixWeights(FgramModelConfig config) {
        try (NDManager manager = NDManager.newBaseManager()) {
            dev.scone.fgram.nn.FgramModelBlock block = new dev.scone.fgram.nn.FgramModelBlock(config);
            block.initialize(manager, DataType.FLOAT32, new Shape(1, config.maxN(), config.embeddingSize()), new Shape(1));
            long weights = 0;
            for (Pair<String, Parameter> p : block.getParameters()) {
                Shape shape = p.getValue().getArray().getShape();
                if (shape.dimension() >= 2 && !p.getKey().toLowerCase(Locale.ROOT).contains("embed")) {
                    weights += shape.size();
                }
            }
            return weights;
        }
    }

    /** @return the heap in use after a full collection */
    static long heapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** Writes the synthetic vocabulary described in the class comment. */
    static void writeVocabulary(Path file, int size, int tokens, int maxN) throws IOException {
        int bits = 31 - Integer.numberOfLeadingZeros(tokens);
        int lengths = maxN - 1;
        int[] g = new int[maxN];
        try (FgramVocabularyFile.Writer w = FgramVocabularyFile.newWriter(file, tokens, maxN, size, null)) {
            for (int id = 0; id < size; id++) {
                int n = 2 + id % lengths;
                long rank = id / lengths;
                int m = Math.min(n * bits, 62);
                if (rank >= 1L << m) {
                    throw new IllegalArgumentException(size + " f-grams need more distinct " + n + "-grams than "
                            + tokens + " tokens make here");
                }
                long x = (rank * 0x9E3779B97F4A7C15L) & ((1L << m) - 1); // odd: a bijection modulo 2^m
                for (int k = 0; k < n; k++) {
                    g[k] = k * bits < 62 ? (int) ((x >>> (k * bits)) & ((1L << bits) - 1)) : 0;
                }
                w.append(g, 0, n, size - id + 5L);
            }
            w.complete();
        }
    }

    /**
     * A fresh SCONE embedding block whose every parameter is drawn from a seeded generator (so
     * every task builds the same one), measuring the heap after a full collection in each task
     * that loads it.
     */
    private static final class SeededModelSource implements ModelSource {
        private static final long serialVersionUID = 1L;
        private final int[] shape; // d, layers, heads, FFN, K (FgramModelConfig is not serializable)
        private final long seed;
        private final CollectionAccumulator<Long> heap;

        SeededModelSource(FgramModelConfig config, long seed, CollectionAccumulator<Long> heap) {
            this.shape = new int[] {config.embeddingSize(), config.layers(), config.heads(), config.ffnSize(),
                config.maxN()};
            this.seed = seed;
            this.heap = heap;
        }

        @Override
        public SconeEmbeddingBlock load(FgramVocabulary vocabulary, NDManager manager) {
            FgramModelConfig config = FgramModelConfig.of(shape[0], shape[1], shape[2], shape[3], shape[4]);
            SconeEmbeddingBlock block = new SconeEmbeddingBlock(vocabulary.tokenVocabularySize(), config, vocabulary);
            block.initialize(manager, DataType.FLOAT32, new Shape(1, config.maxN()));
            SplittableRandom r = new SplittableRandom(seed);
            for (Pair<String, Parameter> p : block.getParameters()) {
                NDArray array = p.getValue().getArray();
                float[] v = new float[(int) array.size()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (r.nextDouble() * 0.2 - 0.1);
                }
                array.set(v);
            }
            if (TaskContext.get() != null) {
                heap.add(heapAfterGc());
            }
            return block;
        }

        @Override
        public String describe() {
            return "a seeded A_fgram " + java.util.Arrays.toString(shape);
        }
    }
}

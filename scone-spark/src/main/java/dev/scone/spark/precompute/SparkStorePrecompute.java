package dev.scone.spark.precompute;

import ai.djl.ndarray.NDManager;
import dev.scone.core.SconeEmbeddingBlock;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.spark.io.HadoopConf;
import dev.scone.spark.io.HadoopFiles;
import dev.scone.store.FgramStorePrecompute;
import dev.scone.store.FgramStoreWriter;
import dev.scone.store.ShardedFgramStoreWriter;
import dev.scone.store.ShardedStoreManifest;
import dev.scone.store.StoreManifest;
import dev.scone.store.VectorDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * The store precompute as a Spark job: runs the trained A_fgram over every f-gram of V_fgram and
 * writes a sharded store ({@link dev.scone.store.ShardedFgramStore}) that inference opens as one
 * table. No process reads the whole vocabulary: the driver reads the file's header and block
 * index (its size, K and fingerprint), and every task reads the blocks of its own range of ids
 * ({@link HadoopFiles#readVocabularyRange}, positioned reads on any Hadoop file system).
 *
 * <ol>
 *   <li>Size: the f-gram ids are cut into batches of {@link Settings#batchSize()} consecutive
 *       ids, exactly the batches of the single-machine {@link FgramStorePrecompute} with the same
 *       batch size, and the batches into {@link Settings#computePartitions()} contiguous ranges.
 *       A first, light job reads each range and counts its f-grams per shard; the driver sums them
 *       into each shard's size.
 *   <li>Compute: one task per range reads its range and loads the model over it ({@link ModelSource}),
 *       checks the model's weights fingerprint against the driver's, runs
 *       {@link SconeEmbeddingBlock#computeFgramVectors} batch by batch (the same batches, so float32
 *       vectors are bit for bit the single machine's: A_fgram's rounding depends on a batch's
 *       f-grams) and emits each f-gram as a row: its tokens and its vector already encoded in the
 *       store's dtype, keyed by its shard.
 *   <li>Write: the rows are shuffled to {@link Settings#shards()} tasks, one per shard, that write
 *       their shards in parallel, each with {@link ShardedFgramStoreWriter#shardWriter} given its
 *       size from the driver and the rows' encoded vectors ({@link FgramStoreWriter#addEncoded})
 *       (directly when the target is on the local file system, else on local disk and then uploaded).
 *   <li>Publish: the driver checks the shards agree and writes the sharded manifest with their
 *       fingerprints ({@link ShardedFgramStoreWriter#publish}).
 * </ol>
 */
public final class SparkStorePrecompute {

    private static final Logger LOG = LoggerFactory.getLogger(SparkStorePrecompute.class);

    /**
     * Settings.
     *
     * @param shards store shards, at least 1
     * @param computePartitions tasks running A_fgram, at least 1, each over a contiguous range of ids
     *     (it loads the model once and reads that range of the vocabulary only)
     * @param batchSize f-grams per A_fgram batch, at least 1 (as {@link FgramStorePrecompute})
     * @param dtype how vectors are stored; {@code null}: as {@link FgramStorePrecompute} chooses
     *     (float32 up to 1 GiB of float32 payload, else bfloat16)
     * @param tokenVocabularyFingerprint the token vocabulary's fingerprint, recorded in the store
     * @param mainModelFingerprint the fingerprint of the serving weights (everything but A_fgram)
     *     of the model, recorded in the store; {@value StoreManifest#UNSPECIFIED} when not known
     */
    public record Settings(int shards, int computePartitions, int batchSize, VectorDtype dtype,
            String tokenVocabularyFingerprint, String mainModelFingerprint) implements java.io.Serializable {
        private static final long serialVersionUID = 2L;

        /**
         * Settings without a main-model fingerprint ({@value StoreManifest#UNSPECIFIED}).
         *
         * @param shards store shards, at least 1
         * @param computePartitions tasks running A_fgram, at least 1
         * @param batchSize f-grams per A_fgram batch, at least 1
         * @param dtype how vectors are stored, or {@code null}
         * @param tokenVocabularyFingerprint the token vocabulary's fingerprint
         */
        public Settings(int shards, int computePartitions, int batchSize, VectorDtype dtype,
                String tokenVocabularyFingerprint) {
            this(shards, computePartitions, batchSize, dtype, tokenVocabularyFingerprint, StoreManifest.UNSPECIFIED);
        }

        /**
         * Checks every value.
         *
         * @throws IllegalArgumentException naming the offending value
         */
        public Settings {
            if (shards < 1) {
                throw new IllegalArgumentException("shards must be >= 1, got " + shards);
            }
            if (computePartitions < 1) {
                throw new IllegalArgumentException("computePartitions must be >= 1, got " + computePartitions);
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
            }
            Objects.requireNonNull(tokenVocabularyFingerprint, "tokenVocabularyFingerprint");
            if (tokenVocabularyFingerprint.isBlank() || tokenVocabularyFingerprint.contains("\n")) {
                throw new IllegalArgumentException("tokenVocabularyFingerprint must be one non-blank line, got '"
                        + tokenVocabularyFingerprint + "'");
            }
            Objects.requireNonNull(mainModelFingerprint, "mainModelFingerprint");
            if (mainModelFingerprint.isBlank() || mainModelFingerprint.contains("\n")
                    || mainModelFingerprint.contains("\r")) {
                throw new IllegalArgumentException("mainModelFingerprint must be one non-blank line, got '"
                        + mainModelFingerprint + "'");
            }
        }
    }

    private final JavaSparkContext spark;
    private final Settings settings;

    /**
     * @param spark the Spark context
     * @param settings the settings
     */
    public SparkStorePrecompute(JavaSparkContext spark, Settings settings) {
        this.spark = Objects.requireNonNull(spark, "spark");
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /**
     * Computes every f-gram vector and writes the sharded store.
     *
     * @param vocabularyFile the f-gram vocabulary file (Hadoop path or URI)
     * @param model the trained model
     * @param storeDir the sharded store folder to write (Hadoop path or URI); a previous store
     *     there stops being served as soon as the job starts
     * @return the sharded manifest written
     * @throws IOException when reading or writing fails (no sharded manifest is then written)
     */
    public ShardedStoreManifest run(String vocabularyFile, ModelSource model, String storeDir) throws IOException {
        long t0 = System.nanoTime();
        Configuration hadoop = spark.hadoopConfiguration();
        HadoopConf conf = new HadoopConf(hadoop);
        // the header and block index: size, K, V and fingerprint, none of the f-grams
        FgramVocabulary header = HadoopFiles.readVocabularyRange(vocabularyFile, hadoop, 0, 0);
        String fgramFp = header.fingerprint();
        String modelFingerprint;
        int d;
        try (NDManager manager = NDManager.newBaseManager()) {
            SconeEmbeddingBlock block = model.load(header, manager);
            modelFingerprint = FgramStorePrecompute.modelFingerprint(block);
            d = block.embeddingSize();
        }
        int size = header.size();
        VectorDtype dtype = settings.dtype() != null ? settings.dtype()
                : (long) size * d * 4 <= (1L << 30) ? VectorDtype.FLOAT32 : VectorDtype.BFLOAT16;
        int shards = settings.shards();
        int batchSize = settings.batchSize();
        List<IdRange> ranges = IdRange.of(size, batchSize, settings.computePartitions());
        LOG.info("precompute {} f-grams (d={}, {}) from {} in batches of {} on {} tasks into {} shards", size, d, dtype,
                model.describe(), batchSize, ranges.size(), shards);
        int tasks = Math.max(1, ranges.size());
        long[] shardSizes = ranges.isEmpty() ? new long[shards] : run(() -> spark.parallelize(ranges, tasks)
                .map(r -> ShardedFgramStoreWriter.shardSizes(r.read(vocabularyFile, conf, fgramFp), shards))
                .reduce(SparkStorePrecompute::sum));
        Path localDir = HadoopFiles.localPath(storeDir, hadoop);
        if (localDir != null) {
            ShardedFgramStoreWriter.prepare(localDir);
        } else {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(storeDir, ShardedStoreManifest.FILE_NAME);
            p.getFileSystem(hadoop).delete(p, false);
        }
        String tokenFp = settings.tokenVocabularyFingerprint();
        String mainFp = settings.mainModelFingerprint();
        JavaPairRDD<Integer, byte[]> rows = spark.parallelize(ranges, tasks).mapPartitionsToPair(it -> {
            RowIterator rowsOfPartition = new RowIterator(it, vocabularyFile, conf, fgramFp, model, modelFingerprint,
                    batchSize, shards, dtype);
            org.apache.spark.TaskContext task = org.apache.spark.TaskContext.get();
            if (task != null) { // the model's native memory goes with the task, also when it fails
                org.apache.spark.util.TaskCompletionListener done = ctx -> rowsOfPartition.release();
                task.addTaskCompletionListener(done);
            }
            return rowsOfPartition;
        });
        List<Integer> written = run(() -> rows.partitionBy(new HashPartitioner(shards))
                .mapPartitionsWithIndex((shard, it) -> {
                    writeShard(shard, it, vocabularyFile, conf, fgramFp, storeDir, shards, shardSizes[shard], d, dtype,
                            tokenFp, modelFingerprint, mainFp);
                    return List.of(shard).iterator();
                }, true).collect());
        if (written.size() != shards) {
            throw new IOException("wrote " + written.size() + " shards, expected " + shards);
        }
        ShardedStoreManifest manifest = publish(storeDir, localDir, shards, hadoop);
        LOG.info("wrote {} f-grams into {} shards in {} s", manifest.size(), shards,
                String.format("%.1f", (System.nanoTime() - t0) / 1e9));
        return manifest;
    }

    private static long[] sum(long[] a, long[] b) {
        long[] s = a.clone();
        for (int i = 0; i < s.length; i++) {
            s[i] += b[i];
        }
        return s;
    }

    /**
     * A contiguous range of f-gram ids, whole batches of the precompute's batch size, that one
     * compute task reads and computes.
     *
     * @param from the first id
     * @param to the id after the last
     */
    record IdRange(int from, int to) implements java.io.Serializable {

        /** The batches of {@code batchSize} ids over {@code size} f-grams, spread over at most {@code partitions} ranges. */
        static List<IdRange> of(int size, int batchSize, int partitions) {
            long batches = (size + (long) batchSize - 1) / batchSize;
            int n = (int) Math.min(partitions, batches);
            List<IdRange> out = new ArrayList<>(n);
            for (int p = 0; p < n; p++) {
                long b0 = batches * p / n;
                long b1 = batches * (p + 1) / n;
                out.add(new IdRange((int) (b0 * batchSize), (int) Math.min(size, b1 * batchSize)));
            }
            return out;
        }

        /** Reads this range of the vocabulary, checking it is the one the driver read. */
        FgramVocabulary read(String vocabularyFile, HadoopConf conf, String fingerprint) throws IOException {
            FgramVocabulary v = HadoopFiles.readVocabularyRange(vocabularyFile, conf.get(), from, to);
            checkSame(v, vocabularyFile, fingerprint);
            return v;
        }
    }

    private static void checkSame(FgramVocabulary v, String vocabularyFile, String fingerprint) {
        if (!v.fingerprint().equals(fingerprint)) {
            throw new IllegalStateException(vocabularyFile + " read on an executor has fingerprint " + v.fingerprint()
                    + ", the driver read " + fingerprint + ": the file changed during the job");
        }
    }

    private static ShardedStoreManifest publish(String storeDir, Path localDir, int shards, Configuration hadoop)
            throws IOException {
        if (localDir != null) {
            return ShardedFgramStoreWriter.publish(localDir, shards);
        }
        // the manifest is computed from the shards' own manifests: fetch only those
        Path mirror = Files.createTempDirectory("scone-sharded-manifest");
        try {
            for (int s = 0; s < shards; s++) {
                String folder = ShardedStoreManifest.shardFolder(s);
                Path local = Files.createDirectories(mirror.resolve(folder)).resolve(StoreManifest.FILE_NAME);
                HadoopFiles.download(storeDir + "/" + folder + "/" + StoreManifest.FILE_NAME, local, hadoop);
            }
            ShardedStoreManifest m = ShardedFgramStoreWriter.publish(mirror, shards);
            HadoopFiles.upload(mirror.resolve(ShardedStoreManifest.FILE_NAME),
                    storeDir + "/" + ShardedStoreManifest.FILE_NAME, hadoop);
            return m;
        } finally {
            deleteTree(mirror);
        }
    }

    private static void writeShard(int shard, Iterator<Tuple2<Integer, byte[]>> rows, String vocabularyFile,
            HadoopConf conf, String fgramFp, String storeDir, int shards, long entries, int d, VectorDtype dtype,
            String tokenFp, String modelFp, String mainFp) throws IOException {
        // the header alone: K, V and the fingerprint the shard records
        FgramVocabulary header = HadoopFiles.readVocabularyRange(vocabularyFile, conf.get(), 0, 0);
        checkSame(header, vocabularyFile, fgramFp);
        Path localDir = HadoopFiles.localPath(storeDir, conf.get());
        Path dir = localDir != null ? localDir : Files.createTempDirectory("scone-shard");
        try {
            int[] g = new int[header.maxN()];
            try (FgramStoreWriter w = ShardedFgramStoreWriter.shardWriter(dir, shard, shards, header, entries)
                    .setEmbeddingSize(d).optDtype(dtype).optTokenVocabularyFingerprint(tokenFp).optModelFingerprint(modelFp)
                    .optMainModelFingerprint(mainFp).build()) {
                while (rows.hasNext()) {
                    Tuple2<Integer, byte[]> r = rows.next();
                    if (r._1() != shard) {
                        throw new IllegalStateException("a row of shard " + r._1() + " reached the writer of shard "
                                + shard);
                    }
                    StoreRows.add(w, r._2(), g);
                }
                if (w.count() != entries) {
                    throw new IllegalStateException("shard " + shard + " received " + w.count()
                            + " f-grams, the vocabulary has " + entries + " for it");
                }
                w.commit();
            }
            if (localDir == null) {
                String folder = ShardedStoreManifest.shardFolder(shard);
                HadoopFiles.upload(dir.resolve(folder), storeDir + "/" + folder, conf.get());
            }
        } finally {
            if (localDir == null) {
                deleteTree(dir);
            }
        }
    }

    /**
     * The compute side of one partition: reads its range of the vocabulary and loads the model on
     * first use, runs A_fgram batch by batch and yields (shard, row) (see {@link StoreRows});
     * releases the model when exhausted.
     */
    private static final class RowIterator implements Iterator<Tuple2<Integer, byte[]>> {
        private final Iterator<IdRange> ranges;
        private final String vocabularyFile;
        private final HadoopConf conf;
        private final String fgramFingerprint;
        private final ModelSource model;
        private final String modelFingerprint;
        private final int batchSize;
        private final int shards;
        private final VectorDtype dtype;
        private IdRange range;
        private FgramVocabulary vocabulary;
        private NDManager manager;
        private SconeEmbeddingBlock block;
        private int[] gram;
        private float[] current;
        private int first;
        private int count;
        private int next;

        RowIterator(Iterator<IdRange> ranges, String vocabularyFile, HadoopConf conf, String fgramFingerprint,
                ModelSource model, String modelFingerprint, int batchSize, int shards, VectorDtype dtype) {
            this.ranges = ranges;
            this.vocabularyFile = vocabularyFile;
            this.conf = conf;
            this.fgramFingerprint = fgramFingerprint;
            this.model = model;
            this.modelFingerprint = modelFingerprint;
            this.batchSize = batchSize;
            this.shards = shards;
            this.dtype = dtype;
        }

        @Override
        public boolean hasNext() {
            while (next == count) {
                if (range == null || first + count == range.to()) {
                    if (!ranges.hasNext()) {
                        release();
                        return false;
                    }
                    try {
                        load(ranges.next());
                    } catch (IOException e) {
                        release();
                        throw new java.io.UncheckedIOException(e);
                    }
                } else {
                    first += count;
                }
                count = Math.min(batchSize, range.to() - first);
                current = count == 0 ? null : block.computeFgramVectors(first, count); // (count, E)
                next = 0;
            }
            return true;
        }

        @Override
        public Tuple2<Integer, byte[]> next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            int d = block.embeddingSize();
            int n = vocabulary.copyTokens(first + next, gram, 0);
            byte[] row = StoreRows.encode(gram, n, current, next * d, d, dtype);
            next++;
            return new Tuple2<>(ShardedStoreManifest.shardOf(gram, 0, n, shards), row);
        }

        /** Reads a range and (once) loads the model over it. */
        private void load(IdRange r) throws IOException {
            release();
            range = r;
            first = r.from();
            count = 0;
            vocabulary = r.read(vocabularyFile, conf, fgramFingerprint);
            gram = new int[vocabulary.maxN()];
            manager = NDManager.newBaseManager();
            block = model.load(vocabulary, manager);
            String fp = FgramStorePrecompute.modelFingerprint(block);
            if (!fp.equals(modelFingerprint)) {
                throw new IllegalStateException(model.describe() + " loaded on an executor has weights fingerprint " + fp
                        + ", the driver loaded " + modelFingerprint + ": the model changed during the job");
            }
        }

        synchronized void release() {
            if (manager != null) {
                manager.close();
                manager = null;
            }
        }
    }

    private static <T> T run(java.util.concurrent.Callable<T> action) throws IOException {
        try {
            return action.call();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                if (c instanceof IOException io) {
                    throw new IOException(io.getMessage(), e);
                }
                if (c instanceof IllegalArgumentException iae) {
                    throw new IllegalArgumentException(iae.getMessage(), e);
                }
            }
            throw new IllegalStateException("Spark job failed: " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        List<Path> all = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.forEach(all::add);
        }
        all.sort(Comparator.reverseOrder());
        for (Path p : all) {
            Files.deleteIfExists(p);
        }
    }
}

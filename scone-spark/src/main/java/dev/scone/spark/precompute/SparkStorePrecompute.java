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
import java.util.stream.IntStream;
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
 * table.
 *
 * <ol>
 *   <li>Compute: the f-gram ids are cut into batches of {@link Settings#batchSize()} consecutive
 *       ids, exactly the batches of the single-machine {@link FgramStorePrecompute} with the same
 *       batch size (so float32 vectors are bit for bit the same), spread over
 *       {@link Settings#computePartitions()} tasks. Each task loads the vocabulary and the model
 *       once ({@link ModelSource}), checks the model's weights fingerprint against the driver's,
 *       and emits every vector keyed by its f-gram's shard.
 *   <li>Write: the vectors are shuffled to {@link Settings#shards()} tasks, one per shard; each
 *       writes its shard with {@link ShardedFgramStoreWriter#shardWriter} (directly when the
 *       target is on the local file system, else on local disk and then uploaded).
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
     * @param computePartitions tasks running A_fgram, at least 1 (each loads the model once)
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
        FgramVocabulary vocabulary = HadoopFiles.readVocabulary(vocabularyFile, hadoop);
        String modelFingerprint;
        int d;
        try (NDManager manager = NDManager.newBaseManager()) {
            SconeEmbeddingBlock block = model.load(vocabulary, manager);
            modelFingerprint = FgramStorePrecompute.modelFingerprint(block);
            d = block.embeddingSize();
        }
        VectorDtype dtype = settings.dtype() != null ? settings.dtype()
                : (long) vocabulary.size() * d * 4 <= (1L << 30) ? VectorDtype.FLOAT32 : VectorDtype.BFLOAT16;
        int shards = settings.shards();
        int batchSize = settings.batchSize();
        int batches = (vocabulary.size() + batchSize - 1) / batchSize;
        LOG.info("precompute {} f-grams (d={}, {}) from {} in {} batches on {} tasks into {} shards", vocabulary.size(),
                d, dtype, model.describe(), batches, settings.computePartitions(), shards);
        Path localDir = HadoopFiles.localPath(storeDir, hadoop);
        if (localDir != null) {
            ShardedFgramStoreWriter.prepare(localDir);
        } else {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(storeDir, ShardedStoreManifest.FILE_NAME);
            p.getFileSystem(hadoop).delete(p, false);
        }
        List<Integer> batchIds = IntStream.range(0, batches).boxed().toList();
        String tokenFp = settings.tokenVocabularyFingerprint();
        String mainFp = settings.mainModelFingerprint();
        JavaPairRDD<Integer, Tuple2<Integer, float[]>> vectors = spark
                .parallelize(batchIds, Math.max(1, Math.min(settings.computePartitions(), batches)))
                .mapPartitionsToPair(it -> {
                    VectorIterator vectorsOfPartition = new VectorIterator(it, vocabularyFile, conf, model,
                            modelFingerprint, batchSize, shards);
                    org.apache.spark.TaskContext task = org.apache.spark.TaskContext.get();
                    if (task != null) { // the model's native memory goes with the task, also when it fails
                        org.apache.spark.util.TaskCompletionListener done = ctx -> vectorsOfPartition.release();
                        task.addTaskCompletionListener(done);
                    }
                    return vectorsOfPartition;
                });
        List<Integer> written = run(() -> vectors.partitionBy(new HashPartitioner(shards))
                .mapPartitionsWithIndex((shard, it) -> {
                    writeShard(shard, it, vocabularyFile, conf, storeDir, shards, d, dtype, tokenFp, modelFingerprint,
                            mainFp);
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

    private static void writeShard(int shard, Iterator<Tuple2<Integer, Tuple2<Integer, float[]>>> records,
            String vocabularyFile, HadoopConf conf, String storeDir, int shards, int d, VectorDtype dtype,
            String tokenFp, String modelFp, String mainFp) throws IOException {
        FgramVocabulary vocabulary = HadoopFiles.readVocabulary(vocabularyFile, conf.get());
        Path localDir = HadoopFiles.localPath(storeDir, conf.get());
        Path dir = localDir != null ? localDir : Files.createTempDirectory("scone-shard");
        try {
            int[] g = new int[vocabulary.maxN()];
            try (FgramStoreWriter w = ShardedFgramStoreWriter.shardWriter(dir, shard, shards, vocabulary,
                    ShardedFgramStoreWriter.shardSizes(vocabulary, shards)[shard])
                    .setEmbeddingSize(d).optDtype(dtype).optTokenVocabularyFingerprint(tokenFp).optModelFingerprint(modelFp)
                    .optMainModelFingerprint(mainFp).build()) {
                while (records.hasNext()) {
                    Tuple2<Integer, Tuple2<Integer, float[]>> r = records.next();
                    if (r._1() != shard) {
                        throw new IllegalStateException("f-gram " + r._2()._1() + " of shard " + r._1()
                                + " reached the writer of shard " + shard);
                    }
                    int n = vocabulary.copyTokens(r._2()._1(), g, 0);
                    w.add(g, 0, n, r._2()._2(), 0);
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
     * The compute side of one partition: loads the model on first use, runs A_fgram batch by
     * batch and yields (shard, (f-gram id, vector)); releases the model when exhausted.
     */
    private static final class VectorIterator implements Iterator<Tuple2<Integer, Tuple2<Integer, float[]>>> {
        private final Iterator<Integer> batches;
        private final String vocabularyFile;
        private final HadoopConf conf;
        private final ModelSource model;
        private final String modelFingerprint;
        private final int batchSize;
        private final int shards;
        private FgramVocabulary vocabulary;
        private NDManager manager;
        private SconeEmbeddingBlock block;
        private int[] gram;
        private float[] current;
        private int first;
        private int count;
        private int next;

        VectorIterator(Iterator<Integer> batches, String vocabularyFile, HadoopConf conf, ModelSource model,
                String modelFingerprint, int batchSize, int shards) {
            this.batches = batches;
            this.vocabularyFile = vocabularyFile;
            this.conf = conf;
            this.model = model;
            this.modelFingerprint = modelFingerprint;
            this.batchSize = batchSize;
            this.shards = shards;
        }

        @Override
        public boolean hasNext() {
            if (next < count) {
                return true;
            }
            if (!batches.hasNext()) {
                release();
                return false;
            }
            try {
                load();
            } catch (IOException e) {
                release();
                throw new java.io.UncheckedIOException(e);
            }
            int b = batches.next();
            first = b * batchSize;
            count = Math.min(batchSize, vocabulary.size() - first);
            current = block.computeFgramVectors(first, count); // (count, E)
            next = 0;
            return true;
        }

        @Override
        public Tuple2<Integer, Tuple2<Integer, float[]>> next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            int d = block.embeddingSize();
            int id = first + next;
            float[] v = java.util.Arrays.copyOfRange(current, next * d, (next + 1) * d);
            next++;
            int n = vocabulary.copyTokens(id, gram, 0);
            return new Tuple2<>(ShardedStoreManifest.shardOf(gram, 0, n, shards), new Tuple2<>(id, v));
        }

        private void load() throws IOException {
            if (block != null) {
                return;
            }
            vocabulary = HadoopFiles.readVocabulary(vocabularyFile, conf.get());
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

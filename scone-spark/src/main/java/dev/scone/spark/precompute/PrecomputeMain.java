package dev.scone.spark.precompute;

import dev.scone.spark.cli.Args;
import dev.scone.spark.cli.Spark;
import dev.scone.spark.io.HadoopFiles;
import dev.scone.store.ShardedStoreManifest;
import dev.scone.store.StoreManifest;
import dev.scone.store.VectorDtype;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Set;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Precomputes a trained SCONE model's f-gram vectors into a sharded store with
 * {@link SparkStorePrecompute}.
 *
 * <pre>
 * PrecomputeMain --vocabulary VOCABULARY_FILE --checkpoint CHECKPOINT --output STORE_DIR
 *                [--shards 8] [--partitions 8] [--batch-size 1024] [--dtype float32|bfloat16|int8]
 *                [--token-fingerprint FP | --compaction COMPACTION_FILE] [--main-model-fingerprint FP]
 *                [--master local[2]]
 * </pre>
 *
 * The token vocabulary fingerprint recorded in the store follows the example pipeline's
 * convention: {@code compaction-sha256:HEX} of the compaction file when token ids were compacted
 * ({@code --compaction}), else {@code ids-0..V-1}; {@code --token-fingerprint} sets it verbatim.
 * {@code --main-model-fingerprint} records the fingerprint of the model's serving weights
 * (everything but A_fgram), so that the store is refused for another main model; without it the
 * store records none.
 */
public final class PrecomputeMain {

    private static final Set<String> KNOWN = Set.of("vocabulary", "checkpoint", "output", "shards", "partitions",
            "batch-size", "dtype", "token-fingerprint", "compaction", "main-model-fingerprint", "master", "help");

    private PrecomputeMain() {}

    /**
     * @param argv the command line
     * @throws Exception when the precompute fails
     */
    public static void main(String[] argv) throws Exception {
        Args a = Args.parse(argv, Set.of("help"), KNOWN);
        PrintStream out = System.out;
        if (a.has("help") || argv.length == 0) {
            out.println("usage: PrecomputeMain --vocabulary VOCABULARY_FILE --checkpoint CHECKPOINT --output STORE_DIR"
                    + " [--shards 8] [--partitions 8] [--batch-size 1024] [--dtype float32|bfloat16|int8]"
                    + " [--token-fingerprint FP | --compaction COMPACTION_FILE] [--main-model-fingerprint FP]"
                    + " [--master local[2]]");
            return;
        }
        VectorDtype dtype = a.has("dtype") ? VectorDtype.valueOf(a.required("dtype").toUpperCase(Locale.ROOT)) : null;
        JavaSparkContext spark = Spark.start("scone-precompute", a.get("master", null));
        try {
            String tokenFp = a.get("token-fingerprint", null);
            if (tokenFp == null && a.has("compaction")) {
                tokenFp = "compaction-sha256:" + sha256(a.required("compaction"), spark);
            } else if (tokenFp == null) {
                tokenFp = "ids-0.." + (HadoopFiles.readVocabularyRange(a.required("vocabulary"),
                        spark.hadoopConfiguration(), 0, 0).tokenVocabularySize() - 1); // the header alone
            }
            SparkStorePrecompute.Settings settings = new SparkStorePrecompute.Settings(a.integer("shards", 8),
                    a.integer("partitions", 8), a.integer("batch-size", 1024), dtype, tokenFp,
                    a.get("main-model-fingerprint", StoreManifest.UNSPECIFIED));
            long t0 = System.nanoTime();
            ShardedStoreManifest m = new SparkStorePrecompute(spark, settings).run(a.required("vocabulary"),
                    new CheckpointModelSource(a.required("checkpoint"), spark.hadoopConfiguration()),
                    a.required("output"));
            double s = (System.nanoTime() - t0) / 1e9;
            out.printf(Locale.ROOT, "wrote %s: %,d f-gram vectors (d=%d, %s) in %d shards, %.1f s (%,.0f vectors/s)%n",
                    a.required("output"), m.size(), m.embeddingSize(), m.dtype(), m.shardCount(), s, m.size() / s);
            for (int i = 0; i < m.shardCount(); i++) {
                ShardedStoreManifest.Shard sh = m.shards().get(i);
                out.printf(Locale.ROOT, "  %s: %,d f-grams, fingerprint %s%n", sh.folder(), sh.size(), sh.fingerprint());
            }
        } finally {
            spark.stop();
        }
    }

    private static String sha256(String file, JavaSparkContext spark) throws Exception {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file);
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        try (java.io.InputStream in = p.getFileSystem(spark.hadoopConfiguration()).open(p)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return java.util.HexFormat.of().formatHex(md.digest());
    }
}

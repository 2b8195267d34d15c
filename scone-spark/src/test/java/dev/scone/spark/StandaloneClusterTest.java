package dev.scone.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import dev.scone.fgram.corpus.TokenIdFile;
import dev.scone.fgram.count.CountingConfig;
import dev.scone.fgram.count.CountingResult;
import dev.scone.fgram.count.FgramCounter;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.spark.count.SparkCountingConfig;
import dev.scone.spark.count.SparkCountingConfig.Pruning;
import dev.scone.spark.count.SparkFgramCounter;
import dev.scone.spark.count.SparkFgramCounterTest;
import dev.scone.spark.precompute.CheckpointModelSource;
import dev.scone.spark.precompute.PrecomputeFixture;
import dev.scone.spark.precompute.SparkStorePrecompute;
import dev.scone.store.ShardedStoreManifest;
import dev.scone.store.VectorDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both jobs on a Spark standalone cluster that the test starts on this machine: a master and two
 * workers in their own JVMs, one executor per worker, scone-spark's classes shipped as the
 * application jar. Counting writes the single-machine counter's vocabulary file byte for byte
 * (every pruning path, ties at the cut), and the precompute's sharded store serves the
 * single-file store's float32 vectors bit for bit. Logs stay under
 * {@code target/standalone-cluster/}.
 */
class StandaloneClusterTest {

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void countingAndPrecomputeOnAStandaloneCluster() throws IOException {
        PrecomputeFixture fixture = PrecomputeFixture.create(Files.createDirectories(tmp.resolve("model")));
        LocalSpark.stop(); // a JVM holds one Spark context
        Path logs = Path.of("target", "standalone-cluster").toAbsolutePath();
        deleteTree(logs);
        try (StandaloneCluster cluster = StandaloneCluster.start(logs, 2, 1, "1g")) {
            JavaSparkContext spark = cluster.context("scone-standalone-test", 2, "640m");
            try {
                // the tasks run in two executor JVMs, neither of them this one
                long self = ProcessHandle.current().pid();
                Set<Long> pids = Set.copyOf(spark.parallelize(IntStream.range(0, 8).boxed().toList(), 8)
                        .map(i -> ProcessHandle.current().pid()).collect());
                assertEquals(2, pids.size(), "executor processes " + pids);
                assertFalse(pids.contains(self));

                // broadcast, then join, then broadcast of joined levels, then join of broadcast keys
                count(spark, SparkFgramCounterTest.corpus(2, 50, 300, 120, 70_000), CountingConfig.builder().optMaxN(6)
                        .optMinCount(3).optFirstScanMinCount(2).setTopS(100_000).build(), Pruning.AUTO, 3, 4, 1700);
                // ties at the cut count, broadcast pruning
                count(spark, SparkFgramCounterTest.corpus(1, 60, 400, 40, 0), CountingConfig.builder().optMaxN(5)
                        .optMinCount(2).setTopS(150).build(), Pruning.BROADCAST, 0, 3, 1000);
                // join pruning throughout
                count(spark, SparkFgramCounterTest.corpus(3, 80, 300, 25, 0), CountingConfig.builder().optMaxN(5)
                        .optMinCount(2).optFirstScanMinCount(4).setTopS(100_000).build(), Pruning.JOIN, 0, 3, 3001);
                // three blocks of ids, ranked in 3 partitions on both executors, joined into the file by one task
                count(spark, SparkFgramCounterTest.corpus(6, 100, 800, 3000, 0), CountingConfig.builder().optMaxN(5)
                        .optMinCount(1).setTopS(40_000).build(), Pruning.BROADCAST, 0, 3, 5000);

                Path sharded = tmp.resolve("sharded");
                ShardedStoreManifest m = new SparkStorePrecompute(spark, new SparkStorePrecompute.Settings(3, 2,
                        fixture.batch(), VectorDtype.FLOAT32, PrecomputeFixture.TOKENS_FP, "main-on-cluster"))
                        .run(fixture.vocabularyFile().toString(), new CheckpointModelSource(
                                fixture.checkpoint().toString(), spark.hadoopConfiguration()), sharded.toUri().toString());
                assertEquals(fixture.vocabulary().size(), m.size());
                assertEquals(fixture.modelFingerprint(), m.modelFingerprint());
                fixture.assertSameVectors(sharded, "main-on-cluster");
            } finally {
                spark.stop();
            }
        }
    }

    /**
     * Counts a corpus on the cluster and checks the vocabulary file against the single machine's.
     *
     * @param limitLevel with AUTO: the broadcast limit is that level's survivors (0: the default)
     */
    private void count(JavaSparkContext spark, InMemoryTokenCorpus corpus, CountingConfig counting, Pruning pruning,
            int limitLevel, int partitions, long splitTokens) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "count");
        Path file = dir.resolve("corpus.tok");
        TokenIdFile.write(file, corpus);
        Path single = dir.resolve("single.fgv");
        long limit = SparkCountingConfig.DEFAULT_BROADCAST_LIMIT;
        try (TokenIdFile f = TokenIdFile.open(file)) {
            CountingResult one = new FgramCounter(counting).count(f);
            FgramVocabularyFile.write(one.vocabulary(), single, FgramVocabularyFile.CountedOn.of(f));
            if (limitLevel > 0) {
                limit = one.scans().get(limitLevel - 2).survivors();
            }
        }
        Path distributed = dir.resolve("spark.fgv");
        new SparkFgramCounter(spark, new SparkCountingConfig(counting, partitions, splitTokens, pruning, limit))
                .countToFile(file.toUri().toString(), distributed.toString());
        assertArrayEquals(Files.readAllBytes(single), Files.readAllBytes(distributed), pruning + " on the cluster");
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        List<Path> all;
        try (Stream<Path> s = Files.walk(dir)) {
            all = s.sorted(Comparator.reverseOrder()).collect(Collectors.toList());
        }
        for (Path p : all) {
            Files.deleteIfExists(p);
        }
        assertTrue(Files.notExists(dir));
    }
}

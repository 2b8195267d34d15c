package dev.scone.spark.count;

import dev.scone.fgram.count.CountingResult;
import dev.scone.fgram.count.ScanStats;
import dev.scone.fgram.vocab.FgramVocabulary;
import dev.scone.spark.io.HadoopConf;
import dev.scone.spark.io.HadoopFiles;
import dev.scone.spark.io.TokenIdFileSplits;
import it.unimi.dsi.fastutil.objects.Object2LongMap;
import it.unimi.dsi.fastutil.objects.Object2LongOpenHashMap;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.spark.HashPartitioner;
import org.apache.spark.Partitioner;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Algorithm 3 as a Spark job: builds the same f-gram vocabulary V_fgram as the single-machine
 * {@code FgramCounter}, from a token-id file on any Hadoop-compatible file system.
 *
 * <ul>
 *   <li>The corpus is read in splits of about {@link SparkCountingConfig#splitTokens()} tokens,
 *       one task each ({@link TokenIdFileSplits}); n-grams never cross a document boundary.
 *   <li>One pass per length n = 2..K. Each task counts its split's n-grams locally; the partial
 *       counts are added up in {@link SparkCountingConfig#partitions()} partitions by n-gram hash
 *       and those reaching the scan's threshold survive ({@code firstScanMinCount} for n = 2,
 *       {@code minCount} after).
 *   <li>From n = 3 on, an n-gram counts only when its (n-1)-prefix and (n-1)-suffix both
 *       survived pass n - 1: checked before counting against broadcast survivors, or after
 *       counting by two joins ({@link SparkCountingConfig.Pruning}). Passes stop early when one
 *       leaves no survivor, as the single-machine counter does.
 *   <li>The top S of all lengths together: a histogram of survivor counts finds the cut count c
 *       and how many f-grams counted exactly c still fit; those above c are collected, those at c
 *       are taken shortest-then-lexicographically-smallest first, and the driver ranks the S by
 *       count, then length, then token ids: the single-machine counter's order, so the
 *       vocabulary file is byte-identical.
 * </ul>
 *
 * <p>The first pass also checks every token id and the file's token checksum (each task checksums
 * its split, the driver joins them). The driver holds the S selected f-grams, and with
 * broadcast pruning one level's survivors, in memory.
 */
public final class SparkFgramCounter {

    private static final Logger LOG = LoggerFactory.getLogger(SparkFgramCounter.class);

    private final JavaSparkContext spark;
    private final SparkCountingConfig config;

    /**
     * @param spark the Spark context to run on
     * @param config the settings
     */
    public SparkFgramCounter(JavaSparkContext spark, SparkCountingConfig config) {
        this.spark = Objects.requireNonNull(spark, "spark");
        this.config = Objects.requireNonNull(config, "config");
    }

    /** @return the settings */
    public SparkCountingConfig config() {
        return config;
    }

    /**
     * Counts a token-id file and writes the vocabulary file ({@code FgramVocabularyFile} format).
     *
     * @param tokenIdFile the corpus (Hadoop path or URI)
     * @param vocabularyFile where to write the vocabulary (Hadoop path or URI); replaced atomically
     * @return the vocabulary and per-scan statistics
     * @throws IOException when reading or writing fails, or the corpus file is damaged
     */
    public CountingResult countToFile(String tokenIdFile, String vocabularyFile) throws IOException {
        CountingResult r = count(tokenIdFile);
        HadoopFiles.writeVocabulary(r.vocabulary(), vocabularyFile, spark.hadoopConfiguration());
        return r;
    }

    /**
     * Counts a token-id file.
     *
     * @param tokenIdFile the corpus (Hadoop path or URI)
     * @return the vocabulary and per-scan statistics; a scan's {@code cpuNanos} is the CPU time
     *     of its counting tasks (map side only), its {@code mergeNanos} 0 (merging is inside the
     *     scan's time)
     * @throws IllegalArgumentException when the corpus holds no token, or a token id outside its
     *     vocabulary
     * @throws IOException when reading fails or the corpus file is damaged
     */
    public CountingResult count(String tokenIdFile) throws IOException {
        long t0 = System.nanoTime();
        HadoopConf conf = new HadoopConf(spark.hadoopConfiguration());
        TokenIdFileSplits plan = TokenIdFileSplits.plan(tokenIdFile, conf.get(), config.splitTokens());
        if (plan.tokenCount() == 0) {
            throw new IllegalArgumentException("corpus is empty: " + plan.documentCount() + " documents, 0 tokens");
        }
        LOG.info("{}", plan);
        int maxN = config.counting().maxN();
        Partitioner partitioner = new HashPartitioner(config.partitions());
        JavaRDD<TokenIdFileSplits.Split> splits = spark.parallelize(plan.splits(), plan.splits().size());
        List<JavaPairRDD<Gram, Long>> levels = new ArrayList<>();
        List<Broadcast<?>> broadcasts = new ArrayList<>();
        List<ScanStats> stats = new ArrayList<>();
        long survivorsTotal = 0;
        try {
            JavaPairRDD<Gram, Long> previous = null;
            long previousSize = 0;
            for (int n = 2; n <= maxN; n++) {
                if (n > 2 && previousSize == 0) {
                    break;
                }
                long start = System.nanoTime();
                boolean broadcast = n > 2 && switch (config.pruning()) {
                    case BROADCAST -> true;
                    case JOIN -> false;
                    case AUTO -> previousSize <= config.broadcastLimit();
                };
                Broadcast<GramSet> survivors = null;
                if (broadcast) {
                    survivors = spark.broadcast(new GramSet(n - 1, previous.keys().collect()));
                    broadcasts.add(survivors);
                }
                LongAccumulator occurrences = spark.sc().longAccumulator("occurrences counted, n=" + n);
                LongAccumulator cpu = spark.sc().longAccumulator("counting CPU nanoseconds, n=" + n);
                LongAccumulator distinct = spark.sc().longAccumulator("distinct candidates, n=" + n);
                CollectionAccumulator<long[]> crcs = n == 2 ? spark.sc().collectionAccumulator("split checksums")
                        : null;
                JavaPairRDD<Gram, Long> partial = splits.mapPartitionsToPair(
                        countSplits(plan, conf, n, survivors, occurrences, cpu, crcs));
                int threshold = config.thresholdFor(n);
                // tasks already add up their split's counts: no second map-side combine (and no map-side sort)
                JavaPairRDD<Gram, Long> level = partial.combineByKey(c -> c, Long::sum, Long::sum, partitioner, false,
                        null).filter(t -> {
                    distinct.add(1);
                    return t._2() >= threshold;
                });
                if (n > 2 && !broadcast) {
                    JavaPairRDD<Gram, Boolean> keys = previous.mapValues(c -> Boolean.TRUE);
                    level = level.mapToPair(t -> new Tuple2<>(t._1().prefix(), t)).join(keys, partitioner)
                            .mapToPair(t -> new Tuple2<>(t._2()._1()._1().suffix(), t._2()._1())).join(keys, partitioner)
                            .mapToPair(t -> t._2()._1()).partitionBy(partitioner);
                }
                level = level.persist(StorageLevel.MEMORY_AND_DISK());
                long size = run(level::count);
                if (crcs != null) {
                    Map<Integer, Long> bySplit = new HashMap<>();
                    for (long[] c : crcs.value()) {
                        bySplit.put((int) c[0], c[1]);
                    }
                    plan.verifyTokens(bySplit);
                }
                levels.add(level);
                survivorsTotal += size;
                long nanos = System.nanoTime() - start;
                ScanStats s = new ScanStats(n, threshold, plan.tokenCount(), occurrences.value(), distinct.value(), size,
                        nanos, 0, 0, 0, cpu.value());
                stats.add(s);
                LOG.info("{} ({} pruning)", s, n == 2 ? "no" : broadcast ? "broadcast" : "join");
                previous = level;
                previousSize = size;
            }
            FgramVocabulary vocabulary = select(levels, survivorsTotal, plan.vocabularySize());
            long nanos = System.nanoTime() - t0;
            LOG.info("counted {} tokens in {} s: {} survivors, kept {}", plan.tokenCount(),
                    String.format("%.2f", nanos / 1e9), survivorsTotal, vocabulary.size());
            return new CountingResult(vocabulary, stats, survivorsTotal, nanos);
        } finally {
            for (JavaPairRDD<Gram, Long> l : levels) {
                l.unpersist(false);
            }
            for (Broadcast<?> b : broadcasts) {
                b.destroy();
            }
        }
    }

    /** The map side of one pass: reads splits and counts their n-grams locally. */
    private static org.apache.spark.api.java.function.PairFlatMapFunction<Iterator<TokenIdFileSplits.Split>, Gram, Long>
            countSplits(TokenIdFileSplits plan, HadoopConf conf, int n, Broadcast<GramSet> survivors,
                    LongAccumulator occurrences, LongAccumulator cpu, CollectionAccumulator<long[]> crcs) {
        return it -> {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long cpu0 = threads.getCurrentThreadCpuTime();
            GramSet prev = survivors == null ? null : survivors.value();
            Object2LongOpenHashMap<Gram> counts = new Object2LongOpenHashMap<>();
            long counted = 0;
            while (it.hasNext()) {
                TokenIdFileSplits.Split split = it.next();
                TokenIdFileSplits.Chunk chunk = plan.read(split, n - 1, conf.get());
                if (crcs != null) {
                    plan.checkIds(chunk);
                    crcs.add(new long[] {split.index(), chunk.crc()});
                }
                int[] tok = chunk.tokens();
                long[] off = chunk.docOffsets();
                long base = split.tokenFrom();
                for (int d = 0; d + 1 < off.length; d++) {
                    long from = Math.max(base, off[d]);
                    long to = Math.min(split.tokenTo(), off[d + 1] - n + 1);
                    for (long p = from; p < to; p++) {
                        int i = (int) (p - base);
                        if (prev != null && !(prev.contains(tok, i) && prev.contains(tok, i + 1))) {
                            continue;
                        }
                        counts.addTo(Gram.of(tok, i, n), 1L);
                        counted++;
                    }
                }
            }
            List<Tuple2<Gram, Long>> out = new ArrayList<>(counts.size());
            for (Object2LongMap.Entry<Gram> e : counts.object2LongEntrySet()) {
                out.add(new Tuple2<>(e.getKey(), e.getLongValue()));
            }
            occurrences.add(counted);
            cpu.add(threads.getCurrentThreadCpuTime() - cpu0);
            return out.iterator();
        };
    }

    /** Keeps the top S of all levels and ranks them (count desc, length asc, token ids asc). */
    private FgramVocabulary select(List<JavaPairRDD<Gram, Long>> levels, long total, int tokenVocabularySize) {
        int topS = config.counting().topS();
        JavaPairRDD<Gram, Long> all = levels.get(0);
        for (int i = 1; i < levels.size(); i++) {
            all = all.union(levels.get(i));
        }
        List<Tuple2<Gram, Long>> selected = new ArrayList<>();
        if (total <= topS) {
            selected.addAll(all.collect());
        } else {
            // how many survivors have each count, highest first
            TreeMap<Long, Long> histogram = new TreeMap<>(java.util.Comparator.reverseOrder());
            histogram.putAll(all.mapToPair(t -> new Tuple2<>(t._2(), 1L)).reduceByKey(Long::sum).collectAsMap());
            long remaining = topS;
            long cut = -1;
            long tieQuota = 0;
            for (Map.Entry<Long, Long> e : histogram.entrySet()) {
                if (e.getValue() >= remaining) {
                    cut = e.getKey();
                    tieQuota = remaining;
                    break;
                }
                remaining -= e.getValue();
            }
            long c = cut;
            selected.addAll(all.filter(t -> t._2() > c).collect());
            List<Gram> ties = all.filter(t -> t._2() == c).keys().takeOrdered((int) tieQuota, Gram.NATURAL);
            for (Gram g : ties) {
                selected.add(new Tuple2<>(g, c));
            }
        }
        if (selected.size() != Math.min(total, topS)) {
            throw new IllegalStateException("selected " + selected.size() + " f-grams, expected "
                    + Math.min(total, topS));
        }
        selected.sort(Gram.RANK);
        int s = selected.size();
        int[] offsets = new int[s + 1];
        long tokenTotal = 0;
        for (int r = 0; r < s; r++) {
            tokenTotal += selected.get(r)._1().length();
            if (tokenTotal > Integer.MAX_VALUE - 8) {
                throw new IllegalStateException("the top " + s + " f-grams hold too many tokens for one vocabulary");
            }
            offsets[r + 1] = (int) tokenTotal;
        }
        int[] tokens = new int[(int) tokenTotal];
        long[] counts = new long[s];
        for (int r = 0; r < s; r++) {
            Gram g = selected.get(r)._1();
            for (int k = 0; k < g.length(); k++) {
                tokens[offsets[r] + k] = g.token(k);
            }
            counts[r] = selected.get(r)._2();
        }
        return FgramVocabulary.of(tokenVocabularySize, config.counting().maxN(), offsets, tokens, counts);
    }

    /** Runs a Spark action, turning a task's failure into {@link #unwrap}'s exception. */
    static <T> T run(java.util.concurrent.Callable<T> action) throws IOException {
        try {
            return action.call();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            if (e instanceof SparkException se) {
                throw unwrap(se);
            }
            throw new IllegalStateException(e);
        }
    }

    /**
     * Rethrows a task's failure as the exception the single-machine counter would throw (an id out
     * of range, a damaged file); anything else stays a Spark failure.
     */
    static RuntimeException unwrap(SparkException e) throws IOException {
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
            if (c instanceof IllegalArgumentException iae) {
                throw new IllegalArgumentException(iae.getMessage(), e);
            }
            if (c instanceof dev.scone.fgram.io.SconeFormatException sfe) {
                throw new dev.scone.fgram.io.SconeFormatException(sfe.path(), stripPath(sfe), e);
            }
        }
        throw new IllegalStateException("Spark job failed: " + e.getMessage(), e);
    }

    private static String stripPath(dev.scone.fgram.io.SconeFormatException e) {
        String m = e.getMessage();
        String prefix = (e.path() == null ? "stream" : e.path().toString()) + ": ";
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }
}

package dev.scone.spark.count;

import dev.scone.fgram.count.DistributedScan;
import dev.scone.fgram.count.ScanStats;
import dev.scone.fgram.vocab.FgramVocabularyFile;
import dev.scone.spark.io.HadoopConf;
import dev.scone.spark.io.HadoopFiles;
import dev.scone.spark.io.TokenIdFileSplits;
import it.unimi.dsi.fastutil.longs.Long2LongOpenHashMap;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.HashPartitioner;
import org.apache.spark.Partitioner;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.FlatMapFunction2;
import org.apache.spark.api.java.function.PairFlatMapFunction;
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
 *   <li>One pass per length n = 2..K. Each task counts its split with the single-machine
 *       counter's own inner loops and exact long keys ({@link DistributedScan.PartCounts}) and
 *       ships, per target partition, one block of (key, count) pairs: no object per n-gram. The
 *       blocks are summed ({@link DistributedScan.Merge}) in {@link SparkCountingConfig#partitions()}
 *       partitions by key; those reaching the pass's threshold survive ({@code firstScanMinCount}
 *       for n = 2, {@code minCount} after).
 *   <li>From n = 3 on an n-gram counts only when its (n-1)-prefix and (n-1)-suffix both survived
 *       pass n - 1 ({@link SparkCountingConfig.Pruning}): with {@code BROADCAST} the previous
 *       survivors' keys are broadcast and tasks prune before counting, exactly as the single
 *       machine does (n-grams whose tokens do not fit in 63 bits are keyed by their prefix's
 *       survivor index, so the levels they need go too); with {@code JOIN} every n-gram is
 *       counted (keys of packed tokens, or n-gram tuples when they do not pack) and those reaching
 *       the threshold are joined with the previous survivors by prefix, then by suffix, block by
 *       block. Passes stop early when one leaves no survivor.
 *   <li>The top S of all lengths together, written without passing through the driver: the
 *       levels' count histograms (per length) give the cut: the count c, and at c the length n and
 *       how many of that length still fit (q). Every level block sends the f-grams above the cut,
 *       and at c those shorter than n and its q lexicographically first of length n, into a
 *       distributed sort by the single-machine counter's order (count descending, length ascending,
 *       token ids ascending); each sorted partition encodes the blocks of 2^14 ids it holds whole
 *       ({@code FgramVocabularyFile.newBlock}), and one task joins the blocks, in order, into the
 *       file ({@code FgramVocabularyFile.Assembler}), so the vocabulary file is byte-identical.
 * </ul>
 *
 * <p>The first pass also checks every token id and the file's token checksum (each task checksums
 * its split, the driver joins them). The driver never receives the survivors of a pass, nor the
 * selected f-grams, only: the count histograms (per length and count, how many), the sort's
 * sample of keys (about 20 per partition), the sorted partitions' sizes, each block's token count
 * (4 bytes per 2^14 f-grams), and, for broadcast pruning, the keys of the levels it broadcasts
 * (8 bytes per survivor).
 */
public final class SparkFgramCounter {

    private static final Logger LOG = LoggerFactory.getLogger(SparkFgramCounter.class);

    private final JavaSparkContext spark;
    private final SparkCountingConfig config;

    /** How one pass runs. */
    private enum How {
        /** Counted under packed keys with no level read: nothing can be pruned. */
        ALL,
        /** Pruned before counting against broadcast levels, under the single-machine counter's keys. */
        BROADCAST,
        /** Every n-gram counted under packed keys, then joined with the previous survivors. */
        JOIN_KEYS,
        /** Every n-gram counted as a token tuple (no packed key), then joined with the previous survivors. */
        JOIN_TUPLES
    }

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

    /** What the passes of one count left behind: survivor levels, their broadcasts. */
    private final class Levels {
        final int vocabularySize;
        final List<JavaRDD<GramBlock>> rdds = new ArrayList<>();
        final long[] sizes;
        final boolean[] keyForm;
        final List<Broadcast<LevelKeys>> broadcasts = new ArrayList<>();
        /** Survivor counts of each level: for length n, count -> how many. */
        final Long2LongOpenHashMap[] histograms;
        /** Keys of levels a later pass may broadcast, as received (unsorted); null when not received. */
        final long[][] keys;

        Levels(int maxN, int vocabularySize) {
            this.vocabularySize = vocabularySize;
            this.sizes = new long[maxN + 1];
            this.keyForm = new boolean[maxN + 1];
            this.keys = new long[maxN + 1][];
            this.histograms = new Long2LongOpenHashMap[maxN + 1];
            for (int m = 0; m <= maxN; m++) {
                histograms[m] = new Long2LongOpenHashMap();
                rdds.add(null);
                broadcasts.add(null);
            }
        }

        LevelHandles handles() {
            return new LevelHandles(vocabularySize, broadcasts);
        }

        /** @return whether the levels a pruned pass of length n reads can be broadcast as keys */
        boolean broadcastable(DistributedScan scan, int n) {
            for (int m = scan.lowestLevelRead(n); m < n; m++) {
                if (!keyForm[m] && !scan.packed(m)) {
                    return false;
                }
            }
            return true;
        }

        /** @return the survivors of the levels a pruned pass of length n reads */
        long sizeRead(DistributedScan scan, int n) {
            long s = 0;
            for (int m = scan.lowestLevelRead(n); m < n; m++) {
                s += sizes[m];
            }
            return s;
        }

        /** Broadcasts (once each) the levels a pruned pass of length n reads. */
        void broadcast(DistributedScan scan, int n) throws IOException {
            for (int m = scan.lowestLevelRead(n); m < n; m++) {
                if (broadcasts.get(m) != null) {
                    continue;
                }
                if (sizes[m] > Integer.MAX_VALUE - 8) {
                    throw new IllegalStateException(sizes[m] + " " + m + "-grams survived: too many to broadcast;"
                            + " use the join pruning strategy");
                }
                long[] all = keys[m];
                if (all == null) {
                    int length = m;
                    int v = vocabularySize;
                    all = concat(run(() -> rdds.get(length).map(b -> keysOf(b, v)).collect()));
                }
                if (all.length != sizes[m]) {
                    throw new IllegalStateException("level " + m + " holds " + all.length + " keys, expected " + sizes[m]);
                }
                keys[m] = null;
                DistributedScan.Level level = DistributedScan.Level.of(m, all, all.length);
                broadcasts.set(m, spark.broadcast(new LevelKeys(level, all)));
            }
        }

        void release() {
            for (JavaRDD<GramBlock> r : rdds) {
                if (r != null) {
                    r.unpersist(false);
                }
            }
            for (Broadcast<LevelKeys> b : broadcasts) {
                if (b != null) {
                    b.destroy();
                }
            }
        }
    }

    private static long[] concat(List<long[]> parts) {
        long total = 0;
        for (long[] p : parts) {
            total += p.length;
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(total + " keys are too many to broadcast; use the join pruning strategy");
        }
        long[] all = new long[(int) total];
        int at = 0;
        for (long[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    /** @return the keys of a level block (packing tuples, which must be packable) */
    private static long[] keysOf(GramBlock b, int vocabularySize) {
        if (b.keyForm()) {
            return Arrays.copyOf(b.keys, b.size);
        }
        DistributedScan scan = new DistributedScan(vocabularySize);
        long[] k = new long[b.size];
        for (int i = 0; i < b.size; i++) {
            k[i] = scan.pack(b.tokens, i * b.n, b.n);
        }
        return k;
    }

    /**
     * Counts a token-id file and writes the vocabulary file ({@code FgramVocabularyFile} format
     * version 3), byte for byte the file the single-machine counter's vocabulary makes with the
     * corpus it was counted on ({@code FgramVocabularyFile.write(vocabulary, path,
     * CountedOn.of(corpus))}, as {@code scone count} writes it). The f-grams never pass through the
     * driver: the selection is ranked by a distributed sort, its tasks encode the blocks of 2^14
     * ids they hold, and one task joins the blocks into the file (a stream to a temporary name
     * beside the target, renamed into place), computing the fingerprint as it goes.
     *
     * @param tokenIdFile the corpus (Hadoop path or URI)
     * @param vocabularyFile where to write the vocabulary (Hadoop path or URI); replaced atomically
     * @return what was written and per-scan statistics; a scan's {@code cpuNanos} is the CPU time
     *     of its tasks (counting and summing; not the joins), its {@code mergeNanos} 0 (summing is
     *     inside the scan's time)
     * @throws IllegalArgumentException when the corpus holds no token, or a token id outside its
     *     vocabulary
     * @throws IOException when reading or writing fails or the corpus file is damaged
     */
    public SparkCountingResult countToFile(String tokenIdFile, String vocabularyFile) throws IOException {
        long t0 = System.nanoTime();
        HadoopConf conf = new HadoopConf(spark.hadoopConfiguration());
        TokenIdFileSplits plan = TokenIdFileSplits.plan(tokenIdFile, conf.get(), config.splitTokens());
        if (plan.tokenCount() == 0) {
            throw new IllegalArgumentException("corpus is empty: " + plan.documentCount() + " documents, 0 tokens");
        }
        LOG.info("{}", plan);
        int maxN = config.counting().maxN();
        int partitions = config.partitions();
        int vocabularySize = plan.vocabularySize();
        DistributedScan scan = new DistributedScan(vocabularySize);
        Partitioner partitioner = new HashPartitioner(partitions);
        JavaRDD<TokenIdFileSplits.Split> splits = spark.parallelize(plan.splits(), plan.splits().size());
        Levels levels = new Levels(maxN, vocabularySize);
        List<ScanStats> stats = new ArrayList<>();
        long survivorsTotal = 0;
        long budget = config.counting().memoryBudgetBytes();
        try {
            boolean coversAll = true;
            for (int n = 2; n <= maxN; n++) {
                if (n > 2 && levels.sizes[n - 1] == 0) {
                    break;
                }
                long start = System.nanoTime();
                How how = how(n, coversAll, scan, levels);
                if (how == How.BROADCAST) {
                    levels.broadcast(scan, n);
                }
                LevelHandles handles = levels.handles();
                int threshold = config.thresholdFor(n);
                LongAccumulator occurrences = spark.sc().longAccumulator("occurrences counted, n=" + n);
                LongAccumulator cpu = spark.sc().longAccumulator("task CPU nanoseconds, n=" + n);
                LongAccumulator distinct = spark.sc().longAccumulator("distinct candidates, n=" + n);
                CollectionAccumulator<long[]> crcs = n == 2 ? spark.sc().collectionAccumulator("split checksums")
                        : null;
                boolean tuples = how == How.JOIN_TUPLES;
                JavaPairRDD<Integer, GramBlock> partial = splits.mapPartitionsToPair(countSplits(plan, conf, n,
                        how == How.BROADCAST ? handles : null, tuples, budget, partitions, occurrences, cpu, crcs));
                boolean joined = (how == How.JOIN_KEYS || how == How.JOIN_TUPLES) && !coversAll;
                // a joined level is sorted at the join's end: its sums need no order of their own
                JavaRDD<GramBlock> level = partial.partitionBy(partitioner).mapPartitions(sum(n, tuples, !joined,
                        threshold, distinct, cpu), true);
                if (joined) {
                    level = join(level, levels.rdds.get(n - 1), n, handles, partitioner);
                }
                level = level.persist(StorageLevel.MEMORY_AND_DISK());
                levels.rdds.set(n, level);
                levels.keyForm[n] = !tuples && !joined;
                JavaRDD<GramBlock> counted = level;
                // the pass's one action: sizes, count histograms, and the keys a later pass may broadcast
                // (with AUTO, from blocks small enough for that to be likely: at most twice the limit in all)
                boolean keysWanted = n < maxN && config.pruning() != SparkCountingConfig.Pruning.JOIN
                        && (levels.keyForm[n] || scan.packed(n));
                long keyLimit = config.pruning() == SparkCountingConfig.Pruning.BROADCAST ? Long.MAX_VALUE
                        : 2 * config.broadcastLimit() / partitions + 1024;
                int v = vocabularySize;
                List<LevelSummary> summaries = run(() -> counted.map(b -> LevelSummary.of(b,
                        keysWanted && b.size <= keyLimit ? keysOf(b, v) : null)).collect());
                long size = 0;
                boolean allKeys = keysWanted;
                List<long[]> keyParts = new ArrayList<>();
                for (LevelSummary ls : summaries) {
                    size += ls.size;
                    for (int i = 0; i < ls.histogram.length; i += 2) {
                        levels.histograms[n].addTo(ls.histogram[i], ls.histogram[i + 1]);
                    }
                    allKeys &= ls.keys != null;
                    keyParts.add(ls.keys);
                }
                if (allKeys && (config.pruning() == SparkCountingConfig.Pruning.BROADCAST
                        || size <= config.broadcastLimit())) {
                    levels.keys[n] = concat(keyParts);
                }
                if (crcs != null) {
                    Map<Integer, Long> bySplit = new HashMap<>();
                    for (long[] c : crcs.value()) {
                        bySplit.put((int) c[0], c[1]);
                    }
                    plan.verifyTokens(bySplit);
                }
                levels.sizes[n] = size;
                survivorsTotal += size;
                long d = distinct.value();
                // tasks that ran twice add their candidates twice: that can only turn the shortcut off
                coversAll = coversAll && size == d;
                long nanos = System.nanoTime() - start;
                ScanStats s = new ScanStats(n, threshold, plan.tokenCount(), occurrences.value(), d, size, nanos, 0, 0,
                        0, cpu.value());
                stats.add(s);
                LOG.info("{} ({})", s, how);
            }
            TopCut cut = TopCut.of(levels.histograms, maxN, config.counting().topS());
            String fingerprint = writeTop(levels, plan, conf, maxN, cut, vocabularyFile);
            long nanos = System.nanoTime() - t0;
            LOG.info("counted {} tokens in {} s: {} survivors, kept {}", plan.tokenCount(),
                    String.format("%.2f", nanos / 1e9), survivorsTotal, cut.size());
            return new SparkCountingResult(vocabularyFile, cut.size(), fingerprint, stats, survivorsTotal, nanos);
        } finally {
            levels.release();
        }
    }

    /** Chooses how pass n runs. */
    private How how(int n, boolean coversAll, DistributedScan scan, Levels levels) {
        if (!scan.readsLevels(n, coversAll)) {
            return How.ALL;
        }
        boolean broadcast = switch (config.pruning()) {
            case BROADCAST -> true;
            case JOIN -> false;
            case AUTO -> levels.broadcastable(scan, n) && levels.sizeRead(scan, n) <= config.broadcastLimit();
        };
        if (broadcast) {
            if (!levels.broadcastable(scan, n)) {
                throw new IllegalStateException("the levels below " + n + " were joined as token tuples and cannot"
                        + " be broadcast");
            }
            return How.BROADCAST;
        }
        return scan.packed(n) ? How.JOIN_KEYS : How.JOIN_TUPLES;
    }

    /** The map side of one pass: reads splits, counts their n-grams locally, routes blocks by partition. */
    private static PairFlatMapFunction<Iterator<TokenIdFileSplits.Split>, Integer, GramBlock> countSplits(
            TokenIdFileSplits plan, HadoopConf conf, int n, LevelHandles broadcastLevels, boolean tuples, long budget,
            int partitions, LongAccumulator occurrences, LongAccumulator cpu, CollectionAccumulator<long[]> crcs) {
        return it -> {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long cpu0 = threads.getCurrentThreadCpuTime();
            DistributedScan scan = new DistributedScan(plan.vocabularySize());
            DistributedScan.Level[] levels = broadcastLevels == null ? null : broadcastLevels.levels();
            Path spill = Path.of(System.getProperty("java.io.tmpdir"));
            List<Tuple2<Integer, GramBlock>> out = new ArrayList<>();
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
                GramBlock.Router router = new GramBlock.Router(n, partitions, tuples);
                if (tuples) {
                    TupleTable table = new TupleTable(n, 1 << 12);
                    for (int d = 0; d + 1 < off.length; d++) {
                        long from = Math.max(base, off[d]);
                        long to = Math.min(split.tokenTo(), off[d + 1] - n + 1);
                        for (long p = from; p < to; p++) {
                            table.add(tok, (int) (p - base), 1);
                            counted++;
                        }
                    }
                    GramBlock all = table.atLeast(1);
                    for (int i = 0; i < all.size; i++) {
                        router.addTuple(GramBlock.partitionOf(all.tokens, i * n, n, partitions), all.tokens, i * n,
                                all.counts[i]);
                    }
                } else {
                    try (DistributedScan.PartCounts counts = scan.newPartCounts(n, levels, budget,
                            split.tokenTo() - split.tokenFrom(), spill)) {
                        for (int d = 0; d + 1 < off.length; d++) {
                            long from = Math.max(base, off[d]);
                            long to = Math.min(split.tokenTo(), off[d + 1] - n + 1);
                            if (to > from) {
                                counts.count(tok, (int) (from - base), (int) (to - from));
                            }
                        }
                        counted += counts.occurrences();
                        counts.drain((key, count) -> router.addKey(DistributedScan.partitionOf(key, partitions), key,
                                count));
                    }
                }
                out.addAll(router.blocks());
            }
            occurrences.add(counted);
            cpu.add(threads.getCurrentThreadCpuTime() - cpu0);
            return out.iterator();
        };
    }

    /**
     * The reduce side of one pass: sums one partition's blocks, keeps those reaching the threshold
     * (token tuples sorted when {@code sortTuples}; keys always come sorted).
     */
    private static FlatMapFunction<Iterator<Tuple2<Integer, GramBlock>>, GramBlock> sum(int n, boolean tuples,
            boolean sortTuples, int threshold, LongAccumulator distinct, LongAccumulator cpu) {
        return it -> {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            long cpu0 = threads.getCurrentThreadCpuTime();
            GramBlock result;
            if (tuples) {
                TupleTable table = new TupleTable(n, 1 << 12);
                while (it.hasNext()) {
                    table.addAll(it.next()._2());
                }
                distinct.add(table.size());
                GramBlock kept = table.atLeast(threshold);
                result = sortTuples ? kept.sortedTuples() : kept;
            } else {
                DistributedScan.Merge merge = new DistributedScan.Merge();
                while (it.hasNext()) {
                    GramBlock b = it.next()._2();
                    for (int i = 0; i < b.size; i++) {
                        merge.add(b.keys[i], Math.toIntExact(b.counts[i]));
                    }
                }
                DistributedScan.Survivors s = merge.survivors(threshold);
                distinct.add(s.distinct());
                result = GramBlock.ofKeys(n, s.keys(), s.counts(), s.size());
            }
            cpu.add(threads.getCurrentThreadCpuTime() - cpu0);
            return List.of(result).iterator();
        };
    }

    /**
     * Keeps the candidates whose (n-1)-prefix and (n-1)-suffix are both among the previous pass's
     * survivors: the candidates go to the partition of their prefix, meet the survivors routed there
     * by their own tokens, then the same by suffix. Survivors and candidates travel as blocks.
     *
     * @return one sorted tuple-form block per partition
     */
    private static JavaRDD<GramBlock> join(JavaRDD<GramBlock> candidates, JavaRDD<GramBlock> previous, int n,
            LevelHandles handles, Partitioner partitioner) {
        int partitions = partitioner.numPartitions();
        int m = n - 1;
        JavaPairRDD<Integer, GramBlock> survivors = previous.flatMapToPair(b -> route(b, handles, 0, m, partitions))
                .partitionBy(partitioner);
        JavaRDD<GramBlock> byPrefix = candidates.flatMapToPair(b -> route(b, handles, 0, m, partitions))
                .partitionBy(partitioner).zipPartitions(survivors, keep(m, 0));
        return byPrefix.flatMapToPair(b -> route(b, handles, 1, m, partitions)).partitionBy(partitioner)
                .zipPartitions(survivors, keep(m, 1)).map(GramBlock::sortedTuples);
    }

    /** Routes a block's n-grams (as tuples) by the hash of their {@code len} tokens from {@code from}. */
    private static Iterator<Tuple2<Integer, GramBlock>> route(GramBlock b, LevelHandles handles, int from, int len,
            int partitions) {
        GramBlock t = b.toTuples(handles.scan(), b.keyForm() && !handles.scan().packed(b.n) ? handles.levels() : null);
        GramBlock.Router router = new GramBlock.Router(t.n, partitions, true);
        for (int i = 0; i < t.size; i++) {
            router.addTuple(GramBlock.partitionOf(t.tokens, i * t.n + from, len, partitions), t.tokens, i * t.n,
                    t.counts[i]);
        }
        return router.blocks().iterator();
    }

    /** Keeps the candidates whose {@code m} tokens from {@code from} are among the survivors routed alongside. */
    private static FlatMapFunction2<Iterator<Tuple2<Integer, GramBlock>>, Iterator<Tuple2<Integer, GramBlock>>,
            GramBlock> keep(int m, int from) {
        return (candidates, survivors) -> {
            TupleTable set = new TupleTable(m, 1 << 10);
            while (survivors.hasNext()) {
                set.addAll(survivors.next()._2());
            }
            GramBlock.Router kept = null;
            while (candidates.hasNext()) {
                GramBlock c = candidates.next()._2();
                if (kept == null) {
                    kept = new GramBlock.Router(c.n, 1, true);
                }
                for (int i = 0; i < c.size; i++) {
                    if (set.contains(c.tokens, i * c.n + from)) {
                        kept.addTuple(0, c.tokens, i * c.n, c.counts[i]);
                    }
                }
            }
            List<Tuple2<Integer, GramBlock>> blocks = kept == null ? List.of() : kept.blocks();
            return List.of(blocks.isEmpty() ? GramBlock.ofTuples(m + 1, new int[0], new long[0], 0)
                    : blocks.get(0)._2()).iterator();
        };
    }

    /**
     * Where the top S of all levels ends, from the levels' count histograms: every f-gram counted
     * above {@code count} is kept; of those counted exactly {@code count}, the ones shorter than
     * {@code length}, and the {@code quota} lexicographically first of length {@code length}
     * (the single machine's order: count descending, length ascending, token ids ascending).
     *
     * @param count the count at the cut (0: every survivor is kept)
     * @param length the length at the cut
     * @param quota how many f-grams of that count and length are kept
     * @param size S, the f-grams kept
     * @param tokens their tokens together
     */
    record TopCut(long count, int length, long quota, int size, long tokens) implements java.io.Serializable {

        static TopCut of(Long2LongOpenHashMap[] histograms, int maxN, int topS) {
            it.unimi.dsi.fastutil.longs.LongOpenHashSet all = new it.unimi.dsi.fastutil.longs.LongOpenHashSet();
            for (int n = 2; n <= maxN; n++) {
                all.addAll(histograms[n].keySet());
            }
            long[] counts = all.toLongArray();
            Arrays.sort(counts);
            long kept = 0;
            long tokens = 0;
            for (int i = counts.length - 1; i >= 0; i--) {
                for (int n = 2; n <= maxN; n++) {
                    long howMany = histograms[n].get(counts[i]);
                    if (kept + howMany >= topS) {
                        long quota = topS - kept;
                        return new TopCut(counts[i], n, quota, topS, tokens + quota * n);
                    }
                    kept += howMany;
                    tokens += howMany * n;
                }
            }
            return new TopCut(0, maxN + 1, 0, (int) kept, tokens);
        }

        /** @return whether an f-gram of this count and length, {@code atCut} f-grams of its block after the first at the cut, is kept */
        boolean keeps(long c, int n, long atCut) {
            return c > count || c == count && (n < length || n == length && atCut < quota);
        }
    }

    /**
     * Writes the top S as the vocabulary file: the f-grams each level block keeps go through a
     * distributed sort into rank order; each sorted partition, knowing its first id from the
     * partitions' sizes, encodes the blocks of 2^14 ids it holds whole and hands on the f-grams of
     * the blocks it shares with its neighbours; one task joins the pieces, in order, into the
     * file. The driver holds the histograms, the cut, the partitions' sizes and each block's
     * token count (4 bytes per 2^14 f-grams), never the f-grams.
     *
     * @return the vocabulary's fingerprint
     */
    private String writeTop(Levels levels, TokenIdFileSplits plan, HadoopConf conf, int maxN, TopCut cut,
            String target) throws IOException {
        int size = cut.size();
        int v = plan.vocabularySize();
        JavaRDD<GramBlock> all = null;
        for (int n = 2; n <= maxN; n++) {
            JavaRDD<GramBlock> l = levels.rdds.get(n);
            if (l != null) {
                all = all == null ? l : all.union(l);
            }
        }
        LevelHandles handles = levels.handles();
        long t0 = System.nanoTime();
        JavaRDD<RankedFgram> ranked = all.flatMap(b -> pick(b, cut, handles).iterator())
                .sortBy(r -> r, true, config.partitions()).persist(StorageLevel.MEMORY_AND_DISK_SER());
        JavaRDD<VocabularyPiece> pieces = null;
        try {
            List<long[]> sizes = run(() -> ranked.mapPartitionsWithIndex((p, it) -> {
                long n = 0;
                for (; it.hasNext(); it.next()) {
                    n++;
                }
                return List.of(new long[] {p, n}).iterator();
            }, true).collect());
            long[] from = new long[sizes.size() + 1];
            for (long[] s : sizes) {
                from[(int) s[0] + 1] = s[1];
            }
            for (int p = 0; p < sizes.size(); p++) {
                from[p + 1] += from[p];
            }
            long t1 = System.nanoTime();
            if (from[sizes.size()] < size) {
                throw new IllegalStateException("the ranking holds " + from[sizes.size()] + " f-grams, the top S needs "
                        + size);
            }
            JavaRDD<VocabularyPiece> encoded = ranked.mapPartitionsWithIndex((p, it) -> new PieceIterator(it,
                    (int) Math.min(size, from[p]), (int) Math.min(size, from[p + 1]), size, v, maxN), true)
                    .persist(StorageLevel.MEMORY_AND_DISK_SER());
            pieces = encoded;
            List<long[]> blocks = run(() -> encoded.map(pc -> new long[] {pc.block, pc.fgrams, pc.tokens,
                pc.isWhole() ? 1 : 0}).collect());
            int blockCount = (int) ((size + (long) FgramVocabularyFile.BLOCK_FGRAMS - 1) / FgramVocabularyFile.BLOCK_FGRAMS);
            int[] blockTokens = new int[blockCount];
            long[] blockFgrams = new long[blockCount];
            long tokens = 0;
            int whole = 0;
            for (long[] b : blocks) {
                whole += (int) b[3];
                blockFgrams[(int) b[0]] += b[1];
                blockTokens[(int) b[0]] += (int) b[2];
                tokens += b[2];
            }
            for (int b = 0; b < blockCount; b++) {
                long expected = Math.min(FgramVocabularyFile.BLOCK_FGRAMS, size - (long) b * FgramVocabularyFile.BLOCK_FGRAMS);
                if (blockFgrams[b] != expected) {
                    throw new IllegalStateException("block " + b + " of the ranking holds " + blockFgrams[b]
                            + " f-grams, expected " + expected);
                }
            }
            if (tokens != cut.tokens()) {
                throw new IllegalStateException("the top " + size + " f-grams hold " + tokens + " tokens, the levels'"
                        + " histograms say " + cut.tokens());
            }
            long t2 = System.nanoTime();
            ranked.unpersist(false);
            JavaRDD<VocabularyPiece> inOrder = JavaRDD.fromRDD(encoded.rdd().coalesce(1, false,
                    scala.Option.apply(new InIndexOrder()), null), scala.reflect.ClassTag$.MODULE$.apply(
                            VocabularyPiece.class));
            List<String> fingerprint = run(() -> inOrder.mapPartitions(it -> List.of(assemble(it, target, conf,
                    plan, v, maxN, size, blockTokens)).iterator()).collect());
            LOG.info("top {}: ranked in {} partitions in {} s; {} blocks ({} encoded whole where ranked, {} pieces of"
                    + " shared blocks) in {} s; joined into the file in {} s", size, sizes.size(),
                    String.format("%.2f", (t1 - t0) / 1e9), blockCount, whole, blocks.size() - whole,
                    String.format("%.2f", (t2 - t1) / 1e9), String.format("%.2f", (System.nanoTime() - t2) / 1e9));
            return fingerprint.get(0);
        } finally {
            ranked.unpersist(false);
            if (pieces != null) {
                pieces.unpersist(false);
            }
        }
    }

    /**
     * @return the f-grams of a level block that the cut keeps, in the block's (lexicographic) order;
     *     only those are decoded (the cut reads counts and the length)
     */
    private static List<RankedFgram> pick(GramBlock b, TopCut cut, LevelHandles handles) {
        int n = b.n;
        List<RankedFgram> out = new ArrayList<>();
        DistributedScan.Decoder decoder = null;
        long atCut = 0;
        for (int i = 0; i < b.size; i++) {
            long c = b.counts[i];
            if (cut.keeps(c, n, atCut)) {
                int[] tokens;
                if (b.keyForm()) {
                    if (decoder == null) {
                        DistributedScan scan = handles.scan();
                        decoder = scan.decoder(n, scan.packed(n) ? null : handles.levels());
                    }
                    tokens = new int[n];
                    decoder.decode(b.keys[i], tokens, 0);
                } else {
                    tokens = Arrays.copyOfRange(b.tokens, i * n, (i + 1) * n);
                }
                out.add(new RankedFgram(c, tokens));
            }
            if (c == cut.count() && n == cut.length()) {
                atCut++;
            }
        }
        return out;
    }

    /**
     * One sorted partition's pieces of the file: it holds the ids {@code [from, to)}; the blocks
     * within them are encoded whole, the f-grams of a block that starts before {@code from} or
     * ends after {@code to} go on as a fragment.
     */
    private static final class PieceIterator implements Iterator<VocabularyPiece> {
        private final Iterator<RankedFgram> records;
        private final int to;
        private final int from;
        private final int size;
        private final int tokenVocabularySize;
        private final int maxN;
        private int next;

        PieceIterator(Iterator<RankedFgram> records, int from, int to, int size, int tokenVocabularySize, int maxN) {
            this.records = records;
            this.from = from;
            this.to = to;
            this.next = from;
            this.size = size;
            this.tokenVocabularySize = tokenVocabularySize;
            this.maxN = maxN;
        }

        @Override
        public boolean hasNext() {
            return next < to;
        }

        @Override
        public VocabularyPiece next() {
            if (!hasNext()) {
                throw new java.util.NoSuchElementException();
            }
            int block = next / FgramVocabularyFile.BLOCK_FGRAMS;
            int start = block * FgramVocabularyFile.BLOCK_FGRAMS;
            int end = (int) Math.min(size, (long) start + FgramVocabularyFile.BLOCK_FGRAMS);
            int until = Math.min(end, to);
            VocabularyPiece piece;
            if (start >= from && end <= to) {
                FgramVocabularyFile.BlockBuilder b = FgramVocabularyFile.newBlock(tokenVocabularySize, maxN, size, block);
                for (int id = start; id < end; id++) {
                    RankedFgram r = records.next();
                    b.add(r.tokens, 0, r.tokens.length, r.count);
                }
                piece = VocabularyPiece.whole(b.encode());
            } else {
                int[] lengths = new int[until - next];
                long[] counts = new long[lengths.length];
                it.unimi.dsi.fastutil.ints.IntArrayList tokens = new it.unimi.dsi.fastutil.ints.IntArrayList();
                for (int i = 0; i < lengths.length; i++) {
                    RankedFgram r = records.next();
                    lengths[i] = r.tokens.length;
                    counts[i] = r.count;
                    tokens.addElements(tokens.size(), r.tokens);
                }
                piece = VocabularyPiece.fragment(block, next, lengths, tokens.toIntArray(), counts);
            }
            next = until;
            return piece;
        }
    }

    /** Joins the pieces, in id order, into the vocabulary file; returns its fingerprint. */
    private static String assemble(Iterator<VocabularyPiece> pieces, String target, HadoopConf conf,
            TokenIdFileSplits plan, int tokenVocabularySize, int maxN, int size, int[] blockTokens) throws IOException {
        String[] fingerprint = new String[1];
        Path name = Path.of(target);
        HadoopFiles.writeAtomically(target, conf.get(), out -> {
            FgramVocabularyFile.Assembler file = FgramVocabularyFile.newAssembler(out, name, tokenVocabularySize, maxN,
                    size, plan.countedOn(), blockTokens);
            FgramVocabularyFile.BlockBuilder open = null;
            int openBlock = -1;
            while (pieces.hasNext()) {
                VocabularyPiece p = pieces.next();
                if (p.isWhole() && open == null) {
                    file.append(p.encoded());
                    continue;
                }
                if (open == null) {
                    open = FgramVocabularyFile.newBlock(tokenVocabularySize, maxN, size, p.block);
                    openBlock = p.block;
                }
                if (p.isWhole() || p.block != openBlock
                        || p.firstId != openBlock * FgramVocabularyFile.BLOCK_FGRAMS + open.added()) {
                    throw new IllegalStateException(name + ": a piece of block " + p.block + " from id " + p.firstId
                            + " arrived while block " + openBlock + " had " + open.added() + " f-grams");
                }
                for (int i = 0, at = 0; i < p.fgrams; at += p.lengths[i], i++) {
                    open.add(p.fragmentTokens, at, p.lengths[i], p.counts[i]);
                }
                if (open.added() == open.capacity()) {
                    file.append(open.encode());
                    open = null;
                }
            }
            if (open != null) {
                throw new IllegalStateException(name + ": block " + openBlock + " received " + open.added() + " of its "
                        + open.capacity() + " f-grams");
            }
            fingerprint[0] = file.complete();
        });
        return fingerprint[0];
    }

    /** Coalesces all partitions into one that reads them in index order (Spark's own coalescer may not). */
    private static final class InIndexOrder implements org.apache.spark.rdd.PartitionCoalescer, java.io.Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public org.apache.spark.rdd.PartitionGroup[] coalesce(int maxPartitions, org.apache.spark.rdd.RDD<?> parent) {
            org.apache.spark.rdd.PartitionGroup group = new org.apache.spark.rdd.PartitionGroup(scala.Option.empty());
            for (org.apache.spark.Partition p : parent.partitions()) {
                group.partitions().addOne(p);
            }
            return new org.apache.spark.rdd.PartitionGroup[] {group};
        }
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

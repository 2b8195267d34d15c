package dev.scone.fgram.count;

import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.vocab.FgramVocabulary;
import it.unimi.dsi.fastutil.ints.IntArrays;
import it.unimi.dsi.fastutil.longs.LongArrayList;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the f-gram vocabulary V_fgram from a tokenized corpus: the paper's Algorithm 3.
 *
 * <ul>
 *   <li>One scan per length n = 2..K. The 2-gram scan keeps 2-grams counted at least
 *       {@code firstScanMinCount} times (paper: every 2-gram); later scans keep those counted at
 *       least {@code minCount} times.
 *   <li>From n = 3 on an n-gram is counted only when its (n-1)-prefix and its (n-1)-suffix both
 *       survived the previous scan (Apriori pruning).
 *   <li>N-grams never cross a document boundary.
 *   <li>All survivors, every length together, are ranked by count and the top S kept. Ties are
 *       broken deterministically: higher count first, then shorter, then lexicographically smaller
 *       token ids. The f-gram id is the rank.
 * </ul>
 *
 * <p>Each scan splits the corpus (documents, long ones in chunks) across {@code threads} workers.
 * An n-gram is counted under one exact long key: its tokens packed when they fit in 63 bits,
 * otherwise (index of its surviving (n-1)-prefix, last token). Each worker counts in hash
 * partitions small enough to stay in cache; at the end of the scan the workers' partitions are
 * added up in parallel and only the survivors sorted. When a worker's counts outgrow its share of the memory
 * budget they are written to the spill directory as key-sorted runs (scratch files, deleted after
 * the scan, also on failure) and merged k-way at the end of the scan, as KenLM's lmplz does; the
 * vocabulary is the same. The survivors of every scan are held in memory on top of the budget.
 *
 * <p>A counter is immutable and may be reused; each {@link #count} call is independent.
 */
public final class FgramCounter {

    private static final Logger LOG = LoggerFactory.getLogger(FgramCounter.class);
    /** Positions per work unit: long documents are split so that every worker gets work. */
    static final int CHUNK = 1 << 16;
    private static final int HISTOGRAM = 1 << 16;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final CountingConfig config;

    /**
     * @param config the settings
     */
    public FgramCounter(CountingConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /** @return the settings */
    public CountingConfig config() {
        return config;
    }

    /**
     * Counts the corpus and keeps the top S f-grams.
     *
     * @param corpus the (training) corpus
     * @return the vocabulary and per-scan statistics
     * @throws IllegalArgumentException when the corpus is empty or holds a token id outside its
     *     vocabulary
     * @throws IOException when spilling to disk fails; no scratch file is left behind
     */
    public CountingResult count(TokenCorpus corpus) throws IOException {
        Objects.requireNonNull(corpus, "corpus");
        if (corpus.documentCount() == 0 || corpus.tokenCount() == 0) {
            throw new IllegalArgumentException("corpus is empty: " + corpus.documentCount() + " documents, "
                    + corpus.tokenCount() + " tokens");
        }
        Path spill = config.spillDirectory();
        if (Files.exists(spill) && !Files.isDirectory(spill)) {
            throw new IllegalArgumentException("spill directory " + spill + " is not a directory");
        }
        dev.scone.fgram.io.Temporaries.removeStaleScratch(spill, SortedRuns.SCRATCH_STEP, SortedRuns.SCRATCH_SUFFIX);
        return new Run(corpus).execute(corpus);
    }

    /** The survivors of a scan and how many distinct n-grams it counted. */
    private record Merged(SurvivorLevel level, long distinct) {}

    /** What one worker did in one scan. */
    private record WorkerResult(PartitionedCounts counts, long occurrences, long cpuNanos) {}

    private static void deleteAll(List<SortedRuns.RunFile> files, List<Path> scratch) {
        List<Path> all = new ArrayList<>();
        synchronized (files) {
            for (SortedRuns.RunFile f : files) {
                all.add(f.path());
            }
        }
        synchronized (scratch) {
            all.addAll(scratch);
        }
        for (Path p : all) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                LOG.warn("could not delete scratch file {}: {}", p, e.toString());
            }
        }
    }

    /** Units of work: document index in the high 32 bits, chunk index in the low 32 bits. */
    private static long[] workUnits(TokenCorpus corpus, int n) {
        LongArrayList units = new LongArrayList();
        for (int d = 0; d < corpus.documentCount(); d++) {
            long positions = (long) corpus.documentLength(d) - n + 1;
            for (long c = 0; c * CHUNK < positions; c++) {
                units.add(((long) d << 32) | c);
            }
        }
        return units.toLongArray();
    }

    private static void checkIds(int[] tok, int len, int vocabularySize, int doc, int from) {
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        for (int i = 0; i < len; i++) {
            min = Math.min(min, tok[i]);
            max = Math.max(max, tok[i]);
        }
        if (min < 0 || max >= vocabularySize) {
            for (int i = 0; i < len; i++) {
                if (tok[i] < 0 || tok[i] >= vocabularySize) {
                    throw new IllegalArgumentException("token id " + tok[i] + " at document " + doc + ", position "
                            + (from + i) + " is outside the vocabulary [0, " + vocabularySize + ")");
                }
            }
        }
    }

    /** Collects merged counts that reach the threshold into growable arrays. */
    private static final class SurvivorCollector implements SortedRuns.Sink {
        private final int threshold;
        private final int n;
        private long[] keys = new long[1024];
        private long[] counts = new long[1024];
        private int size;
        long distinct;

        SurvivorCollector(int threshold, int n) {
            this.threshold = threshold;
            this.n = n;
        }

        @Override
        public void accept(long key, long count) {
            distinct++;
            if (count < threshold) {
                return;
            }
            if (size == keys.length) {
                if (size == Integer.MAX_VALUE - 8) {
                    throw new IllegalStateException("more than " + size + " " + n + "-grams survived: raise minCount");
                }
                int cap = (int) Math.min(Integer.MAX_VALUE - 8L, 2L * size);
                keys = java.util.Arrays.copyOf(keys, cap);
                counts = java.util.Arrays.copyOf(counts, cap);
            }
            keys[size] = key;
            counts[size] = count;
            size++;
        }

        SurvivorLevel level(int n) {
            return new SurvivorLevel(n, java.util.Arrays.copyOf(keys, size), java.util.Arrays.copyOf(counts, size),
                    size);
        }
    }

    /** One {@link #count} call: the state shared by its scans. */
    private final class Run {
        private final KeyScheme keys;
        private final boolean[] coversAll;

        Run(TokenCorpus corpus) {
            keys = new KeyScheme(corpus.vocabularySize());
            coversAll = new boolean[config.maxN() + 1];
        }

        CountingResult execute(TokenCorpus corpus) throws IOException {
            long t0 = System.nanoTime();
            int maxN = config.maxN();
            SurvivorLevel[] levels = new SurvivorLevel[maxN + 1];
            List<ScanStats> stats = new ArrayList<>();
            AtomicInteger threadIds = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(config.threads(), r -> {
                Thread t = new Thread(r, "scone-count-" + threadIds.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            try {
                for (int n = 2; n <= maxN; n++) {
                    if (n > 2 && levels[n - 1].size == 0) {
                        break;
                    }
                    if (DistributedScan.readsLevels(keys, n, coversAll[n - 1])) {
                        for (int m = DistributedScan.packedBase(keys, n - 1); m < n; m++) {
                            levels[m].buildIndex();
                        }
                    }
                    ScanStats s = scan(corpus, n, levels, pool);
                    coversAll[n] = (n == 2 || coversAll[n - 1]) && s.survivors() == s.distinctCandidates();
                    stats.add(s);
                    LOG.info("{}", s);
                }
            } finally {
                pool.shutdownNow();
            }
            for (SurvivorLevel l : levels) {
                if (l != null) {
                    l.dropIndex();
                }
            }
            long survivors = 0;
            for (int n = 2; n <= maxN; n++) {
                survivors += levels[n] == null ? 0 : levels[n].size;
            }
            FgramVocabulary vocabulary = rank(levels, corpus.vocabularySize());
            long nanos = System.nanoTime() - t0;
            LOG.info("counted {} tokens in {} s: {} survivors, kept {}", corpus.tokenCount(),
                    String.format("%.2f", nanos / 1e9), survivors, vocabulary.size());
            return new CountingResult(vocabulary, stats, survivors, nanos);
        }

        private ScanStats scan(TokenCorpus corpus, int n, SurvivorLevel[] levels, ExecutorService pool)
                throws IOException {
            long start = System.nanoTime();
            long[] units = workUnits(corpus, n);
            int threads = config.threads();
            long share = config.memoryBudgetBytes() / threads;
            AtomicInteger next = new AtomicInteger();
            AtomicBoolean failed = new AtomicBoolean();
            List<SortedRuns.RunFile> files = Collections.synchronizedList(new ArrayList<>());
            List<Path> scratch = Collections.synchronizedList(new ArrayList<>());
            long[] spilled = new long[1];
            try {
                List<Future<WorkerResult>> futures = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    futures.add(pool.submit(() -> {
                        try {
                            return work(corpus, n, levels, units, next, failed, share, files);
                        } catch (Throwable e) {
                            failed.set(true);
                            throw e;
                        }
                    }));
                }
                List<WorkerResult> results = new ArrayList<>();
                Throwable failure = null;
                for (Future<WorkerResult> f : futures) {
                    try {
                        results.add(f.get());
                    } catch (ExecutionException e) {
                        failure = failure == null ? e.getCause() : failure;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        failed.set(true);
                        throw new IOException("interrupted while counting " + n + "-grams", e);
                    }
                }
                if (failure != null) {
                    if (failure instanceof IOException io) {
                        throw io;
                    }
                    if (failure instanceof UncheckedIOException io) {
                        throw io.getCause();
                    }
                    if (failure instanceof RuntimeException re) {
                        throw re;
                    }
                    if (failure instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(failure);
                }
                long countEnd = System.nanoTime();
                long mergeCpu0 = THREADS.getCurrentThreadCpuTime();
                long cpu = 0;
                long occurrences = 0;
                List<PartitionedCounts> partials = new ArrayList<>();
                for (WorkerResult r : results) {
                    occurrences += r.occurrences();
                    cpu += r.cpuNanos();
                    partials.add(r.counts());
                }
                int runs;
                List<SortedRuns.RunFile> runFiles;
                synchronized (files) {
                    runFiles = new ArrayList<>(files);
                }
                runs = runFiles.size();
                for (SortedRuns.RunFile f : runFiles) {
                    spilled[0] += f.bytes();
                }
                int threshold = config.thresholdFor(n);
                long distinct;
                long[] mergeCpu = new long[1];
                if (runFiles.isEmpty() && corpus.tokenCount() < Integer.MAX_VALUE) {
                    // nothing spilled: workers' partitions hold the same keys, add them up partition by
                    // partition and sort only the survivors (int counts cannot overflow here)
                    Merged merged = hashMerge(partials, threshold, n, pool, mergeCpu);
                    levels[n] = merged.level();
                    distinct = merged.distinct();
                } else {
                    List<CountTable.SortedEntries> memory = finishAll(partials, pool, mergeCpu);
                    SurvivorCollector collector = new SurvivorCollector(threshold, n);
                    SortedRuns.merge(runFiles, memory, config.spillDirectory(), scratch, spilled, collector);
                    levels[n] = collector.level(n);
                    distinct = collector.distinct;
                }
                cpu += mergeCpu[0];
                long end = System.nanoTime();
                cpu += THREADS.getCurrentThreadCpuTime() - mergeCpu0;
                return new ScanStats(n, threshold, corpus.tokenCount(), occurrences, distinct, levels[n].size,
                        countEnd - start, end - countEnd, spilled[0], runs, cpu);
            } finally {
                failed.set(true);
                deleteAll(files, scratch);
            }
        }

        private WorkerResult work(TokenCorpus corpus, int n, SurvivorLevel[] levels, long[] units, AtomicInteger next,
                AtomicBoolean failed, long share, List<SortedRuns.RunFile> files) throws IOException {
            long cpu0 = THREADS.getCurrentThreadCpuTime();
            long perThread = corpus.tokenCount() / config.threads() + 1;
            PartitionedCounts partitions = PartitionedCounts.within(share, perThread, run -> spill(run, files));
            // the per-chunk loop is the one distributed counters run too (DistributedScan)
            DistributedScan.PartCounts counts = new DistributedScan.PartCounts(keys, n,
                    DistributedScan.readsLevels(keys, n, coversAll[n - 1]) ? levels : null, partitions, files,
                    config.spillDirectory());
            int[] tok = new int[CHUNK + n];
            long occurrences = 0;
            int vocabularySize = corpus.vocabularySize();
            int u;
            while ((u = next.getAndIncrement()) < units.length && !failed.get()) {
                int doc = (int) (units[u] >>> 32);
                int from = (int) units[u] * CHUNK;
                int docLength = corpus.documentLength(doc);
                int posEnd = (int) Math.min((long) from + CHUNK, (long) docLength - n + 1);
                int len = posEnd + n - 1 - from;
                int positions = posEnd - from;
                IntBuffer buf = corpus.tokens(doc);
                buf.get(from, tok, 0, len);
                if (n == 2) {
                    checkIds(tok, len, vocabularySize, doc, from);
                }
                occurrences += counts.countChunk(tok, 0, positions);
            }
            partitions.flush();
            return new WorkerResult(partitions, occurrences, THREADS.getCurrentThreadCpuTime() - cpu0);
        }

        private void spill(CountTable.SortedEntries run, List<SortedRuns.RunFile> files) throws IOException {
            Files.createDirectories(config.spillDirectory());
            SortedRuns.RunFile f = SortedRuns.write(run, config.spillDirectory());
            files.add(f);
            LOG.debug("spilled {} entries ({} bytes) to {}", f.entries(), f.bytes(), f.path());
        }

        /** Runs {@code tasks} on the pool, adds their CPU time to {@code cpuNanos[0]}, rethrows their failure. */
        private <T> List<T> runAll(List<Callable<T>> tasks, ExecutorService pool, long[] cpuNanos, String what)
                throws IOException {
            List<Future<T>> futures = new ArrayList<>();
            long[] cpu = new long[tasks.size()];
            for (int i = 0; i < tasks.size(); i++) {
                Callable<T> task = tasks.get(i);
                int index = i;
                futures.add(pool.submit(() -> {
                    long cpu0 = THREADS.getCurrentThreadCpuTime();
                    try {
                        return task.call();
                    } finally {
                        cpu[index] = THREADS.getCurrentThreadCpuTime() - cpu0;
                    }
                }));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                try {
                    out.add(f.get());
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof IOException io) {
                        throw io;
                    }
                    if (c instanceof RuntimeException re) {
                        throw re;
                    }
                    if (c instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(c);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while " + what, e);
                }
            }
            for (long c : cpu) {
                cpuNanos[0] += c;
            }
            return out;
        }

        /** Turns every worker's counts into a key-sorted in-memory run, one task per worker. */
        private List<CountTable.SortedEntries> finishAll(List<PartitionedCounts> partials, ExecutorService pool,
                long[] cpuNanos) throws IOException {
            List<Callable<CountTable.SortedEntries>> tasks = new ArrayList<>();
            for (PartitionedCounts p : partials) {
                tasks.add(p::finish);
            }
            return runAll(tasks, pool, cpuNanos, "sorting counts");
        }

        /**
         * Adds up the workers' counts partition by partition (the partition of a key is the same in
         * every worker), keeps those reaching the threshold and sorts them by key.
         */
        private Merged hashMerge(List<PartitionedCounts> partials, int threshold, int n,
                ExecutorService pool, long[] cpuNanos) throws IOException {
            int partitions = partials.get(0).partitions();
            int taskCount = Math.min(partitions, config.threads() * 4);
            List<Callable<long[][]>> tasks = new ArrayList<>();
            long[] distinct = new long[taskCount];
            for (int t = 0; t < taskCount; t++) {
                int task = t;
                int from = (int) ((long) partitions * t / taskCount);
                int to = (int) ((long) partitions * (t + 1) / taskCount);
                tasks.add(() -> {
                    LongArrayList keysOut = new LongArrayList();
                    LongArrayList countsOut = new LongArrayList();
                    for (int p = from; p < to; p++) {
                        CountTable target = partials.get(0).table(p);
                        for (int w = 1; w < partials.size(); w++) {
                            target.addAll(partials.get(w).table(p));
                            partials.get(w).release(p);
                        }
                        distinct[task] += target.size();
                        target.collect(threshold, keysOut, countsOut);
                        partials.get(0).release(p);
                    }
                    return new long[][] {keysOut.toLongArray(), countsOut.toLongArray()};
                });
            }
            for (PartitionedCounts p : partials) {
                p.close();
            }
            List<long[][]> parts = runAll(tasks, pool, cpuNanos, "merging " + n + "-gram counts");
            long total = 0;
            for (long[][] part : parts) {
                total += part[0].length;
            }
            if (total > Integer.MAX_VALUE - 8) {
                throw new IllegalStateException("more than " + (Integer.MAX_VALUE - 8) + " " + n
                        + "-grams survived: raise minCount");
            }
            int m = (int) total;
            long[] keys = new long[m];
            long[] counts = new long[m];
            int[] order = new int[m];
            int pos = 0;
            for (long[][] part : parts) {
                System.arraycopy(part[0], 0, keys, pos, part[0].length);
                System.arraycopy(part[1], 0, counts, pos, part[1].length);
                pos += part[0].length;
            }
            for (int i = 0; i < m; i++) {
                order[i] = i;
            }
            RadixSort.sort(keys, order, m, new long[m], new int[m]);
            long[] sortedCounts = new long[m];
            for (int i = 0; i < m; i++) {
                sortedCounts[i] = counts[order[i]];
            }
            long distinctTotal = 0;
            for (long d : distinct) {
                distinctTotal += d;
            }
            return new Merged(new SurvivorLevel(n, keys, sortedCounts, m), distinctTotal);
        }

        /** Ranks every survivor (count desc, length asc, tokens lexicographic) and keeps the top S. */
        private FgramVocabulary rank(SurvivorLevel[] levels, int tokenVocabularySize) {
            int maxN = config.maxN();
            long total = 0;
            for (int n = 2; n <= maxN; n++) {
                total += levels[n] == null ? 0 : levels[n].size;
            }
            int s = (int) Math.min(config.topS(), total);
            long cut = 0; // counts above cut are all kept; counts equal to cut fill the remaining quota
            long tieQuota = Long.MAX_VALUE;
            if (total > config.topS()) {
                long[] small = new long[HISTOGRAM];
                LongArrayList big = new LongArrayList();
                for (int n = 2; n <= maxN; n++) {
                    SurvivorLevel l = levels[n];
                    for (int i = 0; l != null && i < l.size; i++) {
                        long c = l.counts[i];
                        if (c < HISTOGRAM) {
                            small[(int) c]++;
                        } else {
                            big.add(c);
                        }
                    }
                }
                long[] bigCounts = big.toLongArray();
                java.util.Arrays.sort(bigCounts);
                long remaining = config.topS();
                boolean found = false;
                for (int i = bigCounts.length - 1; i >= 0 && !found; ) {
                    long v = bigCounts[i];
                    int j = i;
                    while (j >= 0 && bigCounts[j] == v) {
                        j--;
                    }
                    long m = i - j;
                    if (m >= remaining) {
                        cut = v;
                        tieQuota = remaining;
                        found = true;
                    } else {
                        remaining -= m;
                    }
                    i = j;
                }
                for (int v = HISTOGRAM - 1; v >= 1 && !found; v--) {
                    if (small[v] >= remaining) {
                        cut = v;
                        tieQuota = remaining;
                        found = true;
                    } else {
                        remaining -= small[v];
                    }
                }
            }
            int[] selLevel = new int[s];
            int[] selIndex = new int[s];
            long[] selCount = new long[s];
            int k = 0;
            for (int n = 2; n <= maxN; n++) {
                SurvivorLevel l = levels[n];
                for (int i = 0; l != null && i < l.size; i++) {
                    long c = l.counts[i];
                    if (c > cut || (c == cut && tieQuota > 0)) {
                        if (c == cut) {
                            tieQuota--;
                        }
                        selLevel[k] = n;
                        selIndex[k] = i;
                        selCount[k] = c;
                        k++;
                    }
                }
            }
            if (k != s) {
                throw new IllegalStateException("selected " + k + " f-grams, expected " + s);
            }
            // selection order is (length asc, lexicographic): sort by count desc, selection order breaking ties
            int[] perm = new int[s];
            for (int i = 0; i < s; i++) {
                perm[i] = i;
            }
            IntArrays.quickSort(perm, (a, b) -> {
                int c = Long.compare(selCount[b], selCount[a]);
                return c != 0 ? c : Integer.compare(a, b);
            });
            FgramVocabulary.Builder vocabulary = FgramVocabulary.builder(tokenVocabularySize, maxN);
            int[] tokens = new int[maxN];
            for (int r = 0; r < s; r++) {
                int p = perm[r];
                int level = selLevel[p];
                int id = selIndex[p];
                DistributedScan.decode(keys, levels, level, levels[level].keys[id], tokens, 0);
                vocabulary.add(tokens, 0, level, selCount[p]);
            }
            return vocabulary.build();
        }
    }
}

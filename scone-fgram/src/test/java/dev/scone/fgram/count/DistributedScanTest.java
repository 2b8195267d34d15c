package dev.scone.fgram.count;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DistributedScanTest {

    @TempDir
    Path tmp;

    /**
     * Algorithm 3's survivors as a distributed counter computes them with the public pieces: the
     * corpus cut into {@code parts} parts at arbitrary positions (documents split across parts), each
     * counted by its own {@link DistributedScan.PartCounts}, routed to {@code partitions} merges.
     */
    private List<Map<List<Integer>, Long>> distributed(InMemoryTokenCorpus corpus, int maxN, int firstMin, int min,
            int parts, int partitions, long budget, long mergeLimit) throws IOException {
        DistributedScan scan = new DistributedScan(corpus.vocabularySize());
        DistributedScan.Level[] levels = new DistributedScan.Level[maxN + 1];
        List<Map<List<Integer>, Long>> out = new ArrayList<>(List.of(Map.of(), Map.of()));
        boolean coversAll = true;
        for (int n = 2; n <= maxN; n++) {
            DistributedScan.Merge[] merges = new DistributedScan.Merge[partitions];
            for (int p = 0; p < partitions; p++) {
                merges[p] = new DistributedScan.Merge(mergeLimit);
            }
            long occurrences = 0;
            for (int part = 0; part < parts; part++) {
                try (DistributedScan.PartCounts counts = scan.newPartCounts(n, scan.readsLevels(n, coversAll) ? levels
                        : null, budget, 1000, tmp)) {
                    for (int d = 0; d < corpus.documentCount(); d++) {
                        int[] doc = corpus.document(d);
                        int positions = doc.length - n + 1;
                        // part `part` holds positions [from, to) of every document
                        int from = (int) ((long) positions * part / parts);
                        int to = (int) ((long) positions * (part + 1) / parts);
                        if (positions > 0) {
                            counts.count(doc, from, to - from);
                        }
                    }
                    occurrences += counts.occurrences();
                    counts.drain((key, count) -> merges[DistributedScan.partitionOf(key, partitions)].add(key,
                            Math.toIntExact(count)));
                }
            }
            int threshold = n == 2 ? firstMin : min;
            List<Long> keys = new ArrayList<>();
            Map<Long, Long> counts = new HashMap<>();
            long distinct = 0;
            for (DistributedScan.Merge m : merges) {
                DistributedScan.Survivors s = m.survivors(threshold);
                distinct += s.distinct();
                for (int i = 0; i < s.size(); i++) {
                    assertTrue(i == 0 || s.keys()[i - 1] < s.keys()[i], "survivors in key order");
                    assertTrue(s.counts()[i] >= threshold);
                    keys.add(s.keys()[i]);
                    counts.put(s.keys()[i], s.counts()[i]);
                }
            }
            assertTrue(occurrences >= distinct);
            long[] k = keys.stream().mapToLong(Long::longValue).toArray();
            levels[n] = DistributedScan.Level.of(n, k, k.length);
            Map<List<Integer>, Long> level = new HashMap<>();
            int[] g = new int[n];
            DistributedScan.Decoder decoder = scan.decoder(n, levels);
            for (int i = 0; i < levels[n].size(); i++) {
                assertEquals(i, levels[n].indexOf(levels[n].key(i)));
                decoder.decode(levels[n].key(i), g, 0);
                level.put(java.util.Arrays.stream(g).boxed().toList(),
                        counts.get(levels[n].key(i)));
            }
            out.add(level);
            coversAll &= level.size() == distinct;
        }
        return out;
    }

    @Test
    void partsAndMergesGiveTheSurvivorsOfBruteForce() throws IOException {
        SplittableRandom rnd = new SplittableRandom(77);
        for (int trial = 0; trial < 24; trial++) {
            InMemoryTokenCorpus corpus = FgramCounterTest.zipfCorpus(500 + trial, 1 + rnd.nextInt(20), rnd.nextInt(300),
                    2 + rnd.nextInt(40));
            if (trial % 3 == 1) {
                // wide ids: keys of 3-grams and longer are (prefix index, last token)
                corpus = FgramCounterTest.spread(corpus, (1 << (20 + rnd.nextInt(11))) + rnd.nextInt(1000));
            }
            int maxN = 2 + rnd.nextInt(5);
            int firstMin = 1 + rnd.nextInt(4);
            int min = 1 + rnd.nextInt(4);
            List<Map<List<Integer>, Long>> expected = BruteForceCounter.survivors(corpus, maxN, firstMin, min, true);
            long budget = trial % 4 == 0 ? CountingConfig.MIN_MEMORY_BUDGET_BYTES : 1L << 24; // small: spills
            long mergeLimit = trial % 5 == 0 ? 7 : Integer.MAX_VALUE; // small: sums in sorted runs
            List<Map<List<Integer>, Long>> actual = distributed(corpus, maxN, firstMin, min, 1 + rnd.nextInt(4),
                    1 + rnd.nextInt(5), budget, mergeLimit);
            for (int n = 2; n <= maxN; n++) {
                assertEquals(expected.get(n), actual.get(n), "trial " + trial + ", n = " + n);
            }
        }
        assertEquals(0, Files.list(tmp).count(), "no scratch file is left");
    }

    @Test
    void spilledPartsDrainInKeyOrder() throws IOException {
        InMemoryTokenCorpus corpus = FgramCounterTest.zipfCorpus(3, 30, 3000, 5000);
        DistributedScan scan = new DistributedScan(corpus.vocabularySize());
        List<Long> keys = new ArrayList<>();
        try (DistributedScan.PartCounts counts = scan.newPartCounts(2, null, CountingConfig.MIN_MEMORY_BUDGET_BYTES,
                1000, tmp)) {
            for (int d = 0; d < corpus.documentCount(); d++) {
                int[] doc = corpus.document(d);
                counts.count(doc, 0, doc.length - 1);
            }
            assertTrue(counts.spilled(), "a 64 KiB budget spills");
            counts.drain((key, count) -> keys.add(key));
        }
        for (int i = 1; i < keys.size(); i++) {
            assertTrue(keys.get(i - 1) < keys.get(i));
        }
        assertEquals(0, Files.list(tmp).count());
    }

    @Test
    void misuseIsRefused() {
        DistributedScan scan = new DistributedScan(1 << 20); // 20-bit ids: 4-grams are not packed
        assertTrue(scan.packed(3));
        assertTrue(!scan.packed(4));
        assertEquals(3, scan.lowestLevelRead(5));
        assertThrows(IllegalArgumentException.class, () -> scan.newPartCounts(4, null, 1 << 20, 10, tmp));
        assertThrows(IllegalArgumentException.class, () -> scan.newPartCounts(2, new DistributedScan.Level[3],
                1 << 20, 10, tmp));
        assertThrows(NullPointerException.class, () -> scan.newPartCounts(3, new DistributedScan.Level[3],
                1 << 20, 10, tmp));
        assertThrows(IllegalArgumentException.class, () -> scan.newPartCounts(3, null, 1000, 10, tmp));
        assertThrows(IllegalArgumentException.class, () -> DistributedScan.Level.of(2, new long[] {3, 1, 3}, 3));
        assertThrows(IllegalArgumentException.class, () -> new DistributedScan.Merge().add(1, 0));
        assertThrows(IllegalArgumentException.class, () -> new DistributedScan(0));
        long[] k = {9, 4, 7};
        DistributedScan.Level l = DistributedScan.Level.of(2, k, 3);
        assertArrayEquals(new long[] {4, 7, 9}, k);
        assertEquals(-1, l.indexOf(5));
        assertEquals(2, l.indexOf(9));
    }
}

package dev.scone.fgram.count;

import dev.scone.fgram.corpus.TokenCorpus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The obvious Algorithm 3 with hash maps of token lists: the reference the optimised counter must equal. */
final class BruteForceCounter {

    /** One ranked f-gram. */
    record Entry(List<Integer> tokens, long count) {}

    private BruteForceCounter() {}

    /** Counts every n-gram (n = 2..maxN) inside documents, optionally with the Apriori rule, then thresholds. */
    static List<Map<List<Integer>, Long>> survivors(TokenCorpus corpus, int maxN, int firstMin, int min,
            boolean apriori) {
        List<Map<List<Integer>, Long>> levels = new ArrayList<>();
        levels.add(Map.of());
        levels.add(Map.of());
        Set<List<Integer>> previous = null;
        for (int n = 2; n <= maxN; n++) {
            Map<List<Integer>, Long> counts = new HashMap<>();
            for (int d = 0; d < corpus.documentCount(); d++) {
                int[] doc = corpus.document(d);
                for (int i = 0; i + n <= doc.length; i++) {
                    List<Integer> gram = new ArrayList<>(n);
                    for (int k = 0; k < n; k++) {
                        gram.add(doc[i + k]);
                    }
                    if (apriori && n > 2
                            && !(previous.contains(gram.subList(0, n - 1)) && previous.contains(gram.subList(1, n)))) {
                        continue;
                    }
                    counts.merge(gram, 1L, Long::sum);
                }
            }
            int threshold = n == 2 ? firstMin : min;
            Map<List<Integer>, Long> kept = new HashMap<>();
            counts.forEach((g, c) -> {
                if (c >= threshold) {
                    kept.put(g, c);
                }
            });
            levels.add(kept);
            previous = new HashSet<>(kept.keySet());
        }
        return levels;
    }

    /** The reference vocabulary: every survivor ranked (count desc, shorter, lexicographic), top S. */
    static List<Entry> vocabulary(TokenCorpus corpus, CountingConfig config) {
        List<Map<List<Integer>, Long>> levels =
                survivors(corpus, config.maxN(), config.firstScanMinCount(), config.minCount(), true);
        List<Entry> all = new ArrayList<>();
        for (Map<List<Integer>, Long> level : levels) {
            level.forEach((g, c) -> all.add(new Entry(g, c)));
        }
        all.sort((a, b) -> {
            int c = Long.compare(b.count(), a.count());
            if (c != 0) {
                return c;
            }
            c = Integer.compare(a.tokens().size(), b.tokens().size());
            if (c != 0) {
                return c;
            }
            for (int k = 0; k < a.tokens().size(); k++) {
                c = Integer.compare(a.tokens().get(k), b.tokens().get(k));
                if (c != 0) {
                    return c;
                }
            }
            return 0;
        });
        return all.subList(0, Math.min(config.topS(), all.size()));
    }
}

package dev.scone.fgram.match;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/** Generated corpora and vocabularies shared by the matcher tests. */
final class MatcherFixtures {

    private MatcherFixtures() {}

    /** @return random token ids, skewed towards small ids */
    static int[] randomCorpus(Random r, int length, int tokenRange) {
        int[] s = new int[length];
        for (int i = 0; i < length; i++) {
            // Skewed towards small ids so that n-grams repeat.
            double u = r.nextDouble();
            s[i] = Math.min(tokenRange - 1, (int) (tokenRange * u * u * u));
        }
        return s;
    }

    /**
     * Counts every n-gram (2..K) of the corpus and keeps the top S by count, ties shorter first,
     * then lexicographic: the way Algorithm 3 ranks; the result is suffix-closed.
     */
    static List<int[]> countedFgrams(int[] corpus, int maxN, int topS) {
        Map<List<Integer>, Integer> counts = new HashMap<>();
        for (int n = 2; n <= maxN; n++) {
            for (int i = 0; i + n <= corpus.length; i++) {
                counts.merge(asList(Arrays.copyOfRange(corpus, i, i + n)), 1, Integer::sum);
            }
        }
        List<Map.Entry<List<Integer>, Integer>> all = new ArrayList<>(counts.entrySet());
        all.sort((a, b) -> {
            int c = Integer.compare(b.getValue(), a.getValue());
            if (c != 0) {
                return c;
            }
            c = Integer.compare(a.getKey().size(), b.getKey().size());
            for (int k = 0; c == 0 && k < a.getKey().size(); k++) {
                c = Integer.compare(a.getKey().get(k), b.getKey().get(k));
            }
            return c;
        });
        List<int[]> out = new ArrayList<>();
        for (int k = 0; k < Math.min(topS, all.size()); k++) {
            out.add(all.get(k).getKey().stream().mapToInt(Integer::intValue).toArray());
        }
        return out;
    }

    static List<Integer> asList(int[] a) {
        List<Integer> l = new ArrayList<>(a.length);
        for (int x : a) {
            l.add(x);
        }
        return l;
    }

    static FgramVocabulary vocabulary(int tokenRange, int maxN, List<int[]> fgrams) {
        long[] counts = new long[fgrams.size()];
        Arrays.fill(counts, 1);
        return FgramVocabulary.of(tokenRange, maxN, fgrams, counts);
    }

    /**
     * N-grams of a corpus, kept at random: neither prefix- nor suffix-closed unless asked for
     * (then every prefix and suffix of a kept n-gram is kept too).
     */
    static List<int[]> sampled(Random r, int[] corpus, int maxN, int tokenRange, int count, boolean close) {
        Set<List<Integer>> seen = new HashSet<>();
        List<int[]> out = new ArrayList<>();
        for (int a = 0; a < count * 4 && out.size() < count; a++) {
            int n = 2 + r.nextInt(maxN - 1);
            int[] g = new int[n];
            if (r.nextInt(8) == 0) {
                for (int k = 0; k < n; k++) {
                    g[k] = r.nextInt(tokenRange);
                }
            } else {
                int at = r.nextInt(corpus.length - n + 1);
                g = Arrays.copyOfRange(corpus, at, at + n);
            }
            List<int[]> parts = new ArrayList<>();
            parts.add(g);
            if (close) {
                for (int from = 0; from < n; from++) {
                    for (int to = from + 2; to <= n; to++) {
                        parts.add(Arrays.copyOfRange(g, from, to));
                    }
                }
            }
            for (int[] part : parts) {
                if (seen.add(asList(part))) {
                    out.add(part);
                }
            }
        }
        return out;
    }
}

package dev.scone.core.testing;

import dev.scone.fgram.corpus.InMemoryTokenCorpus;
import dev.scone.fgram.corpus.TokenCorpus;
import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Small generated corpora and vocabularies for testing the machinery, with fixed seeds. */
public final class Fixtures {

    private Fixtures() {}

    /**
     * A corpus of random documents drawn from a small Markov chain, so that n-grams repeat.
     *
     * @param seed the seed
     * @param documents number of documents
     * @param minLength shortest document
     * @param maxLength longest document
     * @param vocabularySize V
     * @return the corpus
     */
    public static TokenCorpus markovCorpus(long seed, int documents, int minLength, int maxLength,
            int vocabularySize) {
        Random r = new Random(seed);
        int[][] next = new int[vocabularySize][3];
        for (int[] row : next) {
            for (int k = 0; k < row.length; k++) {
                row[k] = r.nextInt(vocabularySize);
            }
        }
        int[][] docs = new int[documents][];
        for (int d = 0; d < documents; d++) {
            int len = minLength + r.nextInt(maxLength - minLength + 1);
            int[] doc = new int[len];
            int t = r.nextInt(vocabularySize);
            for (int i = 0; i < len; i++) {
                doc[i] = t;
                t = next[t][r.nextInt(3)];
            }
            docs[d] = doc;
        }
        return new InMemoryTokenCorpus(docs, vocabularySize);
    }

    /**
     * Counts every n-gram (2..maxN) within the documents of a corpus and keeps those with at
     * least {@code minCount} occurrences, with their exact counts (brute force).
     *
     * @param corpus the corpus to count on
     * @param maxN K
     * @param minCount threshold
     * @return the vocabulary
     */
    public static FgramVocabulary countVocabulary(TokenCorpus corpus, int maxN, int minCount) {
        Map<List<Integer>, Long> counts = new HashMap<>();
        for (int d = 0; d < corpus.documentCount(); d++) {
            int[] doc = corpus.document(d);
            for (int i = 0; i < doc.length; i++) {
                for (int n = 2; n <= maxN && i + n <= doc.length; n++) {
                    List<Integer> key = new ArrayList<>(n);
                    for (int k = 0; k < n; k++) {
                        key.add(doc[i + k]);
                    }
                    counts.merge(key, 1L, Long::sum);
                }
            }
        }
        List<Map.Entry<List<Integer>, Long>> kept = new ArrayList<>();
        for (Map.Entry<List<Integer>, Long> e : counts.entrySet()) {
            if (e.getValue() >= minCount) {
                kept.add(e);
            }
        }
        kept.sort((a, b) -> {
            int c = Long.compare(b.getValue(), a.getValue());
            if (c != 0) {
                return c;
            }
            c = Integer.compare(a.getKey().size(), b.getKey().size());
            if (c != 0) {
                return c;
            }
            for (int k = 0; k < a.getKey().size(); k++) {
                c = Integer.compare(a.getKey().get(k), b.getKey().get(k));
                if (c != 0) {
                    return c;
                }
            }
            return 0;
        });
        List<int[]> fgrams = new ArrayList<>();
        long[] c = new long[kept.size()];
        for (int i = 0; i < kept.size(); i++) {
            fgrams.add(kept.get(i).getKey().stream().mapToInt(Integer::intValue).toArray());
            c[i] = kept.get(i).getValue();
        }
        return FgramVocabulary.of(corpus.vocabularySize(), maxN, fgrams, c);
    }
}

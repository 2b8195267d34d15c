package dev.scone.fgram.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scone.fgram.vocab.FgramVocabulary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FgramPrefixTreeTest {

    @Test
    void nodesAreTheDistinctPrefixesAndPathsLeadToThem() {
        Random r = new Random(3);
        int v = 6;
        int k = 4;
        List<int[]> fgrams = new ArrayList<>();
        Set<List<Integer>> seen = new HashSet<>();
        while (fgrams.size() < 60) {
            int n = 2 + r.nextInt(k - 1);
            int[] f = new int[n];
            for (int i = 0; i < n; i++) {
                f[i] = r.nextInt(v);
            }
            if (seen.add(asList(f, n))) {
                fgrams.add(f);
            }
        }
        long[] counts = new long[fgrams.size()];
        Arrays.fill(counts, 5);
        FgramVocabulary vocabulary = FgramVocabulary.of(v, k, fgrams, counts);
        int[] ids = new int[40];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(vocabulary.size()); // repeats on purpose
        }
        FgramPrefixTree tree = FgramPrefixTree.of(vocabulary, ids, ids.length);
        assertEquals(k, tree.width());
        // Brute force: the distinct prefixes of the chosen f-grams.
        Set<List<Integer>> prefixes = new HashSet<>();
        for (int id : ids) {
            int[] t = vocabulary.tokens(id);
            for (int n = 1; n <= t.length; n++) {
                prefixes.add(asList(t, n));
            }
        }
        assertEquals(prefixes.size(), tree.nodeCount());
        // Every node's path spells a distinct prefix, ends in the node, lists its ancestors first.
        Map<List<Integer>, Integer> nodeOf = new HashMap<>();
        for (int node = 0; node < tree.nodeCount(); node++) {
            long[] path = Arrays.copyOfRange(tree.paths(), node * k, node * k + k);
            int depth = 0;
            while (depth < k && path[depth] >= 0) {
                depth++;
            }
            assertEquals(node, path[depth - 1]);
            for (int j = depth; j < k; j++) {
                assertEquals(-1, path[j]);
            }
            int[] spelled = new int[depth];
            for (int j = 0; j < depth; j++) {
                assertTrue(path[j] <= node, "ancestors come first");
                spelled[j] = tree.nodeTokens()[(int) path[j]];
            }
            assertEquals(null, nodeOf.put(asList(spelled, depth), node), "each prefix once");
        }
        assertEquals(prefixes, nodeOf.keySet());
        for (int i = 0; i < ids.length; i++) {
            int[] t = vocabulary.tokens(ids[i]);
            assertEquals(nodeOf.get(asList(t, t.length)).longValue(), tree.fgramNodes()[i], "f-gram " + i);
        }
    }

    @Test
    void sequencesOfOneTokenAndBadInputs() {
        FgramPrefixTree tree = FgramPrefixTree.ofSequences(new int[] {4, 0, 4, 2}, new int[] {1, 2}, 2, 5);
        assertEquals(2, tree.nodeCount());
        assertArrayEquals(new long[] {0, -1, 0, 1}, tree.paths());
        assertArrayEquals(new long[] {0, 1}, tree.fgramNodes());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FgramPrefixTree.ofSequences(new int[] {1, 2}, new int[] {3}, 2, 5));
        assertTrue(e.getMessage().contains("length 3 of sequence 0 is outside [1, 2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> FgramPrefixTree.ofSequences(new int[] {1, 7}, new int[] {2}, 2, 5));
        assertTrue(e.getMessage().contains("token 7 is outside [0, 5)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> FgramPrefixTree.ofSequences(new int[] {1}, new int[] {1, 1}, 2, 5));
        assertTrue(e.getMessage().contains("2 sequences of width 2 need 4 tokens, got 1"), e.getMessage());
    }

    private static List<Integer> asList(int[] a, int n) {
        List<Integer> l = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            l.add(a[i]);
        }
        return l;
    }
}

package dev.scone.fgram.nn;

import dev.scone.fgram.vocab.FgramVocabulary;
import it.unimi.dsi.fastutil.longs.Long2IntOpenHashMap;
import java.util.Arrays;
import java.util.Objects;

/**
 * The prefix tree (trie) of a set of f-grams, in the form {@link FgramModelBlock} takes: one node per
 * distinct prefix, each with its last token and its path from the root.
 *
 * <p>A_fgram is causal, so its state at position i of an f-gram depends only on tokens 0..i: every
 * f-gram that starts with the same i + 1 tokens has the same state there. Running A_fgram over the
 * tree's nodes instead of over every f-gram's positions computes each shared prefix once; the
 * f-gram's vector is the state of its last node. On the f-grams a training batch matches (about
 * 1,250 distinct f-grams of 2..5 tokens for 2,048 positions), the tree has about 1,700 nodes against
 * about 3,100 positions.
 *
 * <p>Nodes are numbered in order of first appearance, so a node's ancestors come before it.
 */
public final class FgramPrefixTree {

    private final int width;
    private final int nodeCount;
    private final int[] nodeTokens;
    private final long[] paths;
    private final long[] fgramNodes;

    private FgramPrefixTree(int width, int nodeCount, int[] nodeTokens, long[] paths, long[] fgramNodes) {
        this.width = width;
        this.nodeCount = nodeCount;
        this.nodeTokens = nodeTokens;
        this.paths = paths;
        this.fgramNodes = fgramNodes;
    }

    /**
     * The tree of some f-grams of a vocabulary.
     *
     * @param vocabulary V_fgram
     * @param fgramIds f-gram ids; the first {@code count} are used, in any order, repeats allowed
     * @param count how many
     * @return the tree, {@link #width()} = the vocabulary's K
     */
    public static FgramPrefixTree of(FgramVocabulary vocabulary, int[] fgramIds, int count) {
        Objects.requireNonNull(vocabulary, "vocabulary");
        Objects.checkFromIndexSize(0, count, fgramIds.length);
        int width = vocabulary.maxN();
        Builder b = new Builder(width, vocabulary.tokenVocabularySize(), count);
        int[] tokens = new int[width];
        for (int i = 0; i < count; i++) {
            int n = vocabulary.copyTokens(fgramIds[i], tokens, 0);
            b.add(tokens, 0, n);
        }
        return b.build();
    }

    /**
     * The tree of sequences given as rows of a token array.
     *
     * @param tokens the sequences' tokens: sequence i is {@code tokens[i * width, i * width + lengths[i])}
     * @param lengths each sequence's length, in [1, width]
     * @param width the longest a sequence may be (the tree's path width)
     * @param tokenVocabularySize every token is in [0, tokenVocabularySize)
     * @return the tree
     * @throws IllegalArgumentException when a length or a token is out of range
     */
    public static FgramPrefixTree ofSequences(int[] tokens, int[] lengths, int width, int tokenVocabularySize) {
        if (width < 1 || (long) lengths.length * width > tokens.length) {
            throw new IllegalArgumentException(lengths.length + " sequences of width " + width + " need "
                    + (long) lengths.length * width + " tokens, got " + tokens.length);
        }
        Builder b = new Builder(width, tokenVocabularySize, lengths.length);
        for (int i = 0; i < lengths.length; i++) {
            if (lengths[i] < 1 || lengths[i] > width) {
                throw new IllegalArgumentException("length " + lengths[i] + " of sequence " + i + " is outside [1, "
                        + width + "]");
            }
            b.add(tokens, i * width, lengths[i]);
        }
        return b.build();
    }

    /** @return W, the longest path (the f-grams' K) */
    public int width() {
        return width;
    }

    /** @return N, the number of nodes (distinct prefixes) */
    public int nodeCount() {
        return nodeCount;
    }

    /** @return each node's token (the last token of its prefix), N values (shared, do not modify) */
    public int[] nodeTokens() {
        return nodeTokens;
    }

    /**
     * @return (N, W) row-major: row n holds node n's path from the root (slot j: its ancestor of
     *     depth j + 1, the node itself at slot depth - 1), then -1 (shared, do not modify)
     */
    public long[] paths() {
        return paths;
    }

    /** @return for each f-gram or sequence given, in order, the node of its last token (shared, do not modify) */
    public long[] fgramNodes() {
        return fgramNodes;
    }

    /** Adds sequences one at a time; children found by (parent, token) in one hash map. */
    private static final class Builder {
        private final int width;
        private final int tokenVocabularySize;
        private final Long2IntOpenHashMap children;
        private final long[] fgramNodes;
        private int[] nodeTokens;
        private long[] paths;
        private int nodes;
        private int added;

        Builder(int width, int tokenVocabularySize, int sequences) {
            if (tokenVocabularySize < 1) {
                throw new IllegalArgumentException("tokenVocabularySize must be >= 1, got " + tokenVocabularySize);
            }
            this.width = width;
            this.tokenVocabularySize = tokenVocabularySize;
            int initial = Math.max(16, sequences * 2);
            this.children = new Long2IntOpenHashMap(initial);
            children.defaultReturnValue(-1);
            this.fgramNodes = new long[sequences];
            this.nodeTokens = new int[initial];
            this.paths = new long[initial * width];
        }

        void add(int[] tokens, int from, int length) {
            int parent = -1;
            for (int k = 0; k < length; k++) {
                int token = tokens[from + k];
                if (token < 0 || token >= tokenVocabularySize) {
                    throw new IllegalArgumentException("token " + token + " is outside [0, " + tokenVocabularySize + ")");
                }
                long key = (parent + 1L) * tokenVocabularySize + token;
                int node = children.get(key);
                if (node < 0) {
                    node = newNode(parent, k, token);
                    children.put(key, node);
                }
                parent = node;
            }
            fgramNodes[added++] = parent;
        }

        private int newNode(int parent, int depthMinusOne, int token) {
            if (nodes == nodeTokens.length) {
                int grown = (int) Math.min(Integer.MAX_VALUE - 8L, nodes * 2L);
                if (grown <= nodes || (long) grown * width > Integer.MAX_VALUE - 8L) {
                    throw new IllegalStateException("a prefix tree of more than " + nodes + " nodes of width " + width
                            + " does not fit in one array");
                }
                nodeTokens = Arrays.copyOf(nodeTokens, grown);
                paths = Arrays.copyOf(paths, grown * width);
            }
            int node = nodes++;
            nodeTokens[node] = token;
            int row = node * width;
            if (parent >= 0) {
                System.arraycopy(paths, parent * width, paths, row, depthMinusOne);
            }
            paths[row + depthMinusOne] = node;
            Arrays.fill(paths, row + depthMinusOne + 1, row + width, -1L);
            return node;
        }

        FgramPrefixTree build() {
            return new FgramPrefixTree(width, nodes, Arrays.copyOf(nodeTokens, nodes), Arrays.copyOf(paths, nodes * width),
                    fgramNodes);
        }
    }
}

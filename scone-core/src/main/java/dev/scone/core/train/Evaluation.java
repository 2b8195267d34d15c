package dev.scone.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import dev.scone.core.BlockScopes;
import dev.scone.core.FgramEmbeddingTable;
import dev.scone.core.LinearHeadModel;
import dev.scone.core.data.WindowBatch;
import dev.scone.core.data.WindowDataset;

/** Perplexity of a language model over the windows of a dataset. */
public final class Evaluation {

    private Evaluation() {}

    /**
     * Runs the model (inference mode) over windows {@code 0, 1, ...} of the dataset in order and
     * sums the cross-entropy of every label, in total and split by f-gram match.
     *
     * @param block an initialized model block with the scone input contract
     * @param data the windows
     * @param batchSize windows per forward pass, &gt;= 1
     * @param maxWindows cap on the windows evaluated (0 = all)
     * @return the result
     * @throws IllegalArgumentException when an argument is out of range or the logits do not have
     *     shape (B, T, V) with V covering the corpus vocabulary
     */
    public static PerplexityResult perplexity(Block block, WindowDataset data, int batchSize, long maxWindows) {
        return perplexity(block, data, batchSize, maxWindows, null);
    }

    /**
     * As {@link #perplexity(Block, WindowDataset, int, long)}, with the matched/unmatched split taken
     * from a table's own matching instead of the windows' pre-scan: for an inference model, which has
     * no f-gram vocabulary, a position is matched where the store finds an f-gram ending there.
     *
     * @param block an initialized model block
     * @param data the windows (their pre-scan, if any, is ignored when {@code matches} is given)
     * @param batchSize windows per forward pass, &gt;= 1
     * @param maxWindows cap on the windows evaluated (0 = all)
     * @param matches the table whose matches split the result, or {@code null} for the pre-scan
     * @return the result
     */
    public static PerplexityResult perplexity(Block block, WindowDataset data, int batchSize, long maxWindows,
            FgramEmbeddingTable matches) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }
        if (maxWindows < 0) {
            throw new IllegalArgumentException("maxWindows must be >= 0 (0 = all), got " + maxWindows);
        }
        long n = maxWindows == 0 ? data.windowCount() : Math.min(maxWindows, data.windowCount());
        try (NDManager manager = BlockScopes.parameterManager(block).newSubManager()) {
            ParameterStore store = new ParameterStore(manager, false);
            long tokens = 0;
            long matched = 0;
            double nll = 0;
            double matchedNll = 0;
            for (long first = 0; first < n; first += batchSize) {
                int b = (int) Math.min(batchSize, n - first);
                long[] windows = new long[b];
                for (int i = 0; i < b; i++) {
                    windows[i] = first + i;
                }
                WindowBatch batch = data.batch(windows);
                float[] losses;
                try (NDManager step = manager.newSubManager()) {
                    losses = tokenLosses(block, store, batch, data.corpus().vocabularySize(), step);
                }
                int[] f = batch.fgramIds();
                if (matches != null) {
                    int[] lengths = new int[losses.length];
                    matches.lookup(batch.tokenIds(), batch.batchSize(), batch.contextLength(),
                            new float[losses.length * matches.embeddingSize()], lengths);
                    f = new int[losses.length];
                    for (int i = 0; i < f.length; i++) {
                        f[i] = lengths[i] > 0 ? 0 : -1;
                    }
                }
                for (int i = 0; i < losses.length; i++) {
                    nll += losses[i];
                    if (f[i] >= 0) {
                        matched++;
                        matchedNll += losses[i];
                    }
                }
                tokens += losses.length;
            }
            return new PerplexityResult(tokens, nll, matched, matchedNll);
        }
    }

    /**
     * The cross-entropy of every position of one batch.
     *
     * @param block the model block
     * @param store the parameter store
     * @param batch the batch
     * @param vocabularySize the corpus vocabulary size V
     * @param scope manager for every intermediate; closed by the caller
     * @return (B * T) negative log-likelihoods of the labels
     */
    static float[] tokenLosses(Block block, ParameterStore store, WindowBatch batch, int vocabularySize,
            NDManager scope) {
        BlockScopes.attachParameters(block, scope);
        NDList inputs = batch.inputs(scope);
        NDArray labels = batch.labels(scope);
        if (block instanceof LinearHeadModel) {
            // The same log-softmax and pick per row, a chunk of rows at a time: no (B * T, V) logits.
            LinearHeadModel head = (LinearHeadModel) block;
            NDArray h = head.hiddenStates(store, inputs, false, batch.hostIds().asParams());
            NDArray hidden = flatHidden(h, batch);
            NDArray weight = head.outputWeight(store, h.getDevice(), false);
            checkVocabulary(weight.getShape().get(0), vocabularySize, weight.getShape());
            return ChunkedCrossEntropy.tokenLosses(hidden, weight, labels).toFloatArray();
        }
        NDList out = block.forward(store, inputs, false, batch.hostIds().asParams());
        NDArray logits = flatLogits(out, batch, vocabularySize);
        return logits.logSoftmax(1).gather(labels.toType(DataType.INT64, false).reshape(-1, 1), 1).neg()
                .toType(DataType.FLOAT32, false).toFloatArray();
    }

    /**
     * Checks a model's output and flattens it to (B * T, V).
     *
     * @param out the model output
     * @param batch the batch that went in
     * @param vocabularySize the corpus vocabulary size
     * @return the flattened logits
     */
    static NDArray flatLogits(NDList out, WindowBatch batch, int vocabularySize) {
        if (out.isEmpty()) {
            throw new IllegalArgumentException("the model returned no output; expected NDList(logits (B, T, V))");
        }
        NDArray logits = out.get(0);
        Shape s = logits.getShape();
        if (s.dimension() != 3 || s.get(0) != batch.batchSize() || s.get(1) != batch.contextLength()
                || s.get(2) < vocabularySize) {
            throw new IllegalArgumentException("model logits have shape " + s + ", expected (" + batch.batchSize()
                    + ", " + batch.contextLength() + ", V) with V >= corpus vocabularySize " + vocabularySize);
        }
        return logits.reshape(s.get(0) * s.get(1), s.get(2));
    }

    /**
     * Checks a {@link LinearHeadModel}'s hidden states and flattens them to (B * T, E).
     *
     * @param hidden the hidden states
     * @param batch the batch that went in
     * @return the flattened hidden states
     */
    static NDArray flatHidden(NDArray hidden, WindowBatch batch) {
        Shape s = hidden.getShape();
        if (s.dimension() != 3 || s.get(0) != batch.batchSize() || s.get(1) != batch.contextLength()) {
            throw new IllegalArgumentException("model hidden states have shape " + s + ", expected ("
                    + batch.batchSize() + ", " + batch.contextLength() + ", E)");
        }
        return hidden.reshape(s.get(0) * s.get(1), s.get(2));
    }

    /**
     * Checks that an output head covers the corpus vocabulary.
     *
     * @param headRows V of the head
     * @param vocabularySize the corpus vocabulary size
     * @param shape the head's shape, for the message
     */
    static void checkVocabulary(long headRows, int vocabularySize, Shape shape) {
        if (headRows < vocabularySize) {
            throw new IllegalArgumentException("model output weight has shape " + shape + ", expected (V, E) with V >= "
                    + "corpus vocabularySize " + vocabularySize);
        }
    }
}

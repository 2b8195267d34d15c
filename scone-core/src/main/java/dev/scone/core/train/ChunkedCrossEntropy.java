package dev.scone.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;

/**
 * Next-token cross-entropy over a linear output head, computed a chunk of rows at a time, with its
 * gradient taken by hand.
 *
 * <p>With hidden states h (N, E), output weight W (V, E), labels y (N) and p_i = softmax(W h_i),
 * the mean loss is {@code L = -1/N sum_i log p_i[y_i]} and its gradients are
 * {@code dL/dh_i = (p_i W - W[y_i]) / N} and {@code dL/dW = (sum_i p_i h_i^T - sum_i e_{y_i} h_i^T) / N}.
 * Both p-terms are computed chunk by chunk, outside autograd: the chunk's logits, their log-softmax
 * and p exist for a few hundred rows at a time (about 4M floats), and are
 * freed before the next chunk. The rest goes through autograd as a surrogate,
 * <pre>
 *   S = sum(h * (P W / N - W[y] * (1/N))) + sum(W * (P^T h / N))
 * </pre>
 * whose value means nothing but whose gradient with respect to h and W is exactly the loss's
 * (the two p-terms are constants in it; the gather {@code W[y]} is differentiated by autograd).
 * Backpropagating S therefore gives the same gradients as the logits path (linear, log-softmax,
 * pick, mean) without the (N, V) logits, their log-softmax, the softmax gradient and the
 * zero-filled (N, V) gradient of the pick, each of which the logits path writes and reads whole.
 *
 * <p>Numerically: training takes each row's loss as {@code -log p_i[y_i]} from the softmax it needs
 * for the gradient anyway (one pass over the chunk's logits instead of a log-softmax and an
 * exponential; should a p_i[y_i] underflow to 0, the value is taken from the log-softmax instead);
 * evaluation ({@link #tokenLosses}) takes the log-softmax's pick, as the logits path does. The
 * gradients are the same sums in another order (the weight's gradient is accumulated over chunks
 * rather than in one matrix product, the label term is applied separately). So losses and gradients
 * agree with the logits path to float32 rounding, not bit for bit.
 */
public final class ChunkedCrossEntropy {

    /** The logits computed at once: about 16 MB of float32 per chunk. */
    static final long CHUNK_ELEMENTS = 1L << 22;

    private ChunkedCrossEntropy() {}

    /** What a training step needs: the mean loss, and the surrogate to backpropagate. */
    public static final class Training {
        private final float loss;
        private final NDArray surrogate;

        private Training(float loss, NDArray surrogate) {
            this.loss = loss;
            this.surrogate = surrogate;
        }

        /** @return the mean cross-entropy (nats per position) */
        public float loss() {
            return loss;
        }

        /** @return the scalar whose backward pass gives the loss's gradients with respect to h and W */
        public NDArray surrogate() {
            return surrogate;
        }
    }

    /**
     * The loss and its surrogate, for a training step inside a gradient collector.
     *
     * @param hidden h (N, E), recording its gradient
     * @param weight W (V, E), recording its gradient
     * @param labels y (N), integer, each in [0, V)
     * @return the loss and the surrogate, attached to {@code hidden}'s manager
     * @throws IllegalArgumentException when the shapes do not fit together
     */
    public static Training forTraining(NDArray hidden, NDArray weight, NDArray labels) {
        return forTraining(hidden, weight, labels, chunkRows(weight.getShape().get(0), hidden.getShape().get(0)));
    }

    /** As {@link #forTraining(NDArray, NDArray, NDArray)}, {@code rows} rows per chunk. */
    static Training forTraining(NDArray hidden, NDArray weight, NDArray labels, long rows) {
        long n = checkShapes(hidden, weight, labels, rows);
        NDManager manager = hidden.getManager();
        NDArray w = weight.stopGradient();
        NDList picked = new NDList();
        NDList pw = new NDList();
        NDArray[] pth = new NDArray[1]; // sum over chunks of P^T h, (V, E)
        forEachChunk(hidden, w, labels, rows, (chunk, hc, logits, yc) -> {
            NDArray p = logits.softmax(1); // (c, V)
            picked.add(chunk.ret(p.gather(yc, 1))); // (c, 1): p_i[y_i]
            pw.add(chunk.ret(p.matMul(w))); // (c, E)
            NDArray part = p.transpose().matMul(hc); // (V, E)
            if (pth[0] == null) {
                pth[0] = chunk.ret(part);
            } else {
                pth[0].addi(part);
            }
        });
        float loss = -concat(picked).log().mean().getFloat();
        if (!Float.isFinite(loss)) {
            // Some p_i[y_i] underflowed to 0 (a loss above ~87 nats at a position): take the value
            // from the log-softmax instead, which does not underflow; the gradients above are exact.
            try (NDManager exact = manager.newSubManager()) {
                NDArray nll = tokenLosses(hidden, weight, labels, rows);
                nll.attach(exact);
                loss = nll.mean().getFloat();
            }
        }
        float inverse = 1f / n;
        NDArray dh = concat(pw).muli(inverse); // P W / N
        NDArray dw = pth[0].muli(inverse); // P^T h / N
        // Engine-owned scalar: autograd keeps the factor for the backward pass, and a scalar made by
        // mul(Number) borrows Java memory that is freed as soon as the call returns.
        NDArray scale = manager.create(inverse).duplicate();
        // W[y] as an embedding lookup: its backward pass adds rows rather than accumulating elements.
        NDArray gathered = Embedding.embedding(labels.toType(DataType.INT64, true).reshape(n), weight,
                SparseFormat.DENSE).singletonOrThrow(); // (N, E)
        NDArray surrogate = hidden.mul(dh.sub(gathered.mul(scale))).sum().add(weight.mul(dw).sum());
        return new Training(loss, surrogate);
    }

    /**
     * The cross-entropy of every row (inference: nothing is recorded for a backward pass).
     *
     * @param hidden h (N, E)
     * @param weight W (V, E)
     * @param labels y (N), integer, each in [0, V)
     * @return (N) float32 negative log-likelihoods, attached to {@code hidden}'s manager
     * @throws IllegalArgumentException when the shapes do not fit together
     */
    public static NDArray tokenLosses(NDArray hidden, NDArray weight, NDArray labels) {
        return tokenLosses(hidden, weight, labels, chunkRows(weight.getShape().get(0), hidden.getShape().get(0)));
    }

    /** As {@link #tokenLosses(NDArray, NDArray, NDArray)}, {@code rows} rows per chunk. */
    static NDArray tokenLosses(NDArray hidden, NDArray weight, NDArray labels, long rows) {
        long n = checkShapes(hidden, weight, labels, rows);
        NDList picked = new NDList();
        forEachChunk(hidden, weight.stopGradient(), labels, rows,
                (chunk, hc, logits, yc) -> picked.add(chunk.ret(logits.logSoftmax(1).gather(yc, 1))));
        return concat(picked).reshape(n).neg().toType(DataType.FLOAT32, false);
    }

    /** What is done with one chunk's logits; arrays it keeps must be returned out of {@code chunk}. */
    private interface ChunkBody {
        void apply(NDManager chunk, NDArray hidden, NDArray logits, NDArray labels);
    }

    /**
     * Runs {@code body} over the rows a chunk at a time, outside autograd: the chunk's hidden states
     * (c, E), its logits (c, V) and labels (c, 1) int64, in a sub-manager closed after each chunk.
     */
    private static void forEachChunk(NDArray hidden, NDArray weight, NDArray labels, long rows, ChunkBody body) {
        long n = hidden.getShape().get(0);
        NDArray h = hidden.stopGradient();
        NDArray y = labels.toType(DataType.INT64, false).reshape(n, 1);
        for (long r0 = 0; r0 < n; r0 += rows) {
            NDIndex range = new NDIndex(r0 + ":" + Math.min(n, r0 + rows));
            try (NDManager chunk = hidden.getManager().newSubManager()) {
                NDArray hc = h.get(range);
                NDArray yc = y.get(range);
                hc.attach(chunk);
                yc.attach(chunk);
                body.apply(chunk, hc, Linear.linear(hc, weight).singletonOrThrow(), yc);
            }
        }
    }

    /** Rows per chunk: about {@link #CHUNK_ELEMENTS} logits, at least one row, at most all of them. */
    static long chunkRows(long vocabularySize, long rows) {
        return Math.max(1, Math.min(rows, CHUNK_ELEMENTS / Math.max(1, vocabularySize)));
    }

    private static NDArray concat(NDList parts) {
        return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0);
    }

    private static long checkShapes(NDArray hidden, NDArray weight, NDArray labels, long rows) {
        if (rows < 1) {
            throw new IllegalArgumentException("rows per chunk must be >= 1, got " + rows);
        }
        Shape h = hidden.getShape();
        Shape w = weight.getShape();
        Shape y = labels.getShape();
        if (h.dimension() != 2 || w.dimension() != 2 || h.get(1) != w.get(1)) {
            throw new IllegalArgumentException("hidden states (N, E) and output weight (V, E) do not fit: " + h
                    + " and " + w);
        }
        if (y.size() != h.get(0)) {
            throw new IllegalArgumentException(y.size() + " labels for " + h.get(0) + " rows of hidden states");
        }
        if (h.get(0) < 1) {
            throw new IllegalArgumentException("no rows to take the loss of");
        }
        return h.get(0);
    }
}

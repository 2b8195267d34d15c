package dev.scone.core.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.loss.Loss;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkedCrossEntropyTest {

    private static final int N = 37;
    private static final int E = 8;
    private static final int V = 11;

    /** The reference: DJL's softmax cross-entropy over the whole (N, V) logits, and its gradients. */
    private static float[][] reference(NDManager m, float[] h, float[] w, int[] y) {
        NDArray hidden = m.create(h, new Shape(N, E));
        NDArray weight = m.create(w, new Shape(V, E));
        hidden.setRequiresGradient(true);
        weight.setRequiresGradient(true);
        float loss;
        try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
            NDArray logits = Linear.linear(hidden, weight).singletonOrThrow();
            NDArray l = Loss.softmaxCrossEntropyLoss().evaluate(new NDList(m.create(y)), new NDList(logits));
            c.backward(l);
            loss = l.getFloat();
        }
        return new float[][] {{loss}, hidden.getGradient().toFloatArray(), weight.getGradient().toFloatArray()};
    }

    private static float[][] chunked(NDManager m, float[] h, float[] w, int[] y, long rows) {
        NDArray hidden = m.create(h, new Shape(N, E));
        NDArray weight = m.create(w, new Shape(V, E));
        hidden.setRequiresGradient(true);
        weight.setRequiresGradient(true);
        float loss;
        try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
            // Through a product, as in a model: h is not a leaf there.
            ChunkedCrossEntropy.Training t = ChunkedCrossEntropy.forTraining(hidden.mul(m.create(1f).duplicate()),
                    weight, m.create(y), rows);
            c.backward(t.surrogate());
            loss = t.loss();
        }
        return new float[][] {{loss}, hidden.getGradient().toFloatArray(), weight.getGradient().toFloatArray()};
    }

    @Test
    void lossAndGradientsEqualTheLogitsPathForAnyChunkSize() {
        Random r = new Random(7);
        float[] h = new float[N * E];
        float[] w = new float[V * E];
        int[] y = new int[N];
        for (int i = 0; i < h.length; i++) {
            h[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < N; i++) {
            y[i] = r.nextInt(V);
        }
        y[3] = y[4] = y[5]; // repeated labels: their rows of W collect several terms
        try (NDManager m = NDManager.newBaseManager()) {
            float[][] want = reference(m, h, w, y);
            for (long rows : new long[] {1, 5, N, 1000}) {
                float[][] got = chunked(m, h, w, y, rows);
                assertEquals(want[0][0], got[0][0], 1e-5f * Math.abs(want[0][0]), "loss, rows " + rows);
                for (int k = 1; k <= 2; k++) {
                    float scale = 0;
                    for (float v : want[k]) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    for (int i = 0; i < want[k].length; i++) {
                        assertEquals(want[k][i], got[k][i], 1e-5f * scale, (k == 1 ? "dL/dh" : "dL/dW") + "[" + i
                                + "], rows " + rows);
                    }
                }
            }
        }
    }

    @Test
    void aLabelWhoseProbabilityUnderflowsStillGetsItsExactLoss() {
        Random r = new Random(5);
        float[] h = new float[N * E];
        float[] w = new float[V * E];
        int[] y = new int[N];
        for (int i = 0; i < h.length; i++) {
            h[i] = (float) r.nextGaussian() * 20; // logits spread over hundreds: exp underflows
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < N; i++) {
            y[i] = r.nextInt(V);
        }
        try (NDManager m = NDManager.newBaseManager()) {
            float[][] want = reference(m, h, w, y);
            assertTrue(want[0][0] > 20, "the setting must give some positions a loss beyond float's exp range: "
                    + want[0][0]);
            float[] logits = Linear.linear(m.create(h, new Shape(N, E)), m.create(w, new Shape(V, E)))
                    .singletonOrThrow().toFloatArray();
            int underflowing = 0;
            for (int i = 0; i < N; i++) {
                float max = Float.NEGATIVE_INFINITY;
                for (int v = 0; v < V; v++) {
                    max = Math.max(max, logits[i * V + v]);
                }
                if (max - logits[i * V + y[i]] > 110) { // exp(-110) is 0 in float32
                    underflowing++;
                }
            }
            assertTrue(underflowing > 0, "no label's probability underflows in this setting");
            float[][] got = chunked(m, h, w, y, 8);
            assertTrue(Float.isFinite(got[0][0]));
            assertEquals(want[0][0], got[0][0], 1e-5f * want[0][0]);
        }
    }

    @Test
    void tokenLossesAreEachRowsNegativeLogLikelihood() {
        Random r = new Random(11);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray hidden = m.randomNormal(new Shape(N, E));
            NDArray weight = m.randomNormal(new Shape(V, E));
            int[] y = new int[N];
            for (int i = 0; i < N; i++) {
                y[i] = r.nextInt(V);
            }
            float[] logits = Linear.linear(hidden, weight).singletonOrThrow().toFloatArray();
            for (long rows : new long[] {1, 4, 1000}) {
                NDArray nll = ChunkedCrossEntropy.tokenLosses(hidden, weight, m.create(y), rows);
                assertEquals(new Shape(N), nll.getShape());
                assertEquals(DataType.FLOAT32, nll.getDataType());
                float[] got = nll.toFloatArray();
                for (int i = 0; i < N; i++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < V; v++) {
                        max = Math.max(max, logits[i * V + v]);
                    }
                    double sum = 0;
                    for (int v = 0; v < V; v++) {
                        sum += Math.exp(logits[i * V + v] - max);
                    }
                    double want = max + Math.log(sum) - logits[i * V + y[i]];
                    assertEquals(want, got[i], 1e-5 * Math.max(1, want), "row " + i + ", rows " + rows);
                }
            }
        }
    }

    @Test
    void chunksHoldAboutFourMillionLogits() {
        assertEquals(512, ChunkedCrossEntropy.chunkRows(8192, 2048));
        assertEquals(83, ChunkedCrossEntropy.chunkRows(50_257, 2048));
        assertEquals(10, ChunkedCrossEntropy.chunkRows(11, 10), "never more rows than there are");
        assertEquals(1, ChunkedCrossEntropy.chunkRows(1L << 30, 10), "at least one row");
    }

    @Test
    void shapesThatDoNotFitAreRefused() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray h = m.zeros(new Shape(4, E));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ChunkedCrossEntropy.tokenLosses(h, m.zeros(new Shape(V, E + 1)), m.zeros(new Shape(4))));
            assertTrue(e.getMessage().contains("do not fit"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> ChunkedCrossEntropy.forTraining(h, m.zeros(new Shape(V, E)), m.zeros(new Shape(3))));
            assertTrue(e.getMessage().contains("3 labels for 4 rows"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> ChunkedCrossEntropy.tokenLosses(h, m.zeros(new Shape(V, E)), m.zeros(new Shape(4)), 0));
            assertTrue(e.getMessage().contains("rows per chunk must be >= 1"), e.getMessage());
        }
    }
}

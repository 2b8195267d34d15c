package dev.scone.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.List;

/**
 * Clipping by global norm: all gradients are scaled by one factor so that their joint L2 norm
 * (the norm of all their values taken as one vector) is at most a threshold. Unlike DJL's
 * per-value {@code optClipGrad}, this keeps the direction of the update.
 */
public final class GradientClipping {

    private GradientClipping() {}

    /**
     * @param gradients the gradients
     * @return their joint L2 norm, {@code sqrt(sum over all values of g^2)}
     */
    public static float globalNorm(List<NDArray> gradients) {
        if (gradients.isEmpty()) {
            return 0f;
        }
        try (NDManager scope = gradients.get(0).getManager().newSubManager()) {
            NDList norms = new NDList(gradients.size());
            for (NDArray g : gradients) {
                NDArray n = g.norm();
                n.attach(scope);
                norms.add(n);
            }
            // One transfer for all per-tensor norms; the sum of squares is taken in double.
            NDArray stacked = NDArrays.stack(norms);
            stacked.attach(scope);
            double sum = 0;
            for (float n : stacked.toType(DataType.FLOAT32, false).toFloatArray()) {
                sum += (double) n * n;
            }
            return (float) Math.sqrt(sum);
        }
    }

    /**
     * Scales the gradients in place so that their global norm is at most {@code maxNorm}; leaves
     * them untouched when it already is, or when the norm is not finite (the caller decides what a
     * diverged step means).
     *
     * @param gradients the gradients, modified in place
     * @param maxNorm the threshold, &gt; 0
     * @return the global norm before clipping
     * @throws IllegalArgumentException when {@code maxNorm} is not &gt; 0
     */
    public static float clipByGlobalNorm(List<NDArray> gradients, float maxNorm) {
        if (!(maxNorm > 0) || !Float.isFinite(maxNorm)) {
            throw new IllegalArgumentException("maxNorm must be a finite value > 0, got " + maxNorm);
        }
        float norm = globalNorm(gradients);
        if (Float.isFinite(norm) && norm > maxNorm) {
            float scale = (float) (maxNorm / (norm + 1e-6));
            for (NDArray g : gradients) {
                g.muli(scale);
            }
        }
        return norm;
    }
}

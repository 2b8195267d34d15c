package dev.scone.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Clipping by global norm: all gradients are scaled by one factor so that their joint L2 norm
 * (the norm of all their values taken as one vector) is at most a threshold. Unlike DJL's
 * per-value {@code optClipGrad}, this keeps the direction of the update. It works on the gradients
 * as one flat array ({@link AdamW#flatten}), so the norm is one reduction and the scaling one
 * operation.
 */
public final class GradientClipping {

    private GradientClipping() {}

    /**
     * @param gradient all gradients as one flat array
     * @return their joint L2 norm, {@code sqrt(sum over all values of g^2)}
     */
    public static float globalNorm(NDArray gradient) {
        if (gradient.getShape().size() == 0) {
            return 0f;
        }
        try (NDManager scope = gradient.getManager().newSubManager()) {
            NDArray norm = gradient.norm();
            norm.attach(scope);
            return norm.toType(DataType.FLOAT32, false).getFloat();
        }
    }

    /**
     * Scales the gradient in place so that its global norm is at most {@code maxNorm}; leaves it
     * untouched when it already is, or when the norm is not finite (the caller decides what a
     * diverged step means).
     *
     * @param gradient all gradients as one flat array, modified in place
     * @param maxNorm the threshold, &gt; 0
     * @return the global norm before clipping
     * @throws IllegalArgumentException when {@code maxNorm} is not &gt; 0
     */
    public static float clipByGlobalNorm(NDArray gradient, float maxNorm) {
        if (!(maxNorm > 0) || !Float.isFinite(maxNorm)) {
            throw new IllegalArgumentException("maxNorm must be a finite value > 0, got " + maxNorm);
        }
        float norm = globalNorm(gradient);
        if (Float.isFinite(norm) && norm > maxNorm) {
            gradient.muli((float) (maxNorm / (norm + 1e-6)));
        }
        return norm;
    }
}

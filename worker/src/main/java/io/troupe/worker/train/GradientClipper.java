package io.troupe.worker.train;

/**
 * Clips gradients by their global L2 norm, as {@code torch.nn.utils.clip_grad_norm_}: when the
 * norm of the whole flat gradient exceeds {@code maxNorm}, every element is scaled by
 * {@code maxNorm / (norm + 1e-6)}.
 *
 * <p>The sum of squares is accumulated in double: in float, ten million squares lose the small
 * ones entirely and the norm drifts with the parameter count.
 */
public final class GradientClipper {

    // torch adds this to the norm before dividing, so a norm of exactly maxNorm is not scaled up.
    private static final double EPSILON = 1e-6;

    private final double maxNorm;

    /**
     * @param maxNorm the largest allowed norm; 0 turns clipping off (nanoGPT's
     *     {@code grad_clip = 0.0})
     * @throws IllegalArgumentException if {@code maxNorm} is negative or not finite
     */
    public GradientClipper(double maxNorm) {
        if (!(maxNorm >= 0 && Double.isFinite(maxNorm))) {
            throw new IllegalArgumentException("grad_clip must be >= 0 (0 disables it), got "
                    + maxNorm);
        }
        this.maxNorm = maxNorm;
    }

    /** The largest allowed norm; 0 when clipping is off. */
    public double maxNorm() {
        return maxNorm;
    }

    /**
     * Scales {@code grads} in place if their norm exceeds the maximum.
     *
     * <p>A non-finite norm (an overflow or NaN in the backward pass) is returned without
     * touching the gradients, so the caller can see it and skip the step; scaling would only
     * spread the NaN.
     *
     * @return the norm before clipping
     */
    public double clip(float[] grads) {
        double norm = norm(grads);
        if (maxNorm > 0 && Double.isFinite(norm)) {
            double coefficient = maxNorm / (norm + EPSILON);
            if (coefficient < 1) {
                float scale = (float) coefficient;
                for (int i = 0; i < grads.length; i++) {
                    grads[i] *= scale;
                }
            }
        }
        return norm;
    }

    /** The L2 norm of {@code values}, accumulated in double. */
    public static double norm(float[] values) {
        // Four independent sums let the CPU overlap the additions; one sum would serialise them.
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = 0;
        for (; i + 3 < values.length; i += 4) {
            double a = values[i];
            double b = values[i + 1];
            double c = values[i + 2];
            double d = values[i + 3];
            s0 += a * a;
            s1 += b * b;
            s2 += c * c;
            s3 += d * d;
        }
        for (; i < values.length; i++) {
            double a = values[i];
            s0 += a * a;
        }
        return Math.sqrt((s0 + s1) + (s2 + s3));
    }
}

package io.troupe.worker.gradcheck;

import io.troupe.model.graph.DType;

/**
 * How one precision is checked: the finite-difference step {@code h}, the largest relative error
 * that passes, and the floor of the relative error's denominator,
 * {@code |a - n| / max(|a|, |n|, floor)}, which turns the test into an absolute one (error below
 * {@code maxRelativeError * floor}) for gradient elements near zero, where a relative error
 * measures only finite-difference noise.
 *
 * <p>The defaults are derived from the two error sources of a central difference
 * {@code (L(x+h) - L(x-h)) / 2h}: truncation, {@code h^2 |L'''| / 6}, and rounding,
 * about {@code eps |L| / h} where {@code eps} is the unit roundoff of the arithmetic that computes
 * the changing part of the loss. The cases keep {@code |L'''|} of order 1 (inputs away from the
 * poles of Div, Log, Sqrt, Reciprocal and the kink of Relu) and the probe loss of order 10.
 */
public record Tolerance(double step, double maxRelativeError, double floor) {

    public Tolerance {
        if (!(step > 0) || !(maxRelativeError > 0) || !(floor > 0)) {
            throw new IllegalArgumentException("step, maxRelativeError and floor must be positive, got " + step
                    + ", " + maxRelativeError + ", " + floor);
        }
    }

    /**
     * Double precision (eps = 1.1e-16). With h = 1e-5, near the optimum (3 eps |L| / |L'''|)^(1/3)
     * of a central difference, truncation is ~2e-11 and rounding ~1e-10 for a loss of order 10,
     * so the finite difference is good to ~1e-10 absolute; most measured op errors are 1e-11..4e-8.
     * Two measured errors are not noise but ORT's forward deviating from the exact function the
     * rule differentiates: Gemm's C gradient, 3.7e-8, because ONNX stores the attribute beta = 1.3
     * as a float32, and Gelu "tanh", 1.4e-7, because ORT's double Gelu is ~5e-9 off the exact
     * formula. The GPT's largest, 1.4e-7, is 1.4e-10 of noise on an element of 8e-4, where the
     * floor applies. A tolerance of 1e-6 leaves a margin of 7 over all of them; a floor of 1e-3
     * allows 1e-9 absolute, 10 times the noise, on elements below 1e-3. A rule off by more than
     * 1e-6 relative on an element of magnitude 1e-3 or more, or by 1e-9 absolute on a smaller one,
     * fails.
     */
    public static final Tolerance DOUBLE = new Tolerance(1e-5, 1e-6, 1e-3);

    /**
     * Double precision for Gelu "tanh": ORT's double forward is ~5e-9 off the exact formula
     * (see {@link #DOUBLE}), so on an element below 5e-3 that deviation alone exceeds 1e-6
     * relative. With the JDK's Gaussian draws (issue 11; Box-Muller draws before it happened to
     * avoid such elements) it measured 1.3e-6. A floor of 1e-2 allows 1e-8 absolute, twice the
     * forward's deviation, and keeps 1e-6 relative on every element of 1e-2 or more.
     */
    public static final Tolerance GELU_TANH = new Tolerance(1e-5, 1e-6, 1e-2);

    /**
     * Float32 (eps = 6e-8, and ORT's vectorized float kernels for exp/tanh/erf are accurate to a
     * few ulp, not 0.5). The probe loss is accumulated in double (see {@link CaseContext#probe}),
     * so the rounding that reaches the difference is the op's own: a few ulp of the outputs that
     * one perturbed element moves, ~3e-7 relative, which h = 1e-2 turns into ~3e-5 of the
     * gradient; truncation h^2/6 |f'''| is ~2e-5. A smaller h would trade truncation for
     * rounding (h = 1e-3: ~3e-4 rounding). Measured errors of the float32 cases (Erf, Gelu
     * "none", Cast) are at most 3e-4, and of the whole GPT in float32 4e-3 (see
     * {@link GptCase#FLOAT_TOLERANCE}). A tolerance of 1e-2 leaves a margin of 30 over the op
     * cases, and a floor of 1e-2 keeps near-zero elements to an absolute error of 1e-4. A rule
     * whose error is below 1% on every checked element would slip through in float32, which is
     * why double is tried first.
     */
    public static final Tolerance FLOAT = new Tolerance(1e-2, 1e-2, 1e-2);

    /** The default for {@code dtype}: {@link #DOUBLE} or {@link #FLOAT}. */
    public static Tolerance defaultFor(DType dtype) {
        return switch (dtype) {
            case DOUBLE -> DOUBLE;
            case FLOAT -> FLOAT;
            default -> throw new IllegalArgumentException("gradients are checked in double or float, not "
                    + dtype.onnxName());
        };
    }

    /** The relative error of analytic {@code a} against numeric {@code n}. */
    public double relativeError(double a, double n) {
        double denominator = Math.max(Math.max(Math.abs(a), Math.abs(n)), floor);
        return Math.abs(a - n) / denominator;
    }

    /** True when {@code relativeError} passes. NaN never passes. */
    public boolean accepts(double relativeError) {
        return relativeError <= maxRelativeError;
    }
}

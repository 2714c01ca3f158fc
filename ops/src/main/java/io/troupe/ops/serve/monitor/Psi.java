package io.troupe.ops.serve.monitor;

/**
 * Population stability index of a window's histogram against a reference's over the same bins:
 * {@code PSI = sum_i (a_i - e_i) ln(a_i / e_i)} where {@code e_i} is the reference's share of bin
 * {@code i} and {@code a_i} the window's. It is the symmetrised KL divergence, so 0 means the
 * same distribution; the usual reading is &lt; 0.1 no shift, 0.1-0.25 some, &gt; 0.25 a
 * significant one.
 *
 * <p>Smoothing, so that no term is infinite and a small window's empty bins do not read as
 * drift: the reference gets half a count in every bin (it is large, so this only keeps its empty
 * bins above 0), and the window is shrunk toward the reference by {@code bins / 2} pseudo-texts
 * spread as the reference is. A bin the reference never saw therefore stays near 0 in an
 * in-distribution window, and counts fully when the window does fill it (out-of-vocabulary
 * characters, say).
 */
public final class Psi {
    private static final double PSEUDO_COUNT = 0.5;

    private Psi() {
    }

    /**
     * The PSI of {@code actual} against {@code expected}.
     *
     * @throws IllegalArgumentException when the histograms have different bins
     */
    public static double of(long[] expected, long[] actual) {
        if (expected.length != actual.length) {
            throw new IllegalArgumentException("histograms of " + expected.length + " and " + actual.length + " bins");
        }
        int bins = expected.length;
        double prior = PSEUDO_COUNT * bins;
        double expectedTotal = prior;
        double actualTotal = prior;
        for (int i = 0; i < bins; i++) {
            expectedTotal += expected[i];
            actualTotal += actual[i];
        }
        double psi = 0;
        for (int i = 0; i < bins; i++) {
            double e = (expected[i] + PSEUDO_COUNT) / expectedTotal;
            double a = (actual[i] + prior * e) / actualTotal;
            psi += (a - e) * Math.log(a / e);
        }
        return psi;
    }
}

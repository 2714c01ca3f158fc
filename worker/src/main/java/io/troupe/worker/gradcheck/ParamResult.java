package io.troupe.worker.gradcheck;

/**
 * How one parameter's analytic gradient compared with central finite differences.
 *
 * @param name the parameter
 * @param elements its number of elements
 * @param checked how many of them were compared (all, or a seeded random subset)
 * @param maxRelativeError the largest {@link Tolerance#relativeError} among the checked elements
 * @param worstIndex the flat index of the element with that error
 * @param worstAnalytic the analytic gradient at that element
 * @param worstNumeric the finite-difference gradient at that element
 */
public record ParamResult(String name, long elements, int checked, double maxRelativeError, long worstIndex,
                          double worstAnalytic, double worstNumeric) {

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s: max rel err %.3g over %d/%d elements (worst [%d]: analytic %.9g, numeric %.9g)",
                name, maxRelativeError, checked, elements, worstIndex, worstAnalytic, worstNumeric);
    }
}

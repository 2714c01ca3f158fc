package io.troupe.worker.stats;

import java.util.Arrays;
import java.util.Collection;

/**
 * The median, written once for the benchmarks (timed runs) and the tuner's median pruner. An
 * even count takes the mean of the two middle values; benchmarks use an odd count of runs, so
 * their median is one actual run.
 */
public final class Median {
    private Median() {
    }

    /**
     * The median of the values (the array is not changed).
     *
     * @throws IllegalArgumentException if there are none
     */
    public static double of(double... values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("the median of no values is undefined");
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The median of the values; see {@link #of(double...)}. */
    public static double of(Collection<Double> values) {
        return of(values.stream().mapToDouble(Double::doubleValue).toArray());
    }
}

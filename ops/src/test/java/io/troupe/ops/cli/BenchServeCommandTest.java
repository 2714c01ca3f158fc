package io.troupe.ops.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The statistics of {@code troupe bench serve --compare-monitor}. */
class BenchServeCommandTest {

    private static double[] noisyRatios(int n, long seed) {
        Random random = new Random(seed);
        double[] ratios = new double[n];
        for (int i = 0; i < n; i++) {
            ratios[i] = 1.0 + 0.1 * random.nextGaussian();
        }
        java.util.Arrays.sort(ratios);
        return ratios;
    }

    @Test
    void theBootstrapIntervalHoldsTheMedianAndNarrowsAsRoundsGrowLikeOneOverRootN() {
        double[] few = BenchServeCommand.bootstrapMedianInterval(noisyRatios(50, 1), 2000, 95);
        double[] many = BenchServeCommand.bootstrapMedianInterval(noisyRatios(800, 1), 2000, 95);
        assertTrue(few[0] < 1.0 && few[1] > 1.0, few[0] + " .. " + few[1]);
        assertTrue(many[0] < 1.0 && many[1] > 1.0, many[0] + " .. " + many[1]);
        double ratio = (few[1] - few[0]) / (many[1] - many[0]);
        assertTrue(ratio > 2.5 && ratio < 6, "16x the rounds, about 4x narrower: " + ratio);
        // The median of a normal sample has a standard error of 1.2533 sigma / sqrt(n): 95% is +-2.46 sigma/sqrt(n).
        assertEquals(2 * 1.96 * 1.2533 * 0.1 / Math.sqrt(800), many[1] - many[0], 0.3 * (many[1] - many[0]));
    }

    @Test
    void aConstantSampleHasAPointInterval() {
        double[] same = BenchServeCommand.bootstrapMedianInterval(new double[] {1.02, 1.02, 1.02}, 100, 95);
        assertEquals(1.02, same[0], 1e-12);
        assertEquals(1.02, same[1], 1e-12);
    }

    @Test
    void theCallQuantileIsTheUpperBoundOfTheBucketThatHoldsIt() {
        // Cumulative counts over bounds 100 ns, 200 ns, 400 ns, 800 ns: 60 calls <= 100 ns, 38 more <= 400 ns, 2 slower.
        double[] cumulative = {60, 80, 98, 100};
        assertEquals(1e-7, BenchServeCommand.bucketQuantile(cumulative, 0.5), 1e-15);
        assertEquals(4e-7, BenchServeCommand.bucketQuantile(cumulative, 0.9), 1e-15);
        assertEquals(8e-7, BenchServeCommand.bucketQuantile(cumulative, 0.99), 1e-15);
        assertTrue(Double.isNaN(BenchServeCommand.bucketQuantile(new double[] {0, 0}, 0.5)), "no calls, no quantile");
    }
}

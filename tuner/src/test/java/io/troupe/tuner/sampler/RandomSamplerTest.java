package io.troupe.tuner.sampler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.tuner.space.SearchSpace;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Random search draws from each parameter's own distribution, reproducibly. */
class RandomSamplerTest {
    private static final int N = 20_000;
    private static final SearchSpace SPACE = SearchSpace.parse("""
            params {
              dropout { type = float, min = 0.1, max = 0.3 }
              learning_rate { type = log, min = 1e-5, max = 1e-1 }
              n_layer { type = int, min = 2, max = 8, step = 2 }
              n_embd { type = choice, values = [32, 64, 128] }
            }
            """);

    @Test
    void everyParameterFollowsItsDistribution() {
        RandomSampler sampler = new RandomSampler(SPACE, 7);
        double[] dropout = new double[N];
        double[] logLr = new double[N];
        Map<Object, Integer> layers = new HashMap<>();
        Map<Object, Integer> widths = new HashMap<>();
        for (int i = 0; i < N; i++) {
            Map<String, Object> p = sampler.sample(i, List.of());
            dropout[i] = (double) p.get("dropout");
            logLr[i] = Math.log10((double) p.get("learning_rate"));
            layers.merge(p.get("n_layer"), 1, Integer::sum);
            widths.merge(p.get("n_embd"), 1, Integer::sum);
        }
        // Uniform on [0.1, 0.3]: in range, mean 0.2, variance (0.2)^2 / 12; each tenth of the range ~10%.
        assertInRange(dropout, 0.1, 0.3);
        assertEquals(0.2, mean(dropout), 0.002);
        assertEquals(0.04 / 12, variance(dropout), 0.0002);
        assertUniformBins(dropout, 0.1, 0.3);
        // Log-uniform on [1e-5, 1e-1]: its log10 is uniform on [-5, -1], so each decade gets a quarter.
        assertInRange(logLr, -5, -1);
        assertEquals(-3, mean(logLr), 0.03);
        assertUniformBins(logLr, -5, -1);
        // Integers 2, 4, 6, 8 each a quarter (both ends included); choices each a third.
        assertEquals(java.util.Set.of(2L, 4L, 6L, 8L), layers.keySet());
        layers.values().forEach(c -> assertEquals(N / 4.0, c, N * 0.02));
        assertEquals(java.util.Set.of(32L, 64L, 128L), widths.keySet());
        widths.values().forEach(c -> assertEquals(N / 3.0, c, N * 0.02));
    }

    @Test
    void theSameSeedAndTrialGiveTheSameValuesAndOtherSeedsDoNot() {
        assertEquals(new RandomSampler(SPACE, 1).sample(5, List.of()), new RandomSampler(SPACE, 1).sample(5, List.of()));
        assertNotEquals(new RandomSampler(SPACE, 1).sample(5, List.of()), new RandomSampler(SPACE, 2).sample(5, List.of()));
        assertNotEquals(new RandomSampler(SPACE, 1).sample(5, List.of()), new RandomSampler(SPACE, 1).sample(6, List.of()));
    }

    private static void assertInRange(double[] xs, double lo, double hi) {
        for (double x : xs) {
            assertTrue(x >= lo && x <= hi, x + " outside [" + lo + ", " + hi + "]");
        }
    }

    /** Ten equal bins each hold 10% +- 1.5% (about 5 standard deviations at N = 20000). */
    private static void assertUniformBins(double[] xs, double lo, double hi) {
        int[] bins = new int[10];
        for (double x : xs) {
            bins[Math.min(9, (int) ((x - lo) / (hi - lo) * 10))]++;
        }
        for (int b : bins) {
            assertEquals(0.1, b / (double) xs.length, 0.015);
        }
    }

    private static double mean(double[] xs) {
        double s = 0;
        for (double x : xs) {
            s += x;
        }
        return s / xs.length;
    }

    private static double variance(double[] xs) {
        double m = mean(xs);
        double s = 0;
        for (double x : xs) {
            s += (x - m) * (x - m);
        }
        return s / xs.length;
    }
}

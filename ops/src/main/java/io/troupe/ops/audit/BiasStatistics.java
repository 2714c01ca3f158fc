package io.troupe.ops.audit;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** The statistics of a bias audit: the stereotype percentage, its bootstrap interval, the mean gap. */
public final class BiasStatistics {
    /** Resamples of the percentile bootstrap. */
    public static final int RESAMPLES = 2000;

    private BiasStatistics() {
    }

    /** One group of pairs (all, a bias category or a direction) summarised. */
    public record Group(String name, int pairs, double pctStereotype, double ciLow, double ciHigh, double meanGap) {
    }

    /** Percentage (0..100) of pairs where the more stereotypical sentence scores higher. */
    public static double pctStereotype(List<PairScore> scores) {
        if (scores.isEmpty()) {
            return Double.NaN;
        }
        long hits = scores.stream().filter(PairScore::stereotypical).count();
        return 100.0 * hits / scores.size();
    }

    /** Mean of {@link PairScore#gap()} over the pairs, in nats. */
    public static double meanGap(List<PairScore> scores) {
        return scores.stream().mapToDouble(PairScore::gap).average().orElse(Double.NaN);
    }

    /**
     * The 95% percentile-bootstrap interval of the stereotype percentage: {@code resamples} times,
     * draw as many pairs as there are with replacement and take their percentage; the interval is
     * the 2.5th and 97.5th percentiles of those. The same seed gives the same interval.
     *
     * @return {lower, upper}, both {@code NaN} for no pairs
     */
    public static double[] bootstrapCi(List<PairScore> scores, int resamples, long seed) {
        int n = scores.size();
        if (n == 0) {
            return new double[] {Double.NaN, Double.NaN};
        }
        boolean[] hit = new boolean[n];
        for (int i = 0; i < n; i++) {
            hit[i] = scores.get(i).stereotypical();
        }
        SplittableRandom random = new SplittableRandom(seed);
        double[] pct = new double[resamples];
        for (int r = 0; r < resamples; r++) {
            int hits = 0;
            for (int i = 0; i < n; i++) {
                if (hit[random.nextInt(n)]) {
                    hits++;
                }
            }
            pct[r] = 100.0 * hits / n;
        }
        Arrays.sort(pct);
        return new double[] {percentile(pct, 0.025), percentile(pct, 0.975)};
    }

    /** Linear interpolation between the closest ranks of a sorted array. */
    static double percentile(double[] sorted, double q) {
        double rank = q * (sorted.length - 1);
        int low = (int) Math.floor(rank);
        int high = Math.min(sorted.length - 1, low + 1);
        return sorted[low] + (rank - low) * (sorted[high] - sorted[low]);
    }

    /** Summarises {@code scores} as one group, its interval drawn with {@code seed}. */
    public static Group group(String name, List<PairScore> scores, long seed) {
        double[] ci = bootstrapCi(scores, RESAMPLES, seed);
        return new Group(name, scores.size(), pctStereotype(scores), ci[0], ci[1], meanGap(scores));
    }
}

package io.troupe.data.dedup;

/**
 * Bands and rows for locality-sensitive hashing of MinHash signatures: two documents become
 * candidates when all {@code rows} values of at least one of {@code bands} bands agree, which for
 * Jaccard similarity s happens with probability {@code 1 - (1 - s^rows)^bands}, an S-curve whose
 * steep part sits near the threshold.
 *
 * @param bands number of bands
 * @param rows signature values per band
 */
public record LshParameters(int bands, int rows) {

    /** Probability that documents of Jaccard similarity {@code s} share a band. */
    public double candidateProbability(double s) {
        return 1 - Math.pow(1 - Math.pow(s, rows), bands);
    }

    /**
     * The bands and rows (bands * rows <= permutations) that minimise the false-positive area
     * below the threshold plus the false-negative area above it, as datasketch's MinHashLSH
     * chooses them.
     */
    public static LshParameters optimal(double threshold, int permutations) {
        LshParameters best = null;
        double bestError = Double.MAX_VALUE;
        for (int bands = 1; bands <= permutations; bands++) {
            for (int rows = 1; bands * rows <= permutations; rows++) {
                LshParameters p = new LshParameters(bands, rows);
                double error = p.area(0, threshold, false) + p.area(threshold, 1, true);
                if (error < bestError) {
                    bestError = error;
                    best = p;
                }
            }
        }
        return best;
    }

    /** Integral over [from, to] of P(candidate), or of 1 - P(candidate) (trapezoid rule). */
    private double area(double from, double to, boolean missed) {
        int steps = 200;
        double h = (to - from) / steps;
        double sum = 0;
        for (int i = 0; i <= steps; i++) {
            double p = candidateProbability(from + i * h);
            double y = missed ? 1 - p : p;
            sum += (i == 0 || i == steps) ? y / 2 : y;
        }
        return sum * h;
    }
}

package io.troupe.ops.inference;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits: temperature scaling, optional top-k, optional top-p
 * (nucleus), then a seeded draw. A temperature of 0 is greedy (the likeliest token, as in the
 * OpenAI API).
 *
 * <p>Not thread-safe: one sampler draws one sequence's tokens (its random stream and scratch
 * buffer are its own).
 */
public final class TokenSampler {
    private final double temperature;
    private final int topK;
    private final double topP;
    private final SplittableRandom random;
    /** Scaled logits, then weights, of the latest draw: [vocab], reused (a sampler draws once per generated token). */
    private double[] scaled = new double[0];

    /**
     * @param temperature >= 0; lower is more conservative, 0 picks the likeliest token
     * @param topK keep only the k most likely tokens (0 = all)
     */
    public TokenSampler(double temperature, int topK, long seed) {
        this(temperature, topK, 1.0, seed);
    }

    /**
     * @param temperature >= 0; 0 picks the likeliest token
     * @param topK keep only the k most likely tokens (0 = all)
     * @param topP keep the smallest set of likeliest tokens whose probability reaches topP, in (0, 1]
     */
    public TokenSampler(double temperature, int topK, double topP, long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be >= 0 (0 always picks the likeliest token), got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("--top-k must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("--top-p must be in (0, 1], got " + topP);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    /** Samples from logits[offset, offset + vocab). */
    public int sample(float[] logits, int offset, int vocab) {
        if (temperature == 0) {
            return argmax(logits, offset, vocab);
        }
        if (scaled.length != vocab) {
            scaled = new double[vocab];
        }
        double[] scaled = this.scaled;
        for (int i = 0; i < vocab; i++) {
            scaled[i] = logits[offset + i] / temperature;
        }
        if (topK > 0 && topK < vocab) {
            double[] sorted = scaled.clone();
            Arrays.sort(sorted);
            double cutoff = sorted[vocab - topK];
            for (int i = 0; i < vocab; i++) {
                if (scaled[i] < cutoff) {
                    scaled[i] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, scaled[i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            scaled[i] = Math.exp(scaled[i] - max);
            sum += scaled[i];
        }
        if (topP < 1) {
            sum = keepNucleus(scaled, sum);
        }
        double u = random.nextDouble() * sum;
        for (int i = 0; i < vocab; i++) {
            u -= scaled[i];
            if (u < 0) {
                return i;
            }
        }
        return argmax(logits, offset, vocab);
    }

    /** Zeroes every weight outside the nucleus (the likeliest tokens reaching topP of the mass); returns the mass kept. */
    private double keepNucleus(double[] weights, double total) {
        Integer[] order = new Integer[weights.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(weights[b], weights[a]));
        double kept = 0;
        int k = 0;
        while (k < order.length && kept < topP * total) {
            kept += weights[order[k]];
            k++;
        }
        for (int j = k; j < order.length; j++) {
            weights[order[j]] = 0;
        }
        return kept;
    }

    private static int argmax(float[] logits, int offset, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) {
            if (logits[offset + i] > logits[offset + best]) {
                best = i;
            }
        }
        return best;
    }
}

package io.troupe.ops.inference;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Picks the next token from logits: temperature scaling, optional top-k, then a seeded draw. */
public final class TokenSampler {
    private final double temperature;
    private final int topK;
    private final SplittableRandom random;

    /**
     * @param temperature > 0; lower is more conservative
     * @param topK keep only the k most likely tokens (0 = all)
     */
    public TokenSampler(double temperature, int topK, long seed) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature must be a positive number, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("--top-k must be >= 0, got " + topK);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.random = new SplittableRandom(seed);
    }

    /** Samples from logits[offset, offset + vocab). */
    public int sample(float[] logits, int offset, int vocab) {
        double[] scaled = new double[vocab];
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
        for (double v : scaled) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            scaled[i] = Math.exp(scaled[i] - max);
            sum += scaled[i];
        }
        double u = random.nextDouble() * sum;
        for (int i = 0; i < vocab; i++) {
            u -= scaled[i];
            if (u < 0) {
                return i;
            }
        }
        return vocab - 1;
    }
}

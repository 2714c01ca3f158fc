package io.troupe.data.pairs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LengthBucketSamplerTest {

    private static int[][] lengths(int n, long seed) {
        Random r = new Random(seed);
        int[] s = new int[n];
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = 2 + (int) Math.abs(r.nextGaussian() * 12); // long-tailed, as sentences are
            t[i] = Math.max(1, s[i] + r.nextInt(5) - 2);
        }
        return new int[][] {s, t};
    }

    @Test
    void everyExampleOncePerEpochInBatchesOfTheSize() {
        int[][] l = lengths(1003, 1);
        LengthBucketSampler sampler = new LengthBucketSampler(l[0], l[1], 32, 10, 7);
        List<int[]> batches = sampler.epoch(0);
        int[] seen = new int[1003];
        int small = 0;
        for (int[] b : batches) {
            assertTrue(b.length <= 32 && b.length > 0);
            small += b.length < 32 ? 1 : 0;
            for (int i : b) {
                seen[i]++;
            }
        }
        for (int count : seen) {
            assertEquals(1, count);
        }
        assertTrue(small <= 4, "only the last batch of a pool may be short: " + small);
    }

    @Test
    void bucketingCutsPaddingFarBelowRandomBatches() {
        int[][] l = lengths(20_000, 2);
        LengthBucketSampler bucketed = new LengthBucketSampler(l[0], l[1], 64, 100, 3);
        LengthBucketSampler random = new LengthBucketSampler(l[0], l[1], 64, 1, 3);
        double b = bucketed.paddingFraction(bucketed.epoch(0));
        double r = random.paddingFraction(random.epoch(0));
        assertTrue(r > 0.4, "random batches of long-tailed lengths pad a lot: " + r);
        assertTrue(b < 0.1, "bucketed padding " + b);
    }

    @Test
    void paddingFractionCountsBothSides() {
        LengthBucketSampler s = new LengthBucketSampler(new int[] {1, 3}, new int[] {2, 2}, 2, 1, 0);
        // one batch: source 1 padded to 3 (2 pads), target to 2 (none): 2 of 10 slots
        assertEquals(0.2, s.paddingFraction(List.of(new int[] {0, 1})), 1e-12);
    }

    @Test
    void epochsAreDeterministicPerSeedAndDifferAcrossEpochs() {
        int[][] l = lengths(500, 4);
        LengthBucketSampler a = new LengthBucketSampler(l[0], l[1], 16, 8, 5);
        LengthBucketSampler b = new LengthBucketSampler(l[0], l[1], 16, 8, 5);
        List<int[]> e0 = a.epoch(0);
        List<int[]> again = b.epoch(0);
        assertEquals(e0.size(), again.size());
        for (int i = 0; i < e0.size(); i++) {
            assertArrayEquals(e0.get(i), again.get(i));
        }
        assertFalse(java.util.Arrays.equals(e0.get(0), a.epoch(1).get(0)));
    }
}

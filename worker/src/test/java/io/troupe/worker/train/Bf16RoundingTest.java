package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** bfloat16 rounding of parameters: to nearest (ties to even) and stochastic, unbiased and seeded. */
class Bf16RoundingTest {
    private static final float ULP_AT_ONE = 0x1p-7f;     // bfloat16 keeps 7 stored significand bits

    @Test
    void nearestRoundsToEvenAndStaysWithinHalfAnUlp() {
        assertEquals(1f, Bf16Rounding.nearest(1f + 0x1p-8f), "a tie rounds to even (down)");
        assertEquals(1f + 2 * ULP_AT_ONE, Bf16Rounding.nearest(1f + 3 * 0x1p-8f), "a tie rounds to even (up)");
        assertEquals(1f + ULP_AT_ONE, Bf16Rounding.nearest(1f + 0x1p-8f + 0x1p-20f), "above the tie rounds up");
        assertEquals(-1f, Bf16Rounding.nearest(-1f - 0x1p-9f));
        assertEquals(Float.POSITIVE_INFINITY, Bf16Rounding.nearest(Float.POSITIVE_INFINITY));
        assertTrue(Float.isNaN(Bf16Rounding.nearest(Float.NaN)));
        assertTrue(Float.isFinite(Bf16Rounding.nearest(Float.MAX_VALUE)), "the largest float does not become infinite");
        Random random = new Random(1);
        for (int i = 0; i < 100_000; i++) {
            float x = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(9) - 6));
            float r = Bf16Rounding.nearest(x);
            assertTrue(Bf16Rounding.representable(r), x + " -> " + r);
            assertTrue(Math.abs(r - x) <= Math.ulp(r) * 0x1p15f + 0f, x + " -> " + r);   // half a bf16 ulp = 2^15 float ulps
        }
    }

    @Test
    void stochasticRoundingIsUnbiasedAndPicksOnlyTheTwoNeighbours() {
        for (float x : new float[] {1f + 0.25f * ULP_AT_ONE, -(1f + 0.25f * ULP_AT_ONE), 3e-4f + 1.7e-7f,
                1f + 0.999f * ULP_AT_ONE}) {
            float down = Float.intBitsToFloat(Float.floatToRawIntBits(x) & 0xFFFF_0000);
            float up = Float.intBitsToFloat(Float.floatToRawIntBits(down) + 0x1_0000);   // next bf16 from zero
            int n = 200_000;
            float[] values = new float[n];
            Arrays.fill(values, x);
            Bf16Rounding.roundStochastic(values, 42, 7);
            double sum = 0;
            int ups = 0;
            for (float v : values) {
                assertTrue(v == down || v == up, x + " rounded to " + v + ", not " + down + " or " + up);
                ups += v == up ? 1 : 0;
                sum += v;
            }
            double p = (x - down) / (double) (up - down);
            // The count of ups is binomial(n, p): within 5 standard deviations.
            double sd = Math.sqrt(n * p * (1 - p));
            assertEquals(n * p, ups, 5 * sd + 1, "rounds away from zero with probability " + p + " for " + x);
            assertEquals(x, sum / n, 5 * sd / n * Math.abs(up - down) + 1e-12, "the mean is the input");
        }
    }

    @Test
    void stochasticRoundingIsDeterministicBySeedAndStep() {
        Random random = new Random(5);
        float[] base = new float[10_000];
        for (int i = 0; i < base.length; i++) {
            base[i] = (float) random.nextGaussian() * 0.02f;
        }
        float[] a = base.clone();
        float[] b = base.clone();
        Bf16Rounding.roundStochastic(a, 1337, 12);
        Bf16Rounding.roundStochastic(b, 1337, 12);
        assertArrayEquals(a, b, "the same seed and step round alike (every worker of a ring)");
        float[] otherStep = base.clone();
        Bf16Rounding.roundStochastic(otherStep, 1337, 13);
        float[] otherSeed = base.clone();
        Bf16Rounding.roundStochastic(otherSeed, 1338, 12);
        assertFalse(Arrays.equals(a, otherStep), "another step draws other bits");
        assertFalse(Arrays.equals(a, otherSeed), "another seed draws other bits");
        for (float v : a) {
            assertTrue(Bf16Rounding.representable(v));
        }
        float[] special = {Float.POSITIVE_INFINITY, Float.NaN, Float.MAX_VALUE, -Float.MAX_VALUE, 0f};
        Bf16Rounding.roundStochastic(special, 1, 1);
        assertEquals(Float.POSITIVE_INFINITY, special[0]);
        assertTrue(Float.isNaN(special[1]));
        assertTrue(Float.isFinite(special[2]) && Float.isFinite(special[3]), "no overflow to infinity");
        assertEquals(0f, special[4]);
    }
}

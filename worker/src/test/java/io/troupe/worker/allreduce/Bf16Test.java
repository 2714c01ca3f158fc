package io.troupe.worker.allreduce;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Bf16Test {

    @Test
    void representableValuesAreExact() {
        for (float value : new float[] {0f, -0f, 1f, -2.5f, 0.15625f, 65536f, Float.MIN_NORMAL}) {
            assertEquals(Float.floatToIntBits(value), Float.floatToIntBits(Bf16.round(value)), "value " + value);
        }
    }

    @Test
    void tiesGoToEven() {
        float ulp = 0x1p-7f; // bf16 spacing just above 1
        // 1 + ulp/2 lies halfway between 1 (even mantissa) and 1 + ulp (odd): down to 1.
        assertEquals(1f, Bf16.round(1f + ulp / 2));
        // 1 + 3ulp/2 lies halfway between 1 + ulp (odd) and 1 + 2ulp (even): up.
        assertEquals(1f + 2 * ulp, Bf16.round(1f + 3 * ulp / 2));
        // Just above halfway rounds up, just below rounds down.
        assertEquals(1f + ulp, Bf16.round(Math.nextUp(1f + ulp / 2)));
        assertEquals(1f, Bf16.round(Math.nextDown(1f + ulp / 2)));
        assertEquals(-1f, Bf16.round(-(1f + ulp / 2)));
    }

    @Test
    void specialValuesSurvive() {
        assertTrue(Float.isNaN(Bf16.round(Float.NaN)));
        // A NaN whose payload sits only in the dropped bits must not become infinity.
        assertTrue(Float.isNaN(Bf16.round(Float.intBitsToFloat(0x7f800001))));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.POSITIVE_INFINITY));
        assertEquals(Float.NEGATIVE_INFINITY, Bf16.round(Float.NEGATIVE_INFINITY));
        // Beyond bf16's largest finite value, nearest rounding overflows to infinity, as in hardware.
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.MAX_VALUE));
    }

    @Test
    void relativeErrorIsAtMostTheUnitRoundoff() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 100_000; i++) {
            float value = (float) ((random.nextDouble() - 0.5) * Math.pow(2, random.nextInt(-60, 60)));
            double error = Math.abs(Bf16.round(value) - (double) value);
            assertTrue(error <= Bf16.UNIT_ROUNDOFF * Math.abs(value), "value " + value + " error " + error);
        }
    }
}

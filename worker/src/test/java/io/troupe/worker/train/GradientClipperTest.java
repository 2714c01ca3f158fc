package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class GradientClipperTest {

    @Test
    void scalesDownToTheMaximumNorm() {
        float[] grads = {3, 0, -4, 0, 0};
        double norm = new GradientClipper(1.0).clip(grads);
        assertEquals(5.0, norm, 0);
        double scale = 1.0 / (5.0 + 1e-6);
        assertArrayEquals(new float[] {(float) (3 * scale), 0, (float) (-4 * scale), 0, 0}, grads,
                1e-7f);
        assertEquals(1.0, GradientClipper.norm(grads), 1e-6);
    }

    @Test
    void leavesSmallGradientsAlone() {
        float[] grads = {0.3f, -0.4f, 0.1f};
        float[] before = grads.clone();
        double norm = new GradientClipper(1.0).clip(grads);
        assertEquals(Math.sqrt(0.09 + 0.16 + 0.01), norm, 1e-7);
        assertArrayEquals(before, grads);
    }

    @Test
    void zeroTurnsClippingOffButStillReportsTheNorm() {
        float[] grads = {30, 40};
        assertEquals(50.0, new GradientClipper(0).clip(grads), 0);
        assertArrayEquals(new float[] {30, 40}, grads);
    }

    @Test
    void nonFiniteNormsAreReportedNotSpread() {
        float[] grads = {1, Float.NaN, 2};
        assertTrue(Double.isNaN(new GradientClipper(1.0).clip(grads)));
        assertEquals(1f, grads[0]);
        float[] overflow = {Float.MAX_VALUE, Float.POSITIVE_INFINITY};
        assertEquals(Double.POSITIVE_INFINITY, new GradientClipper(1.0).clip(overflow), 0);
        assertEquals(Float.MAX_VALUE, overflow[0]);
    }

    @Test
    void accumulatesInDoubleSoManySmallValuesDoNotDrift() {
        float[] grads = new float[10_000_003];
        Arrays.fill(grads, 1e-3f);
        double expected = Math.sqrt(grads.length) * (double) 1e-3f;
        // Summed in float, the squares (1e-6 each) stop registering long before the end.
        assertEquals(expected, GradientClipper.norm(grads), expected * 1e-9);
    }

    @Test
    void rejectsNegativeMaximum() {
        assertThrows(IllegalArgumentException.class, () -> new GradientClipper(-1));
        assertThrows(IllegalArgumentException.class, () -> new GradientClipper(Double.NaN));
    }
}

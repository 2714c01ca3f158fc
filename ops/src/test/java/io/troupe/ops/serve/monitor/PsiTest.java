package io.troupe.ops.serve.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PsiTest {
    @Test
    void theSameSharesScoreZeroAndAShiftScoresAsTheFormulaSays() {
        assertEquals(0.0, Psi.of(new long[] {500, 300, 200}, new long[] {50, 30, 20}), 1e-3);
        // Large counts make the smoothing negligible: (0.2-0.5)ln(0.2/0.5) + (0.8-0.5)ln(0.8/0.5).
        double expected = -0.3 * Math.log(0.4) + 0.3 * Math.log(1.6);
        assertEquals(expected, Psi.of(new long[] {500_000, 500_000}, new long[] {200_000, 800_000}), 1e-4);
    }

    @Test
    void aBinTheReferenceNeverSawIsLargeWhenFilledAndNegligibleWhenEmpty() {
        long[] reference = {100_000, 100_000, 0};
        assertTrue(Psi.of(reference, new long[] {50, 50, 0}) < 0.01);
        assertTrue(Psi.of(reference, new long[] {25, 25, 50}) > 3);
    }

    @Test
    void histogramsOfOtherBinsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Psi.of(new long[2], new long[3]));
    }

    @Test
    void lengthBinsDoubleInWidth() {
        assertEquals(0, LengthBins.of(0));
        assertEquals(0, LengthBins.of(1));
        assertEquals(1, LengthBins.of(3));
        assertEquals(2, LengthBins.of(4));
        assertEquals(5, LengthBins.of(63));
        assertEquals(LengthBins.COUNT - 1, LengthBins.of(1 << 20));
    }
}

package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Dynamic loss scaling: halve and skip on overflow, grow after a window of clean steps. */
class LossScalerTest {

    @Test
    void anOverflowSkipsTheStepAndHalvesTheScale() {
        LossScaler scaler = new LossScaler(1 << 16, 3);
        assertTrue(scaler.update(false), "an inf/NaN gradient skips the optimizer step");
        assertEquals(1 << 15, scaler.scale());
        assertEquals(1, scaler.overflows());
        assertTrue(scaler.update(false));
        assertEquals(1 << 14, scaler.scale());
        assertEquals(2, scaler.overflows());
    }

    @Test
    void aWindowOfCleanStepsDoublesTheScaleAndAnOverflowRestartsTheWindow() {
        LossScaler scaler = new LossScaler(1 << 10, 3);
        assertFalse(scaler.update(true));
        assertFalse(scaler.update(true));
        assertEquals(1 << 10, scaler.scale(), "two clean steps of a window of three: unchanged");
        assertFalse(scaler.update(true));
        assertEquals(1 << 11, scaler.scale(), "the third clean step doubles the scale");
        scaler.update(true);
        scaler.update(true);
        scaler.update(false);
        assertEquals(1 << 10, scaler.scale());
        scaler.update(true);
        scaler.update(true);
        assertEquals(1 << 10, scaler.scale(), "the overflow restarted the window");
        scaler.update(true);
        assertEquals(1 << 11, scaler.scale());
        assertEquals(1, scaler.overflows());
    }

    @Test
    void theScaleStaysBetweenOneAndTwoToThe24() {
        LossScaler low = new LossScaler(2, 1);
        low.update(false);
        low.update(false);
        low.update(false);
        assertEquals(1, low.scale());
        LossScaler high = new LossScaler(LossScaler.MAX_SCALE, 1);
        high.update(true);
        assertEquals(LossScaler.MAX_SCALE, high.scale());
    }

    @Test
    void theStateRoundTripsAndBadStatesAreRefused() {
        LossScaler scaler = new LossScaler(1 << 16, 5);
        scaler.update(false);
        scaler.update(true);
        scaler.update(true);
        LossScaler restored = new LossScaler(1 << 16, 5);
        restored.importState(scaler.exportState());
        assertArrayEquals(new long[] {1 << 15, 2, 1}, restored.exportState());
        assertThrows(IllegalArgumentException.class, () -> restored.importState(new long[] {3, 0, 0}));
        assertThrows(IllegalArgumentException.class, () -> new LossScaler(0, 5));
        assertThrows(IllegalArgumentException.class, () -> new LossScaler(1 << 16, 0));
    }
}

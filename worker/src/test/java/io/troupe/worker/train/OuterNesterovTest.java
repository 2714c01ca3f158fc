package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** DiLoCo's outer step is PyTorch's SGD(nesterov=True), worked by hand. */
class OuterNesterovTest {

    @Test
    void twoStepsMatchTheNesterovFormulaWorkedByHand() {
        // lr 0.5, mu 0.9. Step 1, g = (1, -2): b = g = (1, -2);
        //   outer = (10, 20) - 0.5 * (g + 0.9 b) = (10, 20) - 0.5 * (1.9, -3.8) = (9.05, 21.9).
        // Step 2, g = (0.5, 0): b = 0.9 * (1, -2) + (0.5, 0) = (1.4, -1.8);
        //   outer = (9.05, 21.9) - 0.5 * ((0.5, 0) + 0.9 * (1.4, -1.8)) = (9.05, 21.9) - 0.5 * (1.76, -1.62)
        //         = (8.17, 22.71).
        OuterNesterov outer = new OuterNesterov(2, 0.5, 0.9);
        float[] params = {10f, 20f};
        outer.step(params, new float[] {1f, -2f});
        assertArrayEquals(new float[] {9.05f, 21.9f}, params, 1e-5f);
        assertArrayEquals(new float[] {1f, -2f}, outer.momentum(), 1e-6f);
        outer.step(params, new float[] {0.5f, 0f});
        assertArrayEquals(new float[] {1.4f, -1.8f}, outer.momentum(), 1e-6f);
        assertArrayEquals(new float[] {8.17f, 22.71f}, params, 1e-5f);
    }

    @Test
    void withoutMomentumAndRateOneTheOuterParametersBecomeTheAverageOfTheWorkers() {
        // outer - 1 * (outer - mean(local)) = mean(local): DiLoCo with lr 1, mu 0 is model averaging.
        OuterNesterov outer = new OuterNesterov(1, 1.0, 0.0);
        float[] params = {3f};
        outer.step(params, new float[] {3f - 2.5f});
        assertArrayEquals(new float[] {2.5f}, params, 0f);
    }

    @Test
    void aRestoredMomentumContinuesTheSameTrajectory() {
        OuterNesterov a = new OuterNesterov(2, 0.7, 0.9);
        float[] pa = {1f, 2f};
        a.step(pa, new float[] {0.1f, -0.3f});
        OuterNesterov b = new OuterNesterov(2, 0.7, 0.9);
        b.restore(a.momentum().clone());
        float[] pb = pa.clone();
        a.step(pa, new float[] {0.2f, 0.05f});
        b.step(pb, new float[] {0.2f, 0.05f});
        assertArrayEquals(pa, pb, 0f);
    }

    @Test
    void refusesImpossibleSettingsAndSizes() {
        assertThrows(IllegalArgumentException.class, () -> new OuterNesterov(2, 0, 0.9));
        assertThrows(IllegalArgumentException.class, () -> new OuterNesterov(2, 0.7, 1.0));
        OuterNesterov outer = new OuterNesterov(2, 0.7, 0.9);
        assertThrows(IllegalArgumentException.class, () -> outer.step(new float[3], new float[3]));
        assertThrows(IllegalArgumentException.class, () -> outer.restore(new float[1]));
    }
}

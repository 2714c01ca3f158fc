package io.troupe.worker.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.troupe.worker.train.AdamW.Hyperparameters;
import io.troupe.worker.train.AdamW.Range;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AdamWTest {

    private static final Hyperparameters HYPER = new Hyperparameters(0.9, 0.95, 1e-8, 0.1);

    // A matrix, a bias and a gain: decayed, not decayed, not decayed.
    private static final List<Range> MASK = List.of(
            Range.forParameter(0, new long[] {7, 9}),
            Range.forParameter(63, new long[] {9}),
            Range.forParameter(72, new long[] {5}));
    private static final int SIZE = 77;

    @Test
    void aRangesLearningRateScaleUpdatesItAsAnOptimizerAtTheScaledRateWould() {
        Random random = new Random(5);
        float[] start = new float[SIZE];
        for (int i = 0; i < SIZE; i++) {
            start[i] = (float) random.nextGaussian();
        }
        // The matrix at 0.25 of the rate, the bias frozen by a scale of 0, the gain at the rate.
        List<Range> scaled = List.of(new Range(0, 63, true, 0.25), new Range(63, 9, false, 0.0),
                new Range(72, 5, false, 1.0));
        AdamW withScales = new AdamW(SIZE, scaled, HYPER);
        AdamW atFull = new AdamW(SIZE, MASK, HYPER);
        AdamW atQuarter = new AdamW(SIZE, MASK, HYPER);
        float[] p = start.clone();
        float[] full = start.clone();
        float[] quarter = start.clone();
        for (int t = 0; t < 4; t++) {
            float[] grads = new float[SIZE];
            for (int i = 0; i < SIZE; i++) {
                grads[i] = (float) random.nextGaussian();
            }
            withScales.update(p, grads, 1e-2);
            atFull.update(full, grads, 1e-2);
            atQuarter.update(quarter, grads, 0.25e-2);
        }
        assertArrayEquals(Arrays.copyOfRange(quarter, 0, 63), Arrays.copyOfRange(p, 0, 63), 1e-7f);
        assertArrayEquals(Arrays.copyOfRange(start, 63, 72), Arrays.copyOfRange(p, 63, 72), 0f);
        assertArrayEquals(Arrays.copyOfRange(full, 72, 77), Arrays.copyOfRange(p, 72, 77), 0f);
        assertThrows(IllegalArgumentException.class, () -> new Range(0, 1, true, -0.5));
    }

    @Test
    void matchesADoublePrecisionReferenceOverSeveralSteps() {
        Random random = new Random(11);
        float[] params = new float[SIZE];
        for (int i = 0; i < SIZE; i++) {
            params[i] = (float) random.nextGaussian();
        }
        double[] refParams = toDouble(params);
        double[] refM = new double[SIZE];
        double[] refV = new double[SIZE];
        AdamW adam = new AdamW(SIZE, MASK, HYPER);
        double[] lrs = {1e-3, 6e-4, 6e-4, 3e-4, 1e-4, 5e-2};
        for (int t = 1; t <= lrs.length; t++) {
            float[] grads = new float[SIZE];
            for (int i = 0; i < SIZE; i++) {
                grads[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(5) - 3));
            }
            adam.update(params, grads, lrs[t - 1]);
            reference(refParams, toDouble(grads), refM, refV, t, lrs[t - 1]);
            for (int i = 0; i < SIZE; i++) {
                assertEquals(refParams[i], params[i], 1e-6 * Math.max(1, Math.abs(refParams[i])),
                        "step " + t + ", parameter " + i);
            }
        }
        assertEquals(lrs.length, adam.step());
        AdamW.State state = adam.exportState();
        // Moments can cancel, so compare against the largest one rather than each.
        double mScale = Arrays.stream(refM).map(Math::abs).max().orElseThrow();
        double vScale = Arrays.stream(refV).max().orElseThrow();
        for (int i = 0; i < SIZE; i++) {
            assertEquals(refM[i], state.m()[i], 1e-6 * mScale, "m " + i);
            assertEquals(refV[i], state.v()[i], 1e-6 * vScale, "v " + i);
        }
    }

    @Test
    void theFirstStepMovesEachParameterByAboutTheLearningRate() {
        // With m and v at zero, bias correction makes the first update lr * g / |g|.
        float[] params = new float[SIZE];
        float[] grads = new float[SIZE];
        for (int i = 0; i < SIZE; i++) {
            grads[i] = (i % 2 == 0 ? 1 : -1) * (i + 1) * 1e-3f;
        }
        new AdamW(SIZE, MASK, HYPER).update(params, grads, 0.01);
        for (int i = 0; i < SIZE; i++) {
            assertEquals(-0.01 * Math.signum(grads[i]), params[i], 1e-7);
        }
    }

    @Test
    void weightDecayTouchesOnlyDecayedRanges() {
        float[] params = new float[SIZE];
        Arrays.fill(params, 2f);
        new AdamW(SIZE, MASK, HYPER).update(params, new float[SIZE], 0.5);
        for (int i = 0; i < SIZE; i++) {
            // decayed: 2 * (1 - 0.5 * 0.1); the zero gradient adds no Adam step
            assertEquals(i < 63 ? 1.9f : 2f, params[i], 0, "parameter " + i);
        }
    }

    @Test
    void anImportedStateContinuesBitForBit() {
        Random random = new Random(5);
        float[] a = randomArray(random, SIZE);
        AdamW first = new AdamW(SIZE, MASK, HYPER);
        for (int t = 0; t < 3; t++) {
            first.update(a, randomArray(random, SIZE), 1e-3);
        }
        float[] b = a.clone();
        AdamW second = new AdamW(SIZE, MASK, HYPER);
        second.importState(first.exportState());
        assertEquals(3, second.step());
        for (int t = 0; t < 3; t++) {
            float[] grads = randomArray(random, SIZE);
            first.update(a, grads, 1e-3);
            second.update(b, grads, 1e-3);
        }
        assertArrayEquals(a, b);
        assertThrows(IllegalArgumentException.class,
                () -> second.importState(new AdamW.State(1, new float[3], new float[3])));
    }

    @Test
    void theMaskMustCoverEveryParameterOnce() {
        IllegalArgumentException gap = assertThrows(IllegalArgumentException.class,
                () -> new AdamW(10, List.of(new Range(0, 4, true), new Range(5, 5, false)), HYPER));
        assertTrue(gap.getMessage().startsWith("gap in the decay mask at offset 4"),
                gap.getMessage());
        IllegalArgumentException overlap = assertThrows(IllegalArgumentException.class,
                () -> new AdamW(10, List.of(new Range(0, 6, true), new Range(5, 5, false)), HYPER));
        assertTrue(overlap.getMessage().startsWith("overlap in the decay mask at offset 5"),
                overlap.getMessage());
        IllegalArgumentException shortMask = assertThrows(IllegalArgumentException.class,
                () -> new AdamW(10, List.of(new Range(0, 6, true)), HYPER));
        assertTrue(shortMask.getMessage().contains("covers [0, 6) but there are 10"),
                shortMask.getMessage());
        // any order is fine
        new AdamW(10, List.of(new Range(6, 4, true), new Range(0, 6, false)), HYPER);
        assertThrows(IllegalArgumentException.class, () -> new AdamW(1, MASK, HYPER)
                .update(new float[2], new float[1], 1e-3));
    }

    @Test
    void nanoGptRuleDecaysTensorsOfTwoOrMoreDimensions() {
        assertEquals(new Range(10, 6, true), Range.forParameter(10, new long[] {2, 3}));
        assertEquals(new Range(0, 24, true), Range.forParameter(0, new long[] {2, 3, 4}));
        assertEquals(new Range(4, 3, false), Range.forParameter(4, new long[] {3}));
        assertThrows(IllegalArgumentException.class, () -> new Hyperparameters(1.0, 0.9, 1e-8, 0));
        assertThrows(IllegalArgumentException.class, () -> new Hyperparameters(0.9, 0.9, 0, 0));
    }

    // torch.optim.AdamW, written out in double.
    private static void reference(double[] p, double[] g, double[] m, double[] v, int t,
            double lr) {
        double b1 = HYPER.beta1();
        double b2 = HYPER.beta2();
        for (int i = 0; i < p.length; i++) {
            boolean decay = i < 63;
            if (decay) {
                p[i] *= 1 - lr * HYPER.weightDecay();
            }
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mHat = m[i] / (1 - Math.pow(b1, t));
            double vHat = v[i] / (1 - Math.pow(b2, t));
            p[i] -= lr * mHat / (Math.sqrt(vHat) + HYPER.eps());
        }
    }

    private static double[] toDouble(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    private static float[] randomArray(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }
}

package io.troupe.worker.engine;

/** How far one gradient is from a reference, for the precision tests' tolerances. */
final class GradientError {
    private GradientError() {
    }

    /** ||actual - expected||_2 / ||expected||_2, summed in double. */
    static double relativeL2(float[] actual, float[] expected) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            diff += (actual[i] - expected[i]) * (double) (actual[i] - expected[i]);
            norm += expected[i] * (double) expected[i];
        }
        return Math.sqrt(diff / norm);
    }
}

package io.troupe.ops.serve.monitor;

/**
 * Bins of a text's length in tokens, doubling in width: 0-1, 2-3, 4-7, ..., 2048-4095, and one
 * for 4096 and longer. Lengths spread over orders of magnitude, so equal-width bins would put
 * almost every prompt in the first.
 */
public final class LengthBins {
    /** How many bins there are. */
    public static final int COUNT = 13;

    private LengthBins() {
    }

    /** The bin of a text of {@code tokens} tokens. */
    public static int of(int tokens) {
        if (tokens <= 1) {
            return 0;
        }
        return Math.min(COUNT - 1, 31 - Integer.numberOfLeadingZeros(tokens));
    }
}

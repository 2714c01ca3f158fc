package io.troupe.worker.train;

import io.troupe.worker.allreduce.Bf16;

/**
 * Rounds float32 parameters to values representable in bfloat16 (8 significand bits), for
 * precision {@code bf16-storage}: to nearest once when a run starts, stochastically after every
 * AdamW update.
 *
 * <p>Why stochastic: an AdamW step is about lr in absolute terms, below half a bfloat16 ulp
 * (2^-9 of the weight) for every weight above about lr * 2^8 (0.26 at lr 1e-3, as LayerNorm
 * gains at 1.0; most weights once a schedule has decayed lr), so rounding to nearest would throw
 * those updates away for good. Rounding up with probability equal to the discarded fraction of
 * an ulp makes the stored value exact in expectation, so small updates accumulate on average
 * without a float32 master copy (which would give back the memory bfloat16 saves).
 *
 * <p>The random bits are a hash of (seed, optimizer step, index), not a stream: the result does
 * not depend on threads or on what ran before, every worker of a cluster (same seed, same step,
 * same all-reduced update) rounds identically so their parameters stay bit-identical, and a run
 * resumed from a checkpoint (which holds the optimizer step) rounds as the uninterrupted one.
 */
public final class Bf16Rounding {
    private static final int LOW_BITS = 0xFFFF;
    private static final int EXPONENT = 0x7F80_0000;

    private Bf16Rounding() {
    }

    /** Rounds every value to the nearest bfloat16, ties to even; NaN and infinities are left alone. */
    public static void roundNearest(float[] values) {
        for (int i = 0; i < values.length; i++) {
            values[i] = nearest(values[i]);
        }
    }

    /**
     * The nearest bfloat16 value of {@code x}, ties to even (as a float32): the wire's
     * {@link Bf16#round}, except that a finite parameter never rounds up to infinity.
     */
    public static float nearest(float x) {
        if (!Float.isFinite(x)) {
            return x;
        }
        float rounded = Bf16.round(x);
        return Float.isInfinite(rounded) ? Float.intBitsToFloat(Float.floatToRawIntBits(x) & ~LOW_BITS) : rounded;
    }

    /**
     * Rounds every value stochastically to one of its two neighbouring bfloat16 values: away
     * from zero with probability (discarded low 16 bits) / 2^16, so the expected result is the
     * input. Deterministic in (seed, step, index).
     *
     * @param step the optimizer step this rounding follows (AdamW's step counter)
     */
    public static void roundStochastic(float[] values, long seed, long step) {
        long base = mix(seed ^ mix(step + 0x9E37_79B9_7F4A_7C15L));
        for (int i = 0; i < values.length; i++) {
            values[i] = stochastic(values[i], (int) mix(base + i * 0xBF58_476D_1CE4_E5B9L) & LOW_BITS);
        }
    }

    /** {@code x} rounded with the 16 random bits {@code random}: up (in magnitude) when low + random carries. */
    static float stochastic(float x, int random) {
        int bits = Float.floatToRawIntBits(x);
        if ((bits & EXPONENT) == EXPONENT) {
            return x;
        }
        // Sign and magnitude: adding to the magnitude's low bits rounds the magnitude up with
        // probability low / 2^16, whatever the sign, and a carry into the exponent is the next binade.
        return finiteOrTruncated((bits + (random & LOW_BITS)) & ~LOW_BITS, bits);
    }

    // Rounding the largest finite floats up would give infinity: keep them truncated instead.
    private static float finiteOrTruncated(int rounded, int bits) {
        return (rounded & EXPONENT) == EXPONENT ? Float.intBitsToFloat(bits & ~LOW_BITS) : Float.intBitsToFloat(rounded);
    }

    /** True if {@code x} is a bfloat16 value (its low 16 bits are zero). */
    public static boolean representable(float x) {
        return (Float.floatToRawIntBits(x) & LOW_BITS) == 0;
    }

    // SplitMix64's finaliser: a bijection with good avalanche, so nearby counters give unrelated bits.
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }
}

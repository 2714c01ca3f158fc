package io.troupe.worker.allreduce;

/**
 * bfloat16: the upper 16 bits of an IEEE float32 (1 sign, 8 exponent, 7 mantissa bits). It keeps
 * float32's range but only 8 significant bits, so one rounding has a relative error of at most
 * {@link #UNIT_ROUNDOFF} = 2^-8 (about 0.4%).
 *
 * <p>Conversion rounds to nearest, ties to even, as hardware bf16 units and PyTorch do: truncating
 * instead would bias every value towards zero, and a gradient sum would drift.
 */
public final class Bf16 {

    /** The largest relative error of one float32 to bf16 rounding: 2^-8. */
    public static final double UNIT_ROUNDOFF = 0x1p-8;

    private Bf16() {}

    /** The bf16 bits nearest to {@code value} (ties to even); NaN stays a (quiet) NaN, infinities stay. */
    public static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            // NaN: rounding could carry its payload into the exponent and make it infinite.
            return (short) ((bits >>> 16) | 0x0040);
        }
        // Adding 0x7fff rounds halfway cases up; adding one more when the kept lsb is odd turns
        // "half up" into "half to even". A carry into the exponent is the correct rounding (up to
        // infinity for values beyond bf16's largest finite number).
        int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /** The float32 value of bf16 bits: exact, bf16 is a subset of float32. */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** {@code value} rounded to the nearest bf16, as a float32. */
    public static float round(float value) {
        return toFloat(fromFloat(value));
    }
}

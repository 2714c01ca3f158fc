package io.troupe.model.graph;

/**
 * IEEE 754 half precision (float16) conversion, round to nearest even, for graph constants.
 * Java 17 has no {@code Float.floatToFloat16} (added in Java 20).
 */
public final class Half {
    private Half() {
    }

    /** The float16 bits nearest {@code value} (overflow gives infinity, NaN stays NaN). */
    public static short fromFloat(float value) {
        int f = Float.floatToRawIntBits(value);
        int sign = (f >>> 16) & 0x8000;
        int exp = (f >>> 23) & 0xff;
        int mant = f & 0x7fffff;
        if (exp == 0xff) {                                   // inf or NaN
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {                                     // too big: infinity
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) {                                        // subnormal half or zero
            if (e < -10) {
                return (short) sign;
            }
            int m = mant | 0x800000;                         // the implicit leading 1
            int shift = 14 - e;
            int half = m >> shift;
            int rest = m & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rest > halfway || (rest == halfway && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++;                                          // may carry into the exponent: still correct
        }
        return (short) (sign | half);
    }

    /** The float value of float16 bits. */
    public static float toFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}

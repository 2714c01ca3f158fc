package io.troupe.data.dedup;

/**
 * 64-bit non-cryptographic hashing of text, for dedup keys and line fingerprints. Four chars
 * are mixed per step with multiply-rotate rounds and the result goes through a 64-bit avalanche
 * finalizer (the MurmurHash3 fmix64 constants), so nearby inputs give unrelated hashes and the
 * low bits can index hash tables directly.
 */
public final class Hashing {

    private static final long K1 = 0x87C37B91114253D5L;
    private static final long K2 = 0x4CF5AD432745937FL;

    private Hashing() {
    }

    /** The hash of {@code text}. */
    public static long hash(CharSequence text) {
        return hash(text, 0, text.length());
    }

    /** The hash of {@code text[from, to)}. */
    public static long hash(CharSequence text, int from, int to) {
        long h = 0x9E3779B97F4A7C15L ^ ((long) (to - from) * K2);
        int i = from;
        for (; i + 4 <= to; i += 4) {
            long block = text.charAt(i) | (long) text.charAt(i + 1) << 16
                    | (long) text.charAt(i + 2) << 32 | (long) text.charAt(i + 3) << 48;
            h = round(h, block);
        }
        long tail = 0;
        for (int shift = 0; i < to; i++, shift += 16) {
            tail |= (long) text.charAt(i) << shift;
        }
        return mix(round(h, tail));
    }

    /** A bijective avalanche of one long: every output bit depends on every input bit. */
    public static long mix(long x) {
        x ^= x >>> 33;
        x *= 0xFF51AFD7ED558CCDL;
        x ^= x >>> 33;
        x *= 0xC4CEB9FE1A85EC53L;
        x ^= x >>> 33;
        return x;
    }

    private static long round(long h, long block) {
        block *= K1;
        block = Long.rotateLeft(block, 31);
        block *= K2;
        h ^= block;
        return Long.rotateLeft(h, 27) * 5 + 0x52DCE729;
    }
}

package io.troupe.worker.train;

import java.util.Arrays;

/**
 * The xoshiro256** generator (Blackman and Vigna), with its whole state exportable and
 * restorable, which {@link java.util.SplittableRandom} and {@link java.util.Random} do not
 * allow. A checkpoint stores {@link #state()}; {@link #fromState(long[])} continues the exact
 * same stream after a resume.
 *
 * <p>Seeding expands one {@code long} into the four state words with SplitMix64, as the
 * authors recommend, so nearby seeds give unrelated streams.
 */
public final class Xoshiro256StarStar {

    /** Number of {@code long} words in {@link #state()}. */
    public static final int STATE_LENGTH = 4;

    private long s0;
    private long s1;
    private long s2;
    private long s3;

    private Xoshiro256StarStar(long s0, long s1, long s2, long s3) {
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
    }

    /** A generator whose state is SplitMix64's first four outputs for {@code seed}. */
    public static Xoshiro256StarStar seeded(long seed) {
        long[] words = new long[STATE_LENGTH];
        long x = seed;
        for (int i = 0; i < STATE_LENGTH; i++) {
            x += 0x9E3779B97F4A7C15L;
            long z = x;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            words[i] = z ^ (z >>> 31);
        }
        return fromState(words);
    }

    /**
     * A generator that continues from a state {@link #state()} returned.
     *
     * @throws IllegalArgumentException if the state does not have four words or is all zero
     *     (the one state xoshiro never leaves)
     */
    public static Xoshiro256StarStar fromState(long[] state) {
        if (state.length != STATE_LENGTH) {
            throw new IllegalArgumentException("a xoshiro256** state has " + STATE_LENGTH
                    + " words, got " + state.length + ": " + Arrays.toString(state));
        }
        if ((state[0] | state[1] | state[2] | state[3]) == 0) {
            throw new IllegalArgumentException("an all-zero xoshiro256** state never changes;"
                    + " the saved state is corrupt");
        }
        return new Xoshiro256StarStar(state[0], state[1], state[2], state[3]);
    }

    /** A copy of the four state words; the next output depends on nothing else. */
    public long[] state() {
        return new long[] {s0, s1, s2, s3};
    }

    /** The next 64 uniformly random bits. */
    public long nextLong() {
        long result = Long.rotateLeft(s1 * 5, 7) * 9;
        long t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Long.rotateLeft(s3, 45);
        return result;
    }

    /**
     * A uniformly distributed value in {@code [0, bound)}, without modulo bias.
     *
     * @throws IllegalArgumentException if {@code bound} is not positive
     */
    public long nextLong(long bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        long mask = bound - 1;
        if ((bound & mask) == 0) {
            return nextLong() & mask;
        }
        // Reject draws from the incomplete last copy of [0, bound) in [0, 2^63): u - r + mask
        // overflows exactly for those.
        long u = nextLong() >>> 1;
        long r = u % bound;
        while (u - r + mask < 0) {
            u = nextLong() >>> 1;
            r = u % bound;
        }
        return r;
    }
}

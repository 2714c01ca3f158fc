package io.troupe.ops.serve.monitor;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The bins a token PSI is computed over. A small vocabulary (a character model's) keeps one bin
 * per token. A large one (WordPiece, BPE: thousands of tokens) is grouped into {@value #GROUPS}
 * bins of about equal mass in the reference, most frequent tokens first, plus one bin for tokens
 * the reference never saw and one for characters without a token: a window of a few hundred texts
 * holds a few thousand tokens, too few to estimate thousands of bins, and the sampling noise alone
 * would read as drift (a PSI of about bins / tokens). Text from elsewhere still moves its mass to
 * the rare and unseen bins, which is what the PSI then measures.
 */
final class TokenBins {
    /** Vocabularies up to this many bins keep one bin per token. */
    static final int FULL_UP_TO = 128;
    /** Equal-mass groups of a larger vocabulary's seen tokens. */
    static final int GROUPS = 32;

    /** [vocab + 1] the bin of each token bin; null for one bin per token. */
    private final int[] binOf;
    private final int count;

    private TokenBins(int[] binOf, int count) {
        this.binOf = binOf;
        this.count = count;
    }

    /** The bins for a reference token histogram ({@code reference}'s last bin: characters without a token). */
    static TokenBins of(long[] reference) {
        int n = reference.length;
        if (n <= FULL_UP_TO) {
            return new TokenBins(null, n);
        }
        int unknown = n - 1;
        int unseen = GROUPS;
        int[] binOf = new int[n];
        Integer[] seen = new Integer[unknown];
        long total = 0;
        int seenCount = 0;
        for (int id = 0; id < unknown; id++) {
            if (reference[id] > 0) {
                seen[seenCount++] = id;
                total += reference[id];
            } else {
                binOf[id] = unseen;
            }
        }
        Integer[] byCount = Arrays.copyOf(seen, seenCount);
        Arrays.sort(byCount, Comparator.comparingLong((Integer id) -> reference[id]).reversed().thenComparing(id -> id));
        long before = 0;
        for (int id : byCount) {
            binOf[id] = (int) Math.min(GROUPS - 1, before * GROUPS / Math.max(1, total));
            before += reference[id];
        }
        binOf[unknown] = GROUPS + 1;
        return new TokenBins(binOf, GROUPS + 2);
    }

    /** {@code counts} (one per token bin) summed into these bins. */
    long[] group(long[] counts) {
        if (binOf == null) {
            return counts;
        }
        long[] out = new long[count];
        for (int i = 0; i < counts.length; i++) {
            out[binOf[i]] += counts[i];
        }
        return out;
    }
}

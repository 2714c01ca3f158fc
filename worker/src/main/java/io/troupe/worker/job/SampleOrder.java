package io.troupe.worker.job;

import io.troupe.data.corpus.TokenSequence;
import java.nio.LongBuffer;
import java.util.SplittableRandom;

/**
 * The order in which an elastic job consumes its training samples: epoch after epoch, each a
 * seeded shuffle of the split's non-overlapping windows of T + 1 tokens. Every sample has a
 * global number {@code g}: position {@code g % samplesPerEpoch()} of epoch
 * {@code g / samplesPerEpoch()}.
 *
 * <p>The order is a pure function of (token count, T, seed), so the coordinator hands out
 * ranges of sample numbers and any worker, old or new, trains on exactly those windows: a step
 * retried after a failure, on other workers, sees the same samples. Each epoch also shifts the
 * window grid by a seeded offset in [0, T), so consecutive epochs do not cut the text at the
 * same places.
 */
public final class SampleOrder {
    private final TokenSequence tokens;
    private final int blockSize;
    private final long seed;
    private final int perEpoch;
    private final long[] row;
    private long cachedEpoch = -1;
    private int[] cachedOrder;
    private int cachedShift;

    /**
     * @throws IllegalArgumentException if the split holds fewer than two windows
     */
    public SampleOrder(TokenSequence tokens, int blockSize, long seed) {
        this.tokens = tokens;
        this.blockSize = blockSize;
        this.seed = seed;
        this.perEpoch = samplesPerEpoch(tokens.length(), blockSize);
        this.row = new long[blockSize + 1];
    }

    /**
     * Windows per epoch for a split of {@code tokens} tokens: every shift in [0, T) must leave
     * room for all of them and the last window's extra target token.
     *
     * @throws IllegalArgumentException if fewer than two windows fit
     */
    public static int samplesPerEpoch(long tokens, int blockSize) {
        long windows = (tokens - blockSize) / blockSize;
        if (windows < 2) {
            throw new IllegalArgumentException("the training split has " + tokens + " tokens: too few for block_size "
                    + blockSize + " (it needs at least " + 3 * blockSize + "); use more text or a smaller block_size");
        }
        return Math.toIntExact(Math.min(windows, Integer.MAX_VALUE - 8));
    }

    /** The number of samples in one epoch. */
    public int samplesPerEpoch() {
        return perEpoch;
    }

    /** The offset of sample {@code g}'s first input token in the split. */
    public long windowStart(long g) {
        if (g < 0) {
            throw new IllegalArgumentException("sample numbers start at 0, got " + g);
        }
        long epoch = g / perEpoch;
        if (epoch != cachedEpoch) {
            shuffle(epoch);
        }
        return cachedShift + (long) cachedOrder[(int) (g % perEpoch)] * blockSize;
    }

    /**
     * Writes samples {@code from .. from + rows - 1} as rows of inputs and targets (each T
     * tokens) at the buffers' positions; the positions do not move.
     */
    public void fill(long from, int rows, LongBuffer inputs, LongBuffer targets) {
        for (int r = 0; r < rows; r++) {
            tokens.copyTo(windowStart(from + r), row, 0, blockSize + 1);
            inputs.put(inputs.position() + r * blockSize, row, 0, blockSize);
            targets.put(targets.position() + r * blockSize, row, 1, blockSize);
        }
    }

    /** Fisher-Yates over the window indices, from a generator seeded by (seed, epoch). */
    private void shuffle(long epoch) {
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L + 1);
        int[] order = cachedEpoch >= 0 && cachedOrder != null ? cachedOrder : new int[perEpoch];
        for (int i = 0; i < perEpoch; i++) {
            order[i] = i;
        }
        for (int i = perEpoch - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        cachedShift = random.nextInt(blockSize);
        cachedOrder = order;
        cachedEpoch = epoch;
    }
}

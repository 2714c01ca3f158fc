package io.troupe.worker.bert;

import io.troupe.model.bert.EncoderGraphs;
import io.troupe.worker.train.Xoshiro256StarStar;
import java.nio.LongBuffer;
import java.util.Arrays;

/**
 * BERT's dynamic masking: every time a batch of token windows is drawn, a fresh choice of 15% of
 * its positions to predict; of those, 80% become [MASK], 10% a random token and 10% stay as they
 * are. Special tokens ([CLS], [SEP], [PAD], ...) are never chosen. The MLM graphs
 * ({@link EncoderGraphs#mlmTraining}) then read the corrupted tokens and, as targets, the original
 * token at chosen positions and {@value EncoderGraphs#IGNORE} elsewhere.
 *
 * <p>Seeded: the same seed and the same sequence of batches give the same masks, so a run is
 * reproducible; successive batches (and successive draws of the same window) get different ones.
 */
public final class MlmMasking {
    /** Share of positions to predict. */
    public static final double MASK_RATE = 0.15;

    private final int vocabSize;
    private final long maskId;
    private final boolean[] special;
    private final long seed;
    private Xoshiro256StarStar random;

    /**
     * @param vocabSize V: random replacements are drawn from the non-special ids below it
     * @param maskId the [MASK] token
     * @param specialIds tokens never chosen and never drawn as replacements
     * @param seed the stream of masks
     */
    public MlmMasking(int vocabSize, long maskId, long[] specialIds, long seed) {
        if (maskId < 0 || maskId >= vocabSize) {
            throw new IllegalArgumentException("the [MASK] id " + maskId + " is outside the vocabulary of " + vocabSize);
        }
        this.vocabSize = vocabSize;
        this.maskId = maskId;
        this.special = new boolean[vocabSize];
        special[(int) maskId] = true;
        for (long id : specialIds) {
            if (id >= 0 && id < vocabSize) {
                special[(int) id] = true;
            }
        }
        if (countNonSpecial() == 0) {
            throw new IllegalArgumentException("every token of the vocabulary is special; nothing can be masked");
        }
        this.seed = seed;
        this.random = Xoshiro256StarStar.seeded(seed ^ 0x4D4C4DL);
    }

    /**
     * Masks one sequence with the mask of {@code key} alone: the same (seed, key) always gives
     * the same mask, whatever was masked before. Training keys it by the sample's global number in
     * the sample order (epoch * samples per epoch + position), so a resumed run, a retried step
     * and any split of a step among workers draw exactly the masks an uninterrupted one-worker
     * run draws, and each epoch's pass over a window gets a fresh mask.
     *
     * @return the number of positions chosen for prediction
     */
    public int applyKeyed(long key, LongBuffer tokens, LongBuffer targets, int n) {
        random = Xoshiro256StarStar.seeded(mix(seed ^ 0x4D4C4DL, key));
        return apply(tokens, targets, n);
    }

    /** SplitMix64's finaliser over (a, b): neighbouring keys get unrelated generator seeds. */
    private static long mix(long a, long b) {
        long z = a + 0x9E3779B97F4A7C15L * (b + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private int countNonSpecial() {
        int n = 0;
        for (boolean s : special) {
            n += s ? 0 : 1;
        }
        return n;
    }

    /**
     * Corrupts {@code tokens} in place and writes the targets.
     *
     * @param tokens n token ids (a [B, T] batch, row-major), read from its position and rewritten
     * @param targets n targets written from its position: the original id where predicted, else IGNORE
     * @return the number of positions chosen for prediction
     */
    public int apply(LongBuffer tokens, LongBuffer targets, int n) {
        int from = tokens.position();
        int to = targets.position();
        int chosen = 0;
        for (int i = 0; i < n; i++) {
            long id = tokens.get(from + i);
            boolean candidate = id >= 0 && id < vocabSize && !special[(int) id];
            if (!candidate || nextDouble() >= MASK_RATE) {
                targets.put(to + i, EncoderGraphs.IGNORE);
                continue;
            }
            chosen++;
            targets.put(to + i, id);
            double r = nextDouble();
            if (r < 0.8) {
                tokens.put(from + i, maskId);
            } else if (r < 0.9) {
                tokens.put(from + i, randomToken());
            }
            // else: the token stays, and is still predicted.
        }
        return chosen;
    }

    /** {@link #apply(LongBuffer, LongBuffer, int)} on arrays: returns {corrupted, targets}. */
    public long[][] apply(long[] tokens) {
        long[] corrupted = Arrays.copyOf(tokens, tokens.length);
        long[] targets = new long[tokens.length];
        apply(LongBuffer.wrap(corrupted), LongBuffer.wrap(targets), tokens.length);
        return new long[][] {corrupted, targets};
    }

    private long randomToken() {
        while (true) {
            long id = random.nextLong(vocabSize);
            if (!special[(int) id]) {
                return id;
            }
        }
    }

    private double nextDouble() {
        return (random.nextLong() >>> 11) * 0x1.0p-53;
    }
}

package io.troupe.data.pairs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Batches of example indices whose lengths are alike, so a padded batch wastes few slots.
 *
 * <p>Each epoch, the examples are shuffled (by seed and epoch), cut into pools of
 * {@code poolBatches} batches, each pool is sorted by (source length, target length) and cut
 * into batches of {@code batchSize}, and the batches are shuffled. Pools keep some randomness
 * in which examples share a batch; sorting inside them removes most of the padding. Every
 * example is in exactly one batch per epoch (the last batch may be smaller).
 *
 * <p>{@link #paddingFraction} reports the cost: padded slots over all slots, source and target
 * together, where a batch of b examples pads each side to its longest member.
 */
public final class LengthBucketSampler {

    private final int[] sourceLengths;
    private final int[] targetLengths;
    private final int batchSize;
    private final int poolBatches;
    private final long seed;

    /**
     * @param sourceLengths tokens of each example's source
     * @param targetLengths tokens of each example's target
     * @param batchSize examples per batch, at least 1
     * @param poolBatches batches per sorted pool: 1 sorts only inside each batch (no gain),
     *     a large value sorts the whole epoch (least padding, least randomness)
     * @param seed the shuffle seed
     */
    public LengthBucketSampler(int[] sourceLengths, int[] targetLengths, int batchSize, int poolBatches, long seed) {
        if (sourceLengths.length != targetLengths.length) {
            throw new IllegalArgumentException(sourceLengths.length + " source lengths but " + targetLengths.length
                    + " target lengths");
        }
        if (batchSize < 1 || poolBatches < 1) {
            throw new IllegalArgumentException("batch size " + batchSize + " and pool " + poolBatches
                    + " must be at least 1");
        }
        this.sourceLengths = sourceLengths.clone();
        this.targetLengths = targetLengths.clone();
        this.batchSize = batchSize;
        this.poolBatches = poolBatches;
        this.seed = seed;
    }

    /** The batches of one epoch, each an array of example indices. */
    public List<int[]> epoch(int epoch) {
        int n = sourceLengths.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random random = new Random(seed * 1_000_003L + epoch);
        Collections.shuffle(Arrays.asList(order), random);
        long poolSize = (long) batchSize * poolBatches;
        List<int[]> batches = new ArrayList<>((n + batchSize - 1) / batchSize);
        for (int start = 0; start < n; start += (int) Math.min(poolSize, n - start)) {
            int end = (int) Math.min(n, start + poolSize);
            Arrays.sort(order, start, end, (a, b) -> sourceLengths[a] != sourceLengths[b]
                    ? Integer.compare(sourceLengths[a], sourceLengths[b])
                    : Integer.compare(targetLengths[a], targetLengths[b]));
            for (int b = start; b < end; b += batchSize) {
                int size = Math.min(batchSize, end - b);
                int[] batch = new int[size];
                for (int k = 0; k < size; k++) {
                    batch[k] = order[b + k];
                }
                batches.add(batch);
            }
        }
        Collections.shuffle(batches, random);
        return batches;
    }

    /** Padded slots over all slots in {@code batches}, both sides, each padded to its batch's longest. */
    public double paddingFraction(List<int[]> batches) {
        long slots = 0;
        long real = 0;
        for (int[] batch : batches) {
            int maxSource = 0;
            int maxTarget = 0;
            for (int i : batch) {
                maxSource = Math.max(maxSource, sourceLengths[i]);
                maxTarget = Math.max(maxTarget, targetLengths[i]);
                real += sourceLengths[i] + targetLengths[i];
            }
            slots += (long) batch.length * (maxSource + maxTarget);
        }
        return slots == 0 ? 0 : 1.0 - (double) real / slots;
    }
}

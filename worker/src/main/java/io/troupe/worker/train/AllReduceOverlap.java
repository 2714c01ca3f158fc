package io.troupe.worker.train;

/**
 * Whether the gradient all-reduce overlaps the backward pass ({@code overlap_allreduce}), and
 * into how many buckets of blocks the backward pass is cut for it ({@code allreduce_buckets}).
 * Not part of the resume identity: the gradients are the same either way.
 *
 * @param on overlap on; off runs the one-graph step and all-reduces after it
 * @param buckets buckets of blocks, last block first (capped at the model's layer count)
 */
public record AllReduceOverlap(boolean on, int buckets) {
    static final String OVERLAP = "overlap_allreduce";
    static final String BUCKETS = "allreduce_buckets";

    public AllReduceOverlap {
        if (buckets < 1) {
            throw new SettingsException("allreduce_buckets must be >= 1, got " + buckets);
        }
    }

    /** Off (the one-graph step). */
    public static final AllReduceOverlap OFF = new AllReduceOverlap(false, 2);

    /** The bucket count for a model of {@code layers} blocks. */
    public int bucketsFor(int layers) {
        return Math.min(buckets, layers);
    }
}

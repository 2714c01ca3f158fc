package io.troupe.worker.job;

/**
 * How the global batch of an optimizer step is split over workers. Workers get equal shares
 * where the batch divides evenly; otherwise the first {@code batch % workers} ranks take one
 * more sequence. Each worker's gradient is a mean over its own rows, so before the all-reduce
 * (which averages over workers) it is weighted by {@code workers * rows / batch}; the result is
 * then exactly the mean over all rows of the global batch, as on one worker.
 *
 * <p>A worker's rows run as {@code accumulation} micro-steps of {@code microBatch} sequences
 * when its rows divide by the configured accumulation, else as one micro-step.
 */
public record BatchPlan(int globalBatch, int workers, int rank, int rows, int microBatch, int accumulation) {

    /** The plan of {@code rank} among {@code workers} for a global batch and configured accumulation. */
    public static BatchPlan of(int globalBatch, int configuredAccumulation, int workers, int rank) {
        if (workers < 1 || rank < 0 || rank >= workers) {
            throw new IllegalArgumentException("rank " + rank + " of " + workers + " workers is not a valid rank");
        }
        if (globalBatch < workers) {
            throw new IllegalArgumentException("batch_size " + globalBatch + " is smaller than the number of workers ("
                    + workers + "); every worker needs at least one sequence per step");
        }
        int rows = globalBatch / workers + (rank < globalBatch % workers ? 1 : 0);
        int accumulation = rows % configuredAccumulation == 0 ? configuredAccumulation : 1;
        return new BatchPlan(globalBatch, workers, rank, rows, rows / accumulation, accumulation);
    }

    /** The factor this worker's mean gradient is scaled by before averaging over workers. */
    public float gradientWeight() {
        return (float) ((double) workers * rows / globalBatch);
    }
}

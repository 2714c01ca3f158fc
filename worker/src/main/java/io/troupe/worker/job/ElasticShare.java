package io.troupe.worker.job;

/**
 * One worker's part of a step: samples {@code sampleFrom .. sampleFrom + rows - 1}
 * of the job's {@link SampleOrder}, run as {@code accumulation} micro-steps of
 * {@code microBatch} rows, among {@code workers} workers sharing a global batch of
 * {@code globalBatch} samples. A local run is a one-worker job whose share of step s is the
 * whole global batch, samples {@code [(s-1)B, sB)}.
 */
public record ElasticShare(long sampleFrom, int rows, int microBatch, int accumulation, int workers, int globalBatch) {
    public ElasticShare {
        if (rows < 1 || microBatch < 1 || accumulation < 1 || microBatch * accumulation != rows) {
            throw new IllegalArgumentException("a share of " + rows + " rows cannot run as " + accumulation
                    + " micro-steps of " + microBatch);
        }
        if (workers < 1 || globalBatch < rows) {
            throw new IllegalArgumentException(rows + " rows do not fit a global batch of " + globalBatch);
        }
    }

    /**
     * Rank {@code rank}'s share of the step whose samples start at {@code stepStart}: the ranks'
     * rows (as {@link BatchPlan} splits the global batch) lie one after another in rank order.
     */
    public static ElasticShare of(int globalBatch, int configuredAccumulation, int workers, int rank, long stepStart) {
        BatchPlan plan = BatchPlan.of(globalBatch, configuredAccumulation, workers, rank);
        long before = (long) rank * (globalBatch / workers) + Math.min(rank, globalBatch % workers);
        return new ElasticShare(stepStart + before, plan.rows(), plan.microBatch(), plan.accumulation(), workers,
                globalBatch);
    }

    /** The factor this worker's mean gradient is scaled by before the mean over workers (see {@link BatchPlan}). */
    public float gradientWeight() {
        return (float) ((double) workers * rows / globalBatch);
    }
}

package io.troupe.worker.job.protocol;

/**
 * Coordinator to worker: run optimizer step {@code step} (1-based) on this worker's exact share of
 * the global batch (samples {@code sampleFrom} onward, {@code rows} of them), then evaluate,
 * checkpoint (rank 0) or report a parameter checksum when asked.
 */
public record RunStep(
        String jobId, long step, double lr, boolean evaluate, boolean checkpoint, boolean verifyParams,
        long generation, long sampleFrom, int rows, int microBatch, int gradAccum, int worldSize,
        int globalBatch) implements JobMessage {
}

package io.troupe.worker.job.protocol;

/**
 * Coordinator to worker: the job is over; rank 0 exports the model when {@code exportModel}.
 */
public record FinishJob(String jobId, boolean exportModel) implements JobMessage {
}

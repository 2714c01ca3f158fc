package io.troupe.worker.job.protocol;

/**
 * Worker to coordinator: this worker is done with the job ({@code error} empty on success). A
 * coordinator also sends one to a worker it refuses.
 */
public record JobFinished(String jobId, int rank, String error) implements JobMessage {
}

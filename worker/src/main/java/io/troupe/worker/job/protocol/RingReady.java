package io.troupe.worker.job.protocol;

/**
 * Worker to coordinator: the link to the ring successor is up, or not ({@code error}).
 */
public record RingReady(
        String jobId, int rank, boolean ok, String error, long generation) implements JobMessage {
}

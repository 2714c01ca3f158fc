package io.troupe.worker.job.protocol;

/**
 * Coordinator to worker: connect to the ring successor at this address for ring {@code
 * generation}.
 */
public record ConnectRing(
        String jobId, String successorHost, int successorPort, long generation) implements JobMessage {
}

package io.troupe.worker.job.protocol;

/**
 * Coordinator to worker (elastic jobs): take {@code rank} in the ring of {@code generation}; when
 * {@code syncPort} is set, first fetch the training state of {@code syncStep} from that peer's
 * state server.
 */
public record FormRing(
        String jobId, long generation, int rank, int worldSize, String syncHost, int syncPort,
        long syncStep) implements JobMessage {
}

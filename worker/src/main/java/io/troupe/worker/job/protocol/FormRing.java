package io.troupe.worker.job.protocol;

/**
 * Coordinator to worker (elastic jobs): take {@code rank} in the ring of {@code generation}; when
 * {@code syncPort} is set, first fetch the training state of {@code syncStep} from that peer's
 * state server, presenting {@code stateToken} (the generation's state token, as in its
 * {@link Probe}). {@code ringToken} is the generation's secret that ring peers present to each
 * other ({@code RingAdmission}); the coordinator draws new ones for every ring.
 */
public record FormRing(
        String jobId, long generation, int rank, int worldSize, String syncHost, int syncPort,
        long syncStep, String ringToken, String stateToken) implements JobMessage {

    /** A ring without tokens (in-process tests): any peer of the generation is admitted to the ring. */
    public FormRing(String jobId, long generation, int rank, int worldSize, String syncHost, int syncPort,
                    long syncStep) {
        this(jobId, generation, rank, worldSize, syncHost, syncPort, syncStep, "", "");
    }
}

package io.troupe.worker.job.protocol;

/**
 * Coordinator to worker (elastic jobs): take {@code rank} in the ring of {@code generation}; when
 * {@code syncPort} is set, first fetch the training state of {@code syncStep} from that peer's
 * state server. {@code ringToken} is the generation's secret that ring peers present to each other
 * ({@code RingAdmission}); the coordinator draws a new one for every ring.
 */
public record FormRing(
        String jobId, long generation, int rank, int worldSize, String syncHost, int syncPort,
        long syncStep, String ringToken) implements JobMessage {

    /** A ring without a token (in-process tests): any peer of the generation is admitted. */
    public FormRing(String jobId, long generation, int rank, int worldSize, String syncHost, int syncPort,
                    long syncStep) {
        this(jobId, generation, rank, worldSize, syncHost, syncPort, syncStep, "");
    }
}

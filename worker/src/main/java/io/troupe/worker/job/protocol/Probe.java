package io.troupe.worker.job.protocol;

/**
 * Coordinator to worker (elastic jobs): the ring is being re-formed as {@code generation}; answer
 * a {@link ProbeReply} once no step runs here. Ring links of older generations are dead from now
 * on. {@code stateToken} is the generation's state token: the worker offers its state to fetches
 * that present it, and to no others (a token of an older generation is stale from now on).
 */
public record Probe(String jobId, long generation, String stateToken) implements JobMessage {

    /** A probe without a state token (in-process tests): the worker's state is served to nobody. */
    public Probe(String jobId, long generation) {
        this(jobId, generation, "");
    }
}

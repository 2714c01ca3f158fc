package io.troupe.worker.job.protocol;

/**
 * Coordinator to worker (elastic jobs): the ring is being re-formed as {@code generation}; answer
 * a {@link ProbeReply} once no step runs here. Ring links of older generations are dead from now
 * on.
 */
public record Probe(String jobId, long generation) implements JobMessage {
}

package io.troupe.worker.job.protocol;

import java.util.OptionalInt;

/**
 * Worker to coordinator: the step failed (engine error, ring failure, deadline); {@code
 * suspectRank} is the ring rank whose link broke under this worker, if any.
 */
public record StepFailed(String jobId, int rank, long step, String error, long generation,
        OptionalInt suspectRank) implements JobMessage {
}

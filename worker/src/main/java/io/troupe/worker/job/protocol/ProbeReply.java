package io.troupe.worker.job.protocol;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Worker to coordinator: the answer to a {@link Probe}: steps applied, their parameter checksum,
 * and whether this worker asked to leave.
 */
public record ProbeReply(
        String jobId, long generation, ActorRef<JobMessage> worker, long step, long paramChecksum,
        boolean leaving) implements JobMessage {
}

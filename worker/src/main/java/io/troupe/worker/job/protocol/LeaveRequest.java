package io.troupe.worker.job.protocol;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Worker to coordinator: this worker wants to leave the job (gracefully, between steps).
 */
public record LeaveRequest(String jobId, ActorRef<JobMessage> worker) implements JobMessage {
}

package io.troupe.worker.job.protocol;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Worker to coordinator: the job is prepared (generation -1) or the ring place of {@code
 * generation} is taken, with where this worker's ring and state servers listen; or not ({@code ok}
 * false, {@code error} one line naming the problem).
 */
public record JobReady(
        String jobId, int rank, boolean ok, String error, String dataHost, int dataPort, long generation,
        ActorRef<JobMessage> worker, String stateHost, int statePort) implements JobMessage {
}

package io.troupe.worker.job.protocol;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Worker to coordinator: this worker is up and offers itself for a job; a coordinator refuses
 * another {@code troupeVersion}. {@code device} is "cpu" or "cuda:N", {@code dataHost} the
 * interface its ring servers bind to.
 */
public record WorkerHello(ActorRef<JobMessage> worker, String troupeVersion, int threads, String device,
        String dataHost) implements JobMessage {
}

package io.troupe.worker.job.protocol;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Worker to coordinator: this worker is up and offers itself for a job; a coordinator refuses
 * another {@code troupeVersion}. {@code device} is "cpu" or "cuda:N", {@code dataHost} the
 * interface its ring servers bind to, {@code dataPlane} its ring settings that every node must
 * share (e.g. "chunk-size=524288"; empty: not stated), compared at admission.
 */
public record WorkerHello(ActorRef<JobMessage> worker, String troupeVersion, int threads, String device,
        String dataHost, String dataPlane) implements JobMessage {

    /** A hello that states no data-plane settings (in-process tests). */
    public WorkerHello(ActorRef<JobMessage> worker, String troupeVersion, int threads, String device, String dataHost) {
        this(worker, troupeVersion, threads, device, dataHost, "");
    }
}

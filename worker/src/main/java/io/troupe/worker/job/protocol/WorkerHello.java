package io.troupe.worker.job.protocol;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Worker to coordinator: this worker is up and offers itself for a job; a coordinator refuses
 * another {@code troupeVersion}. {@code device} is "cpu" or "cuda:N", {@code dataHost} the
 * interface its ring servers bind to, {@code dataPlane} its ring settings that every node must
 * share (e.g. "chunk-size=524288"; empty: not stated), compared at admission. A {@code standby}
 * worker ({@code troupe worker --standby}) is prepared like any other but takes a ring seat only
 * when no regular worker can fill it: it waits, ready, for a failure or for room under
 * {@code --max-workers}.
 */
public record WorkerHello(ActorRef<JobMessage> worker, String troupeVersion, int threads, String device,
        String dataHost, String dataPlane, boolean standby) implements JobMessage {

    /** A regular (not standby) worker's hello. */
    public WorkerHello(ActorRef<JobMessage> worker, String troupeVersion, int threads, String device, String dataHost,
                       String dataPlane) {
        this(worker, troupeVersion, threads, device, dataHost, dataPlane, false);
    }

    /** A hello that states no data-plane settings (in-process tests). */
    public WorkerHello(ActorRef<JobMessage> worker, String troupeVersion, int threads, String device, String dataHost) {
        this(worker, troupeVersion, threads, device, dataHost, "", false);
    }
}

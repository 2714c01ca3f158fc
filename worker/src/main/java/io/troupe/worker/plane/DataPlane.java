package io.troupe.worker.plane;

import io.troupe.worker.allreduce.RingAdmission;
import io.troupe.worker.allreduce.WireFormat;
import io.troupe.worker.job.ReductionException;

/**
 * A worker's gradient data plane: for each job it binds a ring server (so the predecessor can
 * connect) and later links to its successor. Separate from Artery, the control plane.
 */
public interface DataPlane {

    /** The host this worker's ring servers bind to (announced to the coordinator). */
    String host();

    /** The ring settings the coordinator compares at admission ({@code RingSettings.admissionKey}); "" states none. */
    default String admissionKey() {
        return "";
    }

    /**
     * Binds this rank's ring server. Blocking; call it off the actor's thread.
     *
     * @param wire the gradient wire format the whole ring uses (the coordinator chooses it)
     * @param admission the generation and secret token a predecessor must present to connect
     *
     * @throws ReductionException when the address cannot be bound (e.g. port in use)
     */
    RingLink bind(String jobId, int rank, int worldSize, WireFormat wire, RingAdmission admission)
            throws ReductionException;

    /**
     * This worker's state server and client, bound on first use. Blocking.
     *
     * @throws ReductionException when the state server cannot be bound
     */
    StateExchange stateExchange() throws ReductionException;
}

package io.troupe.worker.plane;

import io.troupe.worker.checkpoint.Checkpoint;
import java.net.InetSocketAddress;

/**
 * How a worker hands its training state to peers and takes a peer's: a server that serves the
 * state this worker offers, and a client that fetches another's. A worker joining a running
 * job, or one left behind by a failed step, catches up this way, over the data plane.
 */
public interface StateExchange extends AutoCloseable {

    /** Where peers fetch this worker's state. */
    InetSocketAddress address();

    /**
     * Serves {@code state}, the state after {@code step} optimizer steps, until the next offer.
     * The state's arrays may be the live training arrays ({@code WorkerJob.liveCheckpoint}):
     * encode or copy them before returning, and do not keep them.
     */
    void offer(String jobId, long step, Checkpoint state);

    /**
     * Serves only fetches that present {@code token} from now on: the state token of the current
     * ring generation, drawn by the coordinator. Nothing is served before the first call.
     */
    void admit(String token);

    /**
     * Fetches the state after {@code step} steps from the peer at {@code from}, presenting the ring
     * generation's state {@code token}. Blocking.
     *
     * @param identity the model and optimizer identity the state must have; another is refused
     * @param parameters how many parameters the state holds: a peer that announces more bytes than
     *     such a state can take ({@link io.troupe.worker.transfer.StateClient#maxStateBytes}) is
     *     refused before anything is allocated
     * @throws Exception with a one-line message naming the peer when it cannot be fetched
     */
    Checkpoint fetch(InetSocketAddress from, String jobId, String token, long step, String identity, long parameters)
            throws Exception;

    /** Stops serving. */
    @Override
    void close();
}

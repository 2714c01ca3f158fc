package io.troupe.worker.transfer;

import java.net.InetSocketAddress;

/**
 * The state arrived intact but is not the one this worker needs: it was trained with another
 * model config than the expected one, or it is of another training step than the one asked for.
 * The worker and the peer disagree about the job; fetching again from the same peer will not help.
 */
public class StateMismatchException extends StateTransferException {

    private static final long serialVersionUID = 1L;

    /** A valid state from {@code peer} that is not the one asked for. */
    public StateMismatchException(InetSocketAddress peer, String message) {
        super(peer, message, null);
    }
}

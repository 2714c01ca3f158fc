package io.troupe.worker.transfer;

import java.net.InetSocketAddress;

/**
 * The fetch did not finish within its deadline: the state server did not accept the connection,
 * did not answer, or sent the state too slowly. The message says how many bytes had arrived.
 */
public class StateTimeoutException extends StateTransferException {

    private static final long serialVersionUID = 1L;

    /** A deadline that passed while fetching from {@code peer}. */
    public StateTimeoutException(InetSocketAddress peer, String message) {
        super(peer, message, null);
    }
}

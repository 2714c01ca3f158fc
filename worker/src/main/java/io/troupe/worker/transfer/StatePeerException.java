package io.troupe.worker.transfer;

import java.net.InetSocketAddress;

/**
 * The connection to the state server failed: it could not be opened (nothing listens there), or
 * the server closed or reset it before the whole state had arrived (its process died, it was
 * closed, or it gave up on a client that read too slowly). Fetching again, or from another peer,
 * may succeed.
 */
public class StatePeerException extends StateTransferException {

    private static final long serialVersionUID = 1L;

    /** A connection failure with {@code peer}; {@code cause} is the network error, if any. */
    public StatePeerException(InetSocketAddress peer, String message, Throwable cause) {
        super(peer, message, cause);
    }
}

package io.troupe.worker.allreduce;

/**
 * The connection to a neighbour failed: it could not be opened, or the neighbour closed or reset
 * it (for instance because its process died or it gave up on a step itself).
 */
public class RingPeerException extends RingException {

    /** A connection failure with {@code peer}; {@code cause} is the network error, if any. */
    public RingPeerException(RingPeer peer, String message, Throwable cause) {
        super(peer, message, cause);
    }
}

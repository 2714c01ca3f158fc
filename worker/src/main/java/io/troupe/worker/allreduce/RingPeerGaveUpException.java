package io.troupe.worker.allreduce;

/**
 * A neighbour aborted the step and said why (its reason is in the message): the neighbour is
 * alive, and the failure started elsewhere. Any other {@link RingPeerException} means the link
 * to the neighbour itself broke, which is what a dead neighbour looks like.
 */
public final class RingPeerGaveUpException extends RingPeerException {

    public RingPeerGaveUpException(RingPeer peer, String message, Throwable cause) {
        super(peer, message, cause);
    }
}

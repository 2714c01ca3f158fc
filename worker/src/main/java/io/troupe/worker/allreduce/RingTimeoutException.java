package io.troupe.worker.allreduce;

/**
 * An all-reduce (or the ring's formation) did not finish within its deadline. The message says
 * which neighbour the member was waiting for and how far the step got; the stall may be further
 * round the ring, but this neighbour is where it showed.
 */
public class RingTimeoutException extends RingException {

    /** A deadline that passed while waiting for {@code peer}. */
    public RingTimeoutException(RingPeer peer, String message) {
        super(peer, message, null);
    }
}

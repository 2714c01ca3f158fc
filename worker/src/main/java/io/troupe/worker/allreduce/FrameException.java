package io.troupe.worker.allreduce;

/**
 * A frame that breaks the data-plane protocol: malformed, or not the one the ring expects now.
 * Internal: the stage that reads it knows which peer sent it and turns it into a
 * {@link RingProtocolException} that names that peer.
 */
final class FrameException extends Exception {

    FrameException(String message) {
        super(message);
    }
}

package io.troupe.worker.allreduce;

import io.troupe.errors.TroupeException;

/**
 * A frame that breaks the data-plane protocol: malformed, or not the one the ring expects now.
 * Internal: the stage that reads it knows which peer sent it and turns it into a
 * {@link RingProtocolException} that names that peer.
 */
final class FrameException extends TroupeException {

    private static final long serialVersionUID = 1L;

    FrameException(String message) {
        super(Kind.CLUSTER, message);
    }
}

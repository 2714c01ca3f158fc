package io.troupe.worker.allreduce;

import io.troupe.errors.TroupeException;

/**
 * The one exception of the data-plane boundary ({@link Kind#CLUSTER}): the ring could not be formed, or an
 * all-reduce failed. Subclasses say why; {@link #peer()} names the neighbour involved when there
 * is one. After a failure other than a bind error the member is unusable: close it and form a new
 * ring (the step is retried by the survivors, from the same parameters).
 */
public class RingException extends TroupeException {

    private static final long serialVersionUID = 1L;

    private final transient RingPeer peer;

    /** A failure with no particular peer to blame (e.g. a port already in use). */
    public RingException(String message, Throwable cause) {
        super(Kind.CLUSTER, message, cause);
        this.peer = null;
    }

    /** A failure involving {@code peer}. */
    public RingException(RingPeer peer, String message, Throwable cause) {
        super(Kind.CLUSTER, message, cause);
        this.peer = peer;
    }

    /** The neighbour this failure is about, or null. */
    public RingPeer peer() {
        return peer;
    }
}

package io.troupe.worker.session;

import io.troupe.errors.Failures;
import io.troupe.errors.TroupeException;

import io.troupe.worker.allreduce.RingPeerException;
import io.troupe.worker.allreduce.RingPeerGaveUpException;
import io.troupe.worker.job.ReductionException;
import java.util.OptionalInt;

/**
 * A {@link WorkerSession}'s blocking work failed. Its kind is its cause's; the worker reports
 * {@link Failures#rootMessage} of it to the coordinator.
 */
public final class SessionException extends TroupeException {
    private static final long serialVersionUID = 1L;

    SessionException(String message, Throwable cause) {
        super(Failures.kindOf(cause), message, cause);
    }

    /**
     * True when the ring failed under the work (a peer died or gave up), so the coordinator
     * re-forms it; false when this worker itself failed (an engine error).
     */
    public static boolean isRingFailure(Throwable t) {
        for (Throwable cause = t; cause != null; cause = cause.getCause()) {
            if (cause instanceof ReductionException) {
                return true;
            }
        }
        return false;
    }

    /** The rank of the neighbour whose connection broke under a failed step (not one that gave up). */
    public static OptionalInt brokenLinkPeer(Throwable t) {
        for (Throwable cause = t; cause != null; cause = cause.getCause()) {
            if (cause instanceof RingPeerException peer && !(cause instanceof RingPeerGaveUpException)) {
                return OptionalInt.of(peer.peer().rank());
            }
        }
        return OptionalInt.empty();
    }
}

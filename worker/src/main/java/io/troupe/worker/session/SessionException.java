package io.troupe.worker.session;

import io.troupe.worker.allreduce.RingPeerException;
import io.troupe.worker.allreduce.RingPeerGaveUpException;
import io.troupe.worker.job.ReductionException;
import java.util.OptionalInt;
import java.util.concurrent.CompletionException;

/**
 * A {@link WorkerSession}'s blocking work failed. The message is the cause's one line, which
 * the worker reports to the coordinator.
 */
public final class SessionException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SessionException(String message, Throwable cause) {
        super(message, cause);
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

    /** The one-line message of a failure, past the wrappers of asynchronous work. */
    public static String messageOf(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof CompletionException || cause instanceof SessionException)
                && cause.getCause() != null && cause.getMessage() == null) {
            cause = cause.getCause();
        }
        if (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        return message != null ? message : cause.getClass().getSimpleName();
    }
}

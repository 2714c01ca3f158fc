package io.troupe.worker.job;

import io.troupe.errors.TroupeException;

/** The gradient all-reduce failed; the message names the peer and what went wrong. */
public class ReductionException extends TroupeException {
    private static final long serialVersionUID = 1L;

    public ReductionException(String message) {
        super(Kind.CLUSTER, message);
    }

    public ReductionException(String message, Throwable cause) {
        super(Kind.CLUSTER, message, cause);
    }
}

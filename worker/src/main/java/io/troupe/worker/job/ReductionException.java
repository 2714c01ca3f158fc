package io.troupe.worker.job;

/** The gradient all-reduce failed; the message names the peer and what went wrong. */
public class ReductionException extends Exception {
    private static final long serialVersionUID = 1L;

    public ReductionException(String message) {
        super(message);
    }

    public ReductionException(String message, Throwable cause) {
        super(message, cause);
    }
}

package io.troupe.tuner;

/**
 * A study cannot go on for a reason the user fixes: an invalid search space, a store that is
 * locked or unreachable, a changed space on resume. The message is one line that says what is
 * wrong and what to change; the CLI prints it without a stack trace.
 */
public class TuneException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An error whose message says what went wrong and how to fix it. */
    public TuneException(String message) {
        super(message);
    }

    /** An error caused by another exception (an SQLException, an IOException). */
    public TuneException(String message, Throwable cause) {
        super(message, cause);
    }
}

package io.troupe.tuner;

import io.troupe.errors.TroupeException;

/**
 * A study cannot go on for a reason the user fixes: an invalid search space, a store that is
 * locked or unreachable, a changed space on resume. The message is one line that says what is
 * wrong and what to change; the CLI prints it without a stack trace. Without a kind it is
 * {@link Kind#CONFIG} (the space, a sampler or scheduler option).
 */
public class TuneException extends TroupeException {
    private static final long serialVersionUID = 1L;

    /** A configuration error whose message says what went wrong and how to fix it. */
    public TuneException(String message) {
        super(Kind.CONFIG, message);
    }

    /** A configuration error caused by another exception (the HOCON parser's). */
    public TuneException(String message, Throwable cause) {
        super(Kind.CONFIG, message, cause);
    }

    /** An error of {@code kind} whose message says what went wrong and how to fix it. */
    public TuneException(Kind kind, String message) {
        super(kind, message);
    }

    /** An error of {@code kind} caused by another exception (an SQLException, an IOException). */
    public TuneException(Kind kind, String message, Throwable cause) {
        super(kind, message, cause);
    }
}

package io.troupe.ops.cli;

/**
 * A failure caused by what the user asked for (a missing file, an impossible combination of
 * options), as opposed to a bug. The CLI prints {@code troupe: <message>} and exits with
 * {@link TroupeCli#EXIT_FAILURE}, without a stack trace, so the message must say what to change.
 */
public class UserError extends RuntimeException {

    /** A user error whose message says what went wrong and how to fix it. */
    public UserError(String message) {
        super(message);
    }

    /** A user error caused by another exception (e.g. the IOException of a missing file). */
    public UserError(String message, Throwable cause) {
        super(message, cause);
    }
}

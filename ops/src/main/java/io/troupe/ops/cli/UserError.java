package io.troupe.ops.cli;

import io.troupe.errors.TroupeException;
import java.util.function.Supplier;

/**
 * A failure the CLI itself detects in what the user asked for. The CLI prints
 * {@code troupe: <message>} without a stack trace, so the message must say what to change; the
 * kind picks the exit code (see {@link ErrorReporter}).
 *
 * <p>Which kind: {@link #usage} when the command line alone is wrong, whatever the files say (an
 * unknown value, a missing or contradicting option); {@link #inputData} when a file or directory
 * it names is missing, corrupt or not in the state the command needs; {@link #io} when writing
 * fails; {@link #cluster} when the job or its peers failed.
 */
public final class UserError extends TroupeException {

    private static final long serialVersionUID = 1L;

    private UserError(Kind kind, String message, Throwable cause) {
        super(kind, message, cause);
    }

    /** A command-line mistake: a nonsense value or options that contradict each other (exit 2). */
    public static UserError usage(String message) {
        return new UserError(Kind.USAGE, message, null);
    }

    /** A command-line mistake found by a parser that threw {@code cause}. */
    public static UserError usage(String message, Throwable cause) {
        return new UserError(Kind.USAGE, message, cause);
    }

    /** A file or directory named on the command line is missing, unusable or in the wrong state. */
    public static UserError inputData(String message) {
        return new UserError(Kind.INPUT_DATA, message, null);
    }

    /** A file or directory named on the command line cannot be used, because of {@code cause}. */
    public static UserError inputData(String message, Throwable cause) {
        return new UserError(Kind.INPUT_DATA, message, cause);
    }

    /** Something Troupe writes (an output directory) cannot be written. */
    public static UserError io(String message, Throwable cause) {
        return new UserError(Kind.IO, message, cause);
    }

    /** A distributed job, a peer or the coordinator failed. */
    public static UserError cluster(String message) {
        return new UserError(Kind.CLUSTER, message, null);
    }

    /**
     * Reads settings given on the command line ({@code --preset}, {@code --steps}, the flags that
     * stand for settings, {@code key=value}): a setting they refuse ({@link Kind#CONFIG}) is a
     * command-line mistake, not a bad config file.
     */
    public static <T> T onCommandLine(Supplier<T> readSettings) {
        try {
            return readSettings.get();
        } catch (TroupeException e) {
            if (e.kind() == Kind.CONFIG) {
                throw usage(e.getMessage(), e);
            }
            throw e;
        }
    }
}

package io.troupe.ops.cli;

import io.troupe.errors.Failures;
import io.troupe.errors.TroupeException;
import io.troupe.errors.TroupeException.Kind;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Turns exceptions into what the user sees on stderr and the exit code, by their
 * {@link TroupeException.Kind}:
 *
 * <ul>
 *   <li>{@link Kind#USAGE} (bad flags or values, from picocli or a {@link UserError#usage}): one line
 *       {@code troupe: <problem> (see 'troupe bench gemm --help')}, exit {@link TroupeCli#EXIT_USAGE};</li>
 *   <li>input data, config, cluster and I/O failures: one line {@code troupe: <message>}, exit
 *       {@link TroupeCli#EXIT_FAILURE};</li>
 *   <li>the JVM out of memory ({@link OutOfMemoryError}, even wrapped; see {@link OutOfHeap}): one line
 *       with the heap's size, the phase and the {@code TROUPE_JAVA_OPTS=-Xmx...} that gives it more, exit
 *       {@link TroupeCli#EXIT_FAILURE};</li>
 *   <li>{@link Kind#INTERNAL} (any exception that is not a Troupe one, and Troupe's own bugs): one
 *       line that says it is a bug and how to see its stack trace, exit {@link TroupeCli#EXIT_FAILURE}.</li>
 * </ul>
 *
 * <p>Setting the environment variable {@code TROUPE_DEBUG=1} adds the stack trace to every kind.
 */
final class ErrorReporter implements IParameterExceptionHandler, IExecutionExceptionHandler {

    private final boolean debug;

    ErrorReporter(boolean debug) {
        this.debug = debug;
    }

    /** Reads {@code TROUPE_DEBUG} from the environment. */
    static ErrorReporter fromEnvironment() {
        return new ErrorReporter("1".equals(System.getenv("TROUPE_DEBUG")));
    }

    @Override
    public int handleParseException(ParameterException error, String[] args) {
        CommandLine command = error.getCommandLine();
        String message = describe(error) + suggestions(error)
                + " (see '" + command.getCommandSpec().qualifiedName() + " --help')";
        report(command.getErr(), message, error);
        return TroupeCli.EXIT_USAGE;
    }

    @Override
    public int handleExecutionException(Exception error, CommandLine command, ParseResult parsed) {
        Optional<OutOfMemoryError> oom = OutOfHeap.find(error);
        if (oom.isPresent()) {
            report(command.getErr(), OutOfHeap.message(oom.get(), command.getCommandSpec().qualifiedName()), error);
            return TroupeCli.EXIT_FAILURE;
        }
        Kind kind = Failures.kindOf(error);
        Throwable failure = Failures.unwrap(error);
        switch (kind) {
            case USAGE -> report(command.getErr(), failure.getMessage() + " (see '"
                    + command.getCommandSpec().qualifiedName() + " --help')", error);
            case INTERNAL -> report(command.getErr(), "internal error: " + Failures.rootMessage(failure)
                    + "; this is a bug in Troupe: run again with TROUPE_DEBUG=1 to see its stack trace, and report it",
                    error);
            case IO -> report(command.getErr(), failure instanceof TroupeException ? failure.getMessage()
                    : "I/O failed (" + failure.getClass().getSimpleName() + "): " + Failures.rootMessage(failure), error);
            default -> report(command.getErr(), failure.getMessage(), error);
        }
        return exitCode(kind);
    }

    /** 2 for a mistake on the command line, as the README promises; 1 for every other failure. */
    static int exitCode(Kind kind) {
        return kind == Kind.USAGE ? TroupeCli.EXIT_USAGE : TroupeCli.EXIT_FAILURE;
    }

    private void report(PrintWriter err, String message, Throwable error) {
        // One line, whatever the message: scripts and people read the first line of stderr.
        err.println("troupe: " + String.valueOf(message).strip().replaceAll("\\s*\\R\\s*", " "));
        if (debug) {
            error.printStackTrace(err);
        }
        err.flush();
    }

    private static String describe(ParameterException error) {
        // picocli calls a stray word "Unmatched argument at index 0"; where commands are expected, say so.
        if (error instanceof UnmatchedArgumentException unmatched && !unmatched.isUnknownOption()
                && !error.getCommandLine().getSubcommands().isEmpty() && !unmatched.getUnmatched().isEmpty()) {
            return "Unknown command: '" + unmatched.getUnmatched().get(0) + "'";
        }
        return error.getMessage();
    }

    private static String suggestions(ParameterException error) {
        if (error instanceof UnmatchedArgumentException unmatched) {
            List<String> close = unmatched.getSuggestions();
            if (!close.isEmpty()) {
                return "; did you mean " + String.join(" or ", close) + "?";
            }
        }
        return "";
    }
}

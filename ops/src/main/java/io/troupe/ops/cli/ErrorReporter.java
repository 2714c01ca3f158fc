package io.troupe.ops.cli;

import io.troupe.coordinator.ClusterException;
import io.troupe.data.DataException;
import io.troupe.tuner.TuneException;
import io.troupe.worker.checkpoint.CheckpointException;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.train.SettingsException;
import io.troupe.worker.train.TrainingDivergedException;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Turns exceptions into what the user sees on stderr and the exit code.
 *
 * <ul>
 *   <li>bad flags or values: one line {@code troupe: <problem> (see 'troupe bench gemm --help')},
 *       exit {@link TroupeCli#EXIT_USAGE};</li>
 *   <li>{@link UserError} and {@link EngineException} (a missing CUDA provider, a rejected graph):
 *       one line {@code troupe: <message>}, exit {@link TroupeCli#EXIT_FAILURE};</li>
 *   <li>anything else is a bug: the full stack trace, exit {@link TroupeCli#EXIT_BUG}.</li>
 * </ul>
 *
 * <p>Setting the environment variable {@code TROUPE_DEBUG=1} adds stack traces to the first two
 * kinds as well.
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
        if (isUserError(error)) {
            report(command.getErr(), error.getMessage(), error);
            return TroupeCli.EXIT_FAILURE;
        }
        PrintWriter err = command.getErr();
        err.println("troupe: internal error, please report it with the stack trace below");
        error.printStackTrace(err);
        err.flush();
        return TroupeCli.EXIT_BUG;
    }

    /** Failures the user fixes by changing input, flags or files, not by reporting a bug. */
    static boolean isUserError(Exception error) {
        return error instanceof UserError || error instanceof EngineException
                || error instanceof DataException || error instanceof CheckpointException
                || error instanceof SettingsException || error instanceof TrainingDivergedException
                || error instanceof ClusterException || error instanceof TuneException;
    }

    private void report(PrintWriter err, String message, Exception error) {
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

package io.troupe.ops.cli;

import java.util.List;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ExecutionException;
import picocli.CommandLine.IExecutionStrategy;

/**
 * {@code troupe}: the one command-line entry point (the Main-Class of {@code ops/target/troupe.jar}).
 *
 * <p>Adding a command: write a {@code @Command} class implementing {@code Callable<Integer>}, list it
 * in {@code subcommands} here (or under a group such as {@link BenchCommand}), print results to
 * {@code spec.commandLine().getOut()} (JSON through {@link Json} when {@code --json} is given, so
 * stdout stays parseable). Take shared options as mixins ({@link TrainingOptions},
 * {@link RunDirOptions}, {@link ThreadsOption}, {@link JsonOption}, ...). Throw picocli's
 * {@code ParameterException} for a mistake found in an option's own value (exit 2), and a
 * {@link UserError} of the right kind for anything else the user must fix ({@link UserError#usage}
 * for a command-line mistake, exit 2; input data, I/O or cluster failures, exit 1);
 * {@link ErrorReporter} turns either, and every other {@code TroupeException}, into one line on
 * stderr and the exit code.
 */
@Command(name = "troupe",
        description = "Train GPT-style language models on the JVM with ONNX Runtime.",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        subcommands = {PrepareCommand.class, TrainCommand.class, CoordinatorCommand.class, WorkerCommand.class,
            FinetuneCommand.class, GenerateCommand.class, EvalCommand.class, PredictCommand.class, ExplainCommand.class, EmbedCommand.class, FillMaskCommand.class, TranslateCommand.class, TrainSeq2SeqCommand.class, ServeCommand.class, AuditCommand.class, CardCommand.class, ExportCommand.class, GradcheckCommand.class, BenchCommand.class, TuneCommand.class,
            StudyCommand.class, SecretCommand.class,
            CommandLine.HelpCommand.class})
public final class TroupeCli {

    /** The command did what was asked. */
    public static final int EXIT_OK = 0;
    /** It failed: bad input data, a setting, the cluster, I/O, or a bug (see {@link ErrorReporter}). */
    public static final int EXIT_FAILURE = 1;
    /** The command line itself was wrong: an unknown flag, a bad value, a missing subcommand. */
    public static final int EXIT_USAGE = 2;

    private TroupeCli() {}

    /** Runs the command line and exits the JVM with its exit code. */
    public static void main(String[] args) {
        // SLF4J reports on stderr that it replayed the log calls made while logback started;
        // that is noise on a command line.
        System.setProperty("slf4j.internal.verbosity", "ERROR");
        // Libraries that log through java.util.logging (ONNX Runtime's Java API, the JDBC drivers)
        // would print JUL's two-line format; route them to logback's one format instead.
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        System.exit(commandLine().execute(args));
    }

    /** The fully configured {@code troupe} command line, ready to {@code execute}. */
    public static CommandLine commandLine() {
        return withErrorReporting(new CommandLine(new TroupeCli()));
    }

    /** Installs Troupe's error reporting (see {@link ErrorReporter}) on any command line. */
    static CommandLine withErrorReporting(CommandLine commandLine) {
        ErrorReporter reporter = ErrorReporter.fromEnvironment();
        IExecutionStrategy strategy = commandLine.getExecutionStrategy();
        return commandLine
                .setParameterExceptionHandler(reporter)
                .setExecutionExceptionHandler(reporter)
                .setExecutionStrategy(parsed -> {
                    try {
                        return strategy.execute(parsed);
                    } catch (OutOfMemoryError e) {
                        // picocli hands the handler only Exceptions and lets an Error escape execute() as a
                        // stack trace; carried in its ExecutionException, the reporter prints one line.
                        List<CommandLine> commands = parsed.asCommandLineList();
                        throw new ExecutionException(commands.get(commands.size() - 1), "out of memory", e);
                    }
                });
    }
}

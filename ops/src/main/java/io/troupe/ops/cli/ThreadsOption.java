package io.troupe.ops.cli;

import java.io.PrintWriter;
import java.util.OptionalInt;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code --threads T} option shared by every command that runs ONNX Runtime: the intra-op
 * thread count of each worker, validated when parsed. Use it with
 * {@code @Mixin ThreadsOption threads;}. Without the option, the CPUs are divided among the
 * workers of this process ({@link ThreadBudget}).
 */
public final class ThreadsOption {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    private OptionalInt explicit = OptionalInt.empty();
    private boolean warned;

    @Option(names = "--threads", paramLabel = "T",
            description = "ONNX Runtime threads of each worker (default: the CPUs divided among the workers this "
                    + "process runs, at least 1).")
    void setThreads(int value) {
        if (value < 1) {
            throw new ParameterException(command.commandLine(), "--threads must be at least 1, got " + value);
        }
        explicit = OptionalInt.of(value);
    }

    /** True if {@code --threads} was given. */
    boolean given() {
        return explicit.isPresent();
    }

    /** The thread count of a process that runs one worker: {@code --threads}, or every CPU. */
    public int threads() {
        return ThreadBudget.perWorker(explicit, cores(), 1);
    }

    /**
     * The thread count of each of {@code localWorkers} workers in this process; warns once on
     * stderr when together they want more threads than there are CPUs.
     */
    int perLocalWorker(int localWorkers) {
        int cores = cores();
        int threads = ThreadBudget.perWorker(explicit, cores, localWorkers);
        if (!warned && ThreadBudget.oversubscribed(threads, localWorkers, cores)) {
            warned = true;
            PrintWriter err = command.commandLine().getErr();
            err.println(ThreadBudget.warning(threads, localWorkers, cores));
            err.flush();
        }
        return threads;
    }

    private static int cores() {
        return Runtime.getRuntime().availableProcessors();
    }
}

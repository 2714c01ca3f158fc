package io.troupe.ops.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code --threads T} option shared by every command that runs ONNX Runtime: its intra-op
 * thread count, validated when parsed. Use it with {@code @Mixin ThreadsOption threads;}.
 */
public final class ThreadsOption {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    private int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--threads", paramLabel = "T",
            description = "ONNX Runtime intra-op threads (default: the number of CPUs).")
    void setThreads(int value) {
        if (value < 1) {
            throw new ParameterException(command.commandLine(), "--threads must be at least 1, got " + value);
        }
        threads = value;
    }

    /** The thread count: the validated value of {@code --threads}, or the number of CPUs. */
    public int threads() {
        return threads;
    }
}

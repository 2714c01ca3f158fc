package io.troupe.ops.cli;

import io.troupe.model.gpt.Precision;
import io.troupe.worker.allreduce.WireFormat;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * How many workers train a job and how they exchange gradients: shared by {@code troupe train}
 * and {@code troupe coordinator}. Each command says which combinations it can run.
 */
final class ClusterOptions {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    @Option(names = "--workers", paramLabel = "N",
            description = "Data-parallel workers (train: default 1, in this process; N > 1 runs an embedded cluster of"
                    + " N workers in this JVM; coordinator: workers to wait for before the first step).")
    private Integer workers;

    @Option(names = "--min-workers", paramLabel = "M",
            description = "Elastic jobs of troupe coordinator only: below M workers the job pauses until more join (default: 1).")
    private Integer minWorkers;

    @Option(names = "--max-workers", paramLabel = "X",
            description = "Elastic jobs of troupe coordinator only: the ring takes at most X workers; more wait in reserve"
                    + " (default: --workers).")
    private Integer maxWorkers;

    @Option(names = "--wire", paramLabel = "FORMAT", defaultValue = "fp32",
            description = "Gradient wire format between workers: fp32 or bf16 (default: ${DEFAULT-VALUE});"
                    + " --precision bf16-storage makes bf16 the default.")
    private String wire;

    /** The {@code --workers} value, or null. */
    Integer workers() {
        return workers;
    }

    /** The {@code --min-workers} value, or null. */
    Integer minWorkers() {
        return minWorkers;
    }

    /** The {@code --max-workers} value, or null. */
    Integer maxWorkers() {
        return maxWorkers;
    }

    /** The {@code --wire} value, checked. */
    String wire() {
        try {
            WireFormat.parse(wire);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(command.commandLine(), "--wire " + e.getMessage());
        }
        return wire;
    }

    /**
     * The wire format for a job in {@code precision}: {@code --wire} if given, else bf16 for
     * bf16-storage (its parameters are bfloat16 values already, and the point is to halve the
     * bytes) and the option's default (fp32) otherwise.
     */
    String wire(Precision precision) {
        String checked = wire();
        return !wireGiven() && precision == Precision.BF16_STORAGE ? "bf16" : checked;
    }

    /** True if {@code --wire} was given. */
    boolean wireGiven() {
        return command.commandLine().getParseResult().hasMatchedOption("--wire");
    }

    /**
     * Refuses worker counts a job cannot run with: it needs {@code 1 <= min <= workers <= max}.
     *
     * @return null if they can run, else the one-line reason and fix
     */
    static String problem(int workers, int min, int max) {
        if (workers < 1) {
            return "--workers must be >= 1, got " + workers;
        }
        if (min < 1) {
            return "--min-workers must be >= 1, got " + min;
        }
        if (min > workers) {
            return "--min-workers " + min + " is more than --workers " + workers + ": the job would pause at its first"
                    + " step; lower --min-workers or raise --workers";
        }
        if (max < workers) {
            return "--max-workers " + max + " is less than --workers " + workers + ": the ring could never hold the"
                    + " workers it waits for; raise --max-workers or lower --workers";
        }
        return null;
    }

    /** {@link #problem} as a usage error. */
    void check(int workers, int min, int max) {
        String problem = problem(workers, min, max);
        if (problem != null) {
            throw new ParameterException(command.commandLine(), problem);
        }
    }
}

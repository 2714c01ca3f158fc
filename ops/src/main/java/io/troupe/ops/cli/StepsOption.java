package io.troupe.ops.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code --steps N} option of every command that trains (train, coordinator, tune), checked
 * when parsed: a command-line mistake exits with status 2 before anything is read.
 */
final class StepsOption {
    /**
     * The most optimizer steps a run may ask for: a billion steps is years of training at any
     * speed Troupe reaches, and with batch_size at its limit of 2^20 the sample count of such a
     * run (steps x batch_size) still fits a long, so no counter can overflow.
     */
    static final long MAX_STEPS = 1_000_000_000L;

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    private Long steps;

    @Option(names = "--steps", paramLabel = "N",
            description = "Optimizer steps, at most 1000000000 (default: max_iters of the preset; for tune, the steps"
                    + " of a trial that is not stopped early). The schedule follows: lr_decay_iters = N and"
                    + " warmup_iters keeps the preset's share of it, unless you set those keys.")
    void setSteps(long value) {
        check(command, "--steps", value);
        steps = value;
    }

    /** The {@code --steps} value, or null if it was not given. */
    Long steps() {
        return steps;
    }

    /** Refuses a step count outside [1, {@link #MAX_STEPS}] as a command-line mistake. */
    static void check(CommandSpec command, String name, long value) {
        if (value < 1) {
            throw new ParameterException(command.commandLine(), name + " must be >= 1, got " + value);
        }
        if (value > MAX_STEPS) {
            throw new ParameterException(command.commandLine(), name + " " + value + " is more than the "
                    + MAX_STEPS + " steps a run may take; pass a smaller --steps");
        }
    }
}

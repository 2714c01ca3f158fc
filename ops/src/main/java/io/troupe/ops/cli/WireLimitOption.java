package io.troupe.ops.cli;

import io.troupe.worker.allreduce.RingSettings;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code --wire-limit-mbps M}: a token bucket on what each ring member of this process sends,
 * to simulate slow links between nodes on one machine ({@code troupe train --workers N},
 * {@code troupe worker}).
 */
final class WireLimitOption {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    @Option(names = "--wire-limit-mbps", paramLabel = "M",
            description = "Limit each worker's ring sends to M megabits per second (a simulated slow link; default: no"
                    + " limit).")
    void setMbps(double value) {
        // Checked when parsed: a bad limit is refused before anything is read or written.
        try {
            RingSettings.defaults().withWireLimitMbps(value);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(command.commandLine(), e.getMessage());
        }
        mbps = value;
    }

    private Double mbps;

    /** True if the option was given. */
    boolean given() {
        return mbps != null;
    }

    /** {@code ring} with the limit, if one was given; a bad value is a usage error. */
    RingSettings apply(RingSettings ring) {
        if (mbps == null) {
            return ring;
        }
        try {
            return ring.withWireLimitMbps(mbps);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(command.commandLine(), e.getMessage());
        }
    }
}

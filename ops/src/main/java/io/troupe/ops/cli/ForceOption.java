package io.troupe.ops.cli;

import picocli.CommandLine.Option;

/** The {@code --force} option of the commands that write a run into {@code --out DIR}: replace what is there. */
final class ForceOption {

    @Option(names = "--force", description = "Replace the run already in --out DIR instead of refusing to.")
    private boolean force;

    /** True if {@code --force} was given. */
    boolean enabled() {
        return force;
    }
}

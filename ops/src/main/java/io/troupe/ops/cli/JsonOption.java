package io.troupe.ops.cli;

import picocli.CommandLine.Option;

/**
 * The {@code --json} option: results (and, for long commands, progress) as one JSON object per
 * line on stdout, written by {@link Json}; nothing else goes to stdout. Use it with
 * {@code @Mixin JsonOption json;}.
 */
final class JsonOption {

    @Option(names = "--json", description = "Print one JSON object per line on stdout instead of text.")
    private boolean json;

    /** True if {@code --json} was given. */
    boolean enabled() {
        return json;
    }
}

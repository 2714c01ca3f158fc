package io.troupe.ops.cli;

import picocli.CommandLine.Command;

/** {@code troupe secret}: the cluster's identity (see {@link SecretInitCommand}). */
@Command(name = "secret",
        description = "Make the cluster identity that --tls DIR and --sign-key use.",
        mixinStandardHelpOptions = true,
        subcommands = {SecretInitCommand.class})
final class SecretCommand {
}

package io.troupe.ops.cli;

import picocli.CommandLine.Command;

/** {@code troupe audit}: groups the audits of a model (today: {@code audit bias}). */
@Command(name = "audit",
        description = "Audit an exported model (social bias on sentence pairs).",
        mixinStandardHelpOptions = true,
        subcommands = {AuditBiasCommand.class})
final class AuditCommand {}

package io.troupe.ops.cli;

import picocli.CommandLine.Command;

/** {@code troupe study}: groups the commands that read a study ({@code show}, {@code best}, {@code importance}). */
@Command(name = "study",
        description = "Inspect hyperparameter studies run by troupe tune.",
        mixinStandardHelpOptions = true,
        subcommands = {StudyShowCommand.class, StudyBestCommand.class, StudyImportanceCommand.class})
final class StudyCommand {}

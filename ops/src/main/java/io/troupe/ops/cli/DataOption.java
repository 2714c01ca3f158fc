package io.troupe.ops.cli;

import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The {@code --data PATH} option of every command that trains: train, coordinator and tune. */
final class DataOption {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    @Option(names = "--data", paramLabel = "PATH",
            description = "A UTF-8 text file (char tokenizer), or a dataset directory written by troupe prepare"
                    + " (its char, gpt2 or bpe tokenizer). Every worker must see it at this path.")
    private Path data;

    /** The {@code --data} path, or null. */
    Path data() {
        return data;
    }

    /** {@code --data}, or the usage error picocli gives for a missing required option. */
    Path require() {
        if (data == null) {
            throw new ParameterException(command.commandLine(), "Missing required option: '--data=PATH'");
        }
        return data;
    }
}

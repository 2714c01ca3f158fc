package io.troupe.ops.cli;

import java.util.Map;
import java.util.Stack;
import picocli.CommandLine.IParameterPreprocessor;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Lets {@code --resume} be a flag or take a directory: the next argument is its DIR only if it
 * looks like a path, so {@code --resume n_embd=32} is the flag followed by a setting.
 */
final class ResumePreprocessor implements IParameterPreprocessor {
    @Override
    public boolean preprocess(Stack<String> args, CommandSpec command, ArgSpec option, Map<String, Object> info) {
        if (!String.valueOf(info.getOrDefault("separator", " ")).isBlank()) {
            return false; // --resume=DIR: picocli takes the attached value (a detached one has separator " ")
        }
        if (args.isEmpty() || args.peek().startsWith("-") || args.peek().contains("=")) {
            option.setValue(RunDirOptions.FLAG);
            return true;
        }
        return false;
    }
}

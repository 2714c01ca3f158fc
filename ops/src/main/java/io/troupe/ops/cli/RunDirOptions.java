package io.troupe.ops.cli;

import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Where a run (or study) lives and whether to continue it: {@code --out DIR [--resume]}, the one
 * form train, coordinator and tune share. {@code --resume DIR} is accepted as short for
 * {@code --out DIR --resume} (it was coordinator's and tune's spelling).
 */
final class RunDirOptions {
    /** The value of a {@code --resume} given without a directory. */
    static final String FLAG = "";

    @Spec(Spec.Target.MIXEE)
    private CommandSpec command;

    @Option(names = "--out", paramLabel = "DIR", description = "Output directory of the run (of the study, for tune).")
    private Path out;

    @Option(names = "--resume", arity = "0..1", paramLabel = "DIR", preprocessor = ResumePreprocessor.class,
            description = {"Continue the run in --out DIR from its newest good checkpoint (for tune: the study, its"
                    + " finished trials kept). '--resume DIR' is short for '--out DIR --resume'."})
    private String resume;

    /** True if {@code --resume} was given, in either form. */
    boolean resume() {
        return resume != null;
    }

    /**
     * The directory of {@code --out}, or of {@code --resume DIR}; null if neither names one.
     *
     * @throws ParameterException if both name a directory and they differ
     */
    Path out() {
        if (resume == null || resume.equals(FLAG)) {
            return out;
        }
        Path named = Path.of(resume);
        if (out != null && !named.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
            throw new ParameterException(command.commandLine(), "--resume " + resume + " and --out " + out
                    + " name different directories; pass --out DIR --resume");
        }
        return named;
    }

    /** {@link #out()}, or a usage error saying what to pass. */
    Path requireOut() {
        Path dir = out();
        if (dir == null) {
            throw new ParameterException(command.commandLine(), "say where the run (or study) lives: --out DIR"
                    + (resume() ? " (with --resume)" : ""));
        }
        return dir;
    }
}

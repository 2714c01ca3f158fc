package io.troupe.ops.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe export}: model.onnx and tokenizer.json from a checkpoint of a (stopped) run. */
@Command(name = "export",
        description = {"Export a checkpoint of a run (e.g. one stopped with Ctrl-C) as model.onnx, decoder.onnx (KV cache)"
                + " and tokenizer.json.",
            "Writes the same files a finished run writes, for troupe generate and troupe eval."},
        mixinStandardHelpOptions = true)
final class ExportCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--run", required = true, paramLabel = "DIR",
            description = "Run directory (the --out of troupe train or troupe coordinator) with a checkpoints/ folder.")
    private Path run;

    @Option(names = "--checkpoint", paramLabel = "N",
            description = "Export the checkpoint of step N (default: the newest).")
    private Long checkpoint;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Directory for model.onnx, decoder.onnx and tokenizer.json; created if missing.")
    private Path out;

    @Option(names = "--force", description = "Replace a model.onnx already in --out.")
    private boolean force;

    @Mixin
    private JsonOption json;

    /** The {@code --json} result. */
    record Exported(long step, String checkpoint, String model) {
    }

    @Override
    public Integer call() throws IOException {
        if (checkpoint != null && checkpoint < 0) {
            throw new ParameterException(spec.commandLine(), "--checkpoint must be a step >= 0, got " + checkpoint);
        }
        CheckpointExport.Result result = CheckpointExport.export(run,
                checkpoint == null ? OptionalLong.empty() : OptionalLong.of(checkpoint), out, force);
        PrintWriter stdout = spec.commandLine().getOut();
        try {
            StoredProfile.write(out, io.troupe.ops.serve.monitor.ReferenceProfiles.dataOf(run), spec.commandLine().getErr());
        } catch (io.troupe.data.DataException unknownData) {
            // A stopped run has no summary.json naming its data: no profile, and serve says so when it starts.
        }
        if (json.enabled()) {
            Json.printLine(stdout, new Exported(result.step(), result.checkpoint().toString(), result.model().toString()));
        } else {
            stdout.printf("exported step %d (%s) to %s%n", result.step(), result.checkpoint(), result.model());
            stdout.flush();
        }
        return TroupeCli.EXIT_OK;
    }
}

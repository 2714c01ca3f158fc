package io.troupe.ops.cli;

import io.troupe.worker.card.ModelCard;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe card}: writes a run directory's MODEL_CARD.md again from what the directory holds. */
@Command(name = "card",
        description = {"Regenerate DIR/MODEL_CARD.md from the files of a run directory.",
            "It reads summary.json, the dataset's manifest (data audit) and the latest 'troupe audit bias'"
                + " (bias_audit.json). train writes the card at the end of every run."},
        mixinStandardHelpOptions = true)
final class CardCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A run or exported model directory.")
    private Path model;

    @Override
    public Integer call() {
        if (!Files.isRegularFile(model.resolve("summary.json")) && !Files.isRegularFile(model.resolve("model.onnx"))) {
            throw UserError.inputData(model + " holds neither summary.json nor model.onnx; pass the --out directory of"
                    + " a 'troupe train' run");
        }
        Path card;
        try {
            card = ModelCard.write(model);
        } catch (IOException e) {
            throw UserError.io("cannot write " + model.resolve(ModelCard.FILE_NAME) + ": " + e.getMessage()
                    + "; check that the directory is writable", e);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(card);
        out.flush();
        return TroupeCli.EXIT_OK;
    }
}

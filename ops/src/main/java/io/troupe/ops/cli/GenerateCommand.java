package io.troupe.ops.cli;

import ai.onnxruntime.OrtException;
import io.troupe.data.DataException;
import io.troupe.ops.inference.ExportedModel;
import io.troupe.ops.inference.TextGenerator;
import io.troupe.ops.inference.TokenSampler;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe generate}: samples text from an exported model (model.onnx + tokenizer.json only). */
@Command(name = "generate", description = {"Sample text from an exported model directory.",
            "Streams the prompt and its continuation to stdout; with --json prints one object once it is complete."}, mixinStandardHelpOptions = true)
final class GenerateCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory with model.onnx and tokenizer.json.")
    private Path model;

    @Option(names = "--prompt", defaultValue = "\n", paramLabel = "TEXT", description = "Text to continue (default: a newline).")
    private String prompt;

    @Option(names = "--tokens", defaultValue = "500", paramLabel = "N", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    private int tokens;

    @Option(names = "--temperature", defaultValue = "0.8", paramLabel = "T", description = "Sampling temperature (default: ${DEFAULT-VALUE}).")
    private double temperature;

    @Option(names = "--top-k", defaultValue = "200", paramLabel = "K", description = "Sample among the K likeliest tokens; 0 = all (default: ${DEFAULT-VALUE}).")
    private int topK;

    @Option(names = "--seed", defaultValue = "1337", paramLabel = "S", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private JsonOption json;

    /** The {@code --json} line, printed once the text is complete: the prompt, its continuation, the tokens sampled. */
    record Generated(String prompt, String completion, int tokens, long seed) {
    }

    @Override
    public Integer call() throws DataException, OrtException {
        if (tokens < 0) {
            throw new ParameterException(spec.commandLine(), "--tokens must be >= 0, got " + tokens);
        }
        TokenSampler sampler;
        try {
            sampler = new TokenSampler(temperature, topK, seed);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        try (ExportedModel m = ExportedModel.open(model, threads.threads())) {
            // Check the prompt before printing it, so a rejected prompt leaves stdout empty.
            try {
                if (m.tokenizer().encode(prompt).length == 0) {
                    throw UserError.usage("the prompt is empty; pass at least one character with --prompt");
                }
            } catch (IllegalArgumentException e) {
                throw UserError.inputData(e.getMessage());
            }
            StringBuilder completion = new StringBuilder();
            if (!json.enabled()) {
                out.print(prompt);
                out.flush();
            }
            try {
                new TextGenerator(m).generate(prompt, tokens, sampler, id -> {
                    String piece = m.tokenizer().decode(new int[] {id});
                    if (json.enabled()) {
                        completion.append(piece);
                    } else {
                        out.print(piece);
                        out.flush();
                    }
                });
            } catch (IllegalArgumentException e) {
                throw UserError.inputData(e.getMessage());
            }
            if (json.enabled()) {
                Json.printLine(out, new Generated(prompt, completion.toString(), tokens, seed));
            } else {
                out.println();
                out.flush();
            }
        }
        return TroupeCli.EXIT_OK;
    }
}

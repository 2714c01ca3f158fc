package io.troupe.ops.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.troupe.data.DataException;
import io.troupe.data.tokenize.Tokenizer;
import io.troupe.ops.inference.BatchDecoder;
import io.troupe.ops.inference.ExportedModel;
import io.troupe.ops.inference.KvCacheDecoder;
import io.troupe.ops.inference.TextGenerator;
import io.troupe.ops.inference.TokenSampler;
import io.troupe.ops.inference.UncachedBatchDecoder;
import io.troupe.worker.run.ModelExport;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code troupe generate}: samples text from an exported model directory, with the KV-cache
 * decoder ({@code decoder.onnx}) when the directory has it and otherwise with model.onnx alone.
 */
@Command(name = "generate", description = {"Sample text from an exported model directory.",
            "Streams the prompt and its continuation to stdout; with --json prints one object once it is complete.",
            "Uses the KV cache (decoder.onnx) when the directory has it."}, mixinStandardHelpOptions = true)
final class GenerateCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory with model.onnx (or decoder.onnx) and tokenizer.json.")
    private Path model;

    @Option(names = "--prompt", defaultValue = "\n", paramLabel = "TEXT", description = "Text to continue (default: a newline).")
    private String prompt;

    @Option(names = "--tokens", defaultValue = "500", paramLabel = "N", description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    private int tokens;

    @Option(names = "--temperature", defaultValue = "0.8", paramLabel = "T", description = "Sampling temperature; 0 always picks the likeliest token (default: ${DEFAULT-VALUE}).")
    private double temperature;

    @Option(names = "--top-k", defaultValue = "200", paramLabel = "K", description = "Sample among the K likeliest tokens; 0 = all (default: ${DEFAULT-VALUE}).")
    private int topK;

    @Option(names = "--top-p", defaultValue = "1.0", paramLabel = "P",
            description = "Sample among the likeliest tokens whose probabilities sum to P, in (0, 1]; 1 = all (default: ${DEFAULT-VALUE}).")
    private double topP;

    @Option(names = "--repetition-penalty", defaultValue = "1.0", paramLabel = "R",
            description = "Divide (or, when negative, multiply) the logit of every token already in the text by R > 0; 1 = off (default: ${DEFAULT-VALUE}).")
    private double repetitionPenalty;

    @Option(names = "--stop", paramLabel = "STRING",
            description = "Stop when the completion contains STRING (not printed); repeatable.")
    private List<String> stops = new ArrayList<>();

    @Option(names = "--seed", defaultValue = "1337", paramLabel = "S", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private JsonOption json;

    /**
     * The {@code --json} line, printed once the text is complete: the prompt, its continuation
     * (cut before a stop string), both together, how many tokens were sampled and their ids, why it
     * ended, whether the KV cache was used, and the time of the prefill and of each decode step.
     */
    record Generated(String prompt, String completion, String text, int tokens, @JsonProperty("token_ids") int[] tokenIds,
                     @JsonProperty("finish_reason") String finishReason, long seed, boolean cached, Timing timing) {
    }

    /** Milliseconds: the prompt's forward pass, and the mean of the decode steps after it. */
    record Timing(@JsonProperty("prefill_ms") double prefillMs, @JsonProperty("ms_per_token") double msPerToken,
                  @JsonProperty("decode_steps") int decodeSteps) {
    }

    @Override
    public Integer call() throws Exception {
        if (tokens < 0) {
            throw new ParameterException(spec.commandLine(), "--tokens must be >= 0, got " + tokens);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new ParameterException(spec.commandLine(), "--repetition-penalty must be a positive number, got "
                    + repetitionPenalty);
        }
        if (stops.contains("")) {
            throw new ParameterException(spec.commandLine(), "--stop must not be empty");
        }
        TokenSampler sampler;
        try {
            sampler = new TokenSampler(temperature, topK, topP, seed);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        boolean cached = KvCacheDecoder.available(model);
        Tokenizer tokenizer;
        BatchDecoder decoder;
        ExportedModel exported = null; // the full-window model, when there is no decoder.onnx
        if (cached) {
            // One sequence: its cache is allocated when it opens, so the budget needs no limit here.
            decoder = KvCacheDecoder.open(model, threads.threads(), Long.MAX_VALUE);
            try {
                tokenizer = Tokenizer.load(model);
            } catch (DataException e) {
                decoder.close();
                throw e;
            }
        } else {
            exported = ExportedModel.open(model, threads.threads());
            decoder = new UncachedBatchDecoder(exported, 1);
            tokenizer = exported.tokenizer();
            spec.commandLine().getErr().println("troupe: warning: " + model.resolve(ModelExport.DECODER_FILE_NAME)
                    + " does not exist (exported before KV-cache inference), so every token re-runs the whole context;"
                    + " re-export with 'troupe export --run RUN_DIR --out " + model + " --force' to generate faster");
            spec.commandLine().getErr().flush();
        }
        try (ExportedModel fullWindow = exported; decoder) {
            TextGenerator generator;
            try {
                generator = new TextGenerator(decoder, tokenizer);
            } catch (IllegalArgumentException e) {
                throw new DataException(model.resolve(ModelExport.DECODER_FILE_NAME) + ": " + e.getMessage());
            }
            // Check the prompt before printing it, so a rejected prompt leaves stdout empty.
            try {
                if (tokenizer.encode(prompt).length == 0) {
                    throw UserError.usage("the prompt is empty; pass at least one character with --prompt");
                }
            } catch (IllegalArgumentException e) {
                throw UserError.inputData(e.getMessage());
            }
            if (!json.enabled()) {
                out.print(prompt);
                out.flush();
            }
            TextGenerator.Result result;
            try {
                result = generator.generate(prompt, tokens, sampler, repetitionPenalty, stops, piece -> {
                    if (!json.enabled()) {
                        out.print(piece);
                        out.flush();
                    }
                });
            } catch (IllegalArgumentException e) {
                throw UserError.inputData(e.getMessage());
            }
            if (json.enabled()) {
                Json.printLine(out, new Generated(prompt, result.completion(), prompt + result.completion(),
                        result.tokenIds().length, result.tokenIds(), result.finishReason().apiName(), seed, cached,
                        new Timing(round(result.prefillNanos() / 1e6), round(result.msPerToken()), result.decodeSteps())));
            } else {
                out.println();
                out.flush();
            }
        }
        return TroupeCli.EXIT_OK;
    }

    private static double round(double ms) {
        return Math.round(ms * 1000) / 1000.0;
    }
}

package io.troupe.ops.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.troupe.model.gpt.GptConfig;
import io.troupe.ops.inference.DecodeBenchmark;
import io.troupe.worker.bench.BenchConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe bench decode}: ms per generated token with and without the KV cache. */
@Command(name = "decode",
        description = {"Time generating one sequence token by token, with the KV cache (decoder.onnx) and without it.",
            "Without it (model.onnx) every token re-runs the whole context; the timed steps end at the given context length."
                + " Runs an exported model (--model) or a model of a benchmark shape with random weights (--config)."},
        mixinStandardHelpOptions = true)
final class BenchDecodeCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--config", defaultValue = "small", paramLabel = "NAME",
            description = "Random weights of shape small (L4 H4 C128 T64 V65), big (L6 H6 C384 T256 V65) or gpt2 "
                    + "(L12 H12 C768 T1024 V50257) (default: ${DEFAULT-VALUE}); ignored with --model.")
    private String config;

    @Option(names = "--model", paramLabel = "DIR", description = "An exported model directory to time instead.")
    private Path model;

    @Option(names = "--context", defaultValue = "256", paramLabel = "N",
            description = "Tokens the last timed step attends over, capped at block_size (default: ${DEFAULT-VALUE}).")
    private int context;

    @Option(names = "--tokens", defaultValue = "32", paramLabel = "N", description = "Timed cached steps (default: ${DEFAULT-VALUE}).")
    private int tokens;

    @Option(names = "--uncached-tokens", defaultValue = "4", paramLabel = "N",
            description = "Timed uncached steps (default: ${DEFAULT-VALUE}).")
    private int uncachedTokens;

    @Mixin
    private ThreadsOption threads;

    @Option(names = "--json", description = "Print one JSON object: {model, threads, context, cached_ms_per_token, "
            + "uncached_ms_per_token, speedup, cached_prefill_ms}.")
    private boolean json;

    record Report(@JsonProperty("model") String model, @JsonProperty("threads") int threads,
                  @JsonProperty("context") int context,
                  @JsonProperty("cached_ms_per_token") double cachedMsPerToken,
                  @JsonProperty("uncached_ms_per_token") double uncachedMsPerToken,
                  @JsonProperty("speedup") double speedup,
                  @JsonProperty("cached_prefill_ms") double cachedPrefillMs,
                  @JsonProperty("cached_steps") int cachedSteps, @JsonProperty("uncached_steps") int uncachedSteps) {
    }

    @Override
    public Integer call() throws Exception {
        if (tokens < 1 || uncachedTokens < 1) {
            throw UserError.usage("--tokens and --uncached-tokens must be >= 1");
        }
        if (context < 2) {
            throw UserError.usage("--context must be >= 2, got " + context);
        }
        String label;
        Path dir;
        Path made = null;
        if (model != null) {
            label = model.toString();
            dir = model;
        } else {
            GptConfig shape = shape(config);
            label = config;
            made = DecodeBenchmark.randomModel(shape, 1337);
            dir = made;
        }
        DecodeBenchmark.Result r;
        try {
            r = DecodeBenchmark.run(dir, threads.threads(), context, tokens, uncachedTokens);
        } finally {
            if (made != null) {
                DecodeBenchmark.delete(made);
            }
        }
        Report report = new Report(label, threads.threads(), r.context(), round(r.cached().medianMsPerToken()),
                round(r.uncached().medianMsPerToken()), round(r.speedup()), round(r.cached().prefillMs()),
                r.cached().steps(), r.uncached().steps());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Json.printLine(out, report);
        } else {
            out.printf("%s, %d thread(s), context %d: cached %.2f ms/token (prefill of %d tokens %.1f ms), "
                            + "uncached %.2f ms/token: %.1fx%n", label, report.threads(), report.context(),
                    report.cachedMsPerToken(), r.cached().promptTokens(), report.cachedPrefillMs(),
                    report.uncachedMsPerToken(), report.speedup());
            out.flush();
        }
        return TroupeCli.EXIT_OK;
    }

    static GptConfig shape(String name) {
        if (name.equals("gpt2")) {
            return DecodeBenchmark.GPT2;
        }
        try {
            return BenchConfig.parse(name).model();
        } catch (IllegalArgumentException e) {
            throw UserError.usage("unknown --config '" + name + "'; choose small, big or gpt2");
        }
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}

package io.troupe.ops.cli;

import io.troupe.ops.serve.OpenAiServer;
import io.troupe.ops.serve.ServeBenchmark;
import io.troupe.ops.serve.ServeLimits;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe bench serve}: streaming load against an in-process {@code troupe serve}, 1 client vs N. */
@Command(name = "serve",
        description = {"Measure troupe serve under load: tokens/s of 1 and of N concurrent streaming clients.",
            "Starts a server on a free 127.0.0.1 port with the model; reports aggregate tokens/s, the speed-up over one client,"
                    + " and p50/p99 time to first token and inter-token latency."},
        mixinStandardHelpOptions = true)
final class BenchServeCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Directory with model.onnx and tokenizer.json.")
    private Path model;

    @Option(names = "--clients", defaultValue = "16", paramLabel = "N", description = "Concurrent clients (default: ${DEFAULT-VALUE}).")
    private int clients;

    @Option(names = "--requests", defaultValue = "2", paramLabel = "R", description = "Requests per client (default: ${DEFAULT-VALUE}).")
    private int requests;

    @Option(names = "--tokens", defaultValue = "64", paramLabel = "T", description = "max_tokens of each request (default: ${DEFAULT-VALUE}).")
    private int tokens;

    @Option(names = "--prompt", defaultValue = "\n", paramLabel = "TEXT", description = "Prompt of every request (default: a newline).")
    private String prompt;

    @Option(names = "--max-batch", paramLabel = "N", description = "Server batch (default: --clients).")
    private Integer maxBatch;

    @Mixin
    private ThreadsOption threads;

    @Mixin
    private JsonOption json;

    @Override
    public Integer call() throws Exception {
        if (clients < 1 || requests < 1 || tokens < 1) {
            throw UserError.usage("--clients, --requests and --tokens must be at least 1");
        }
        int batch = maxBatch == null ? clients : maxBatch;
        if (batch < 1) {
            throw UserError.usage("--max-batch must be at least 1, got " + batch);
        }
        if (!Files.isDirectory(model)) {
            throw UserError.inputData("--model " + model + " is not a directory; pass the --out directory of a finished 'troupe train'");
        }
        PrintWriter out = spec.commandLine().getOut();
        ServeLimits limits = ServeLimits.defaults().withQueueLimit(Math.max(64, clients));
        try (OpenAiServer server = OpenAiServer.bind("127.0.0.1", 0, limits, null)) {
            server.load(model, threads.threads(), batch);
            ServeBenchmark bench = new ServeBenchmark("http://127.0.0.1:" + server.port(), prompt, tokens);
            bench.run(1, 1); // warm-up: session start-up and JIT
            ServeBenchmark.Result one = bench.run(1, requests);
            report(out, one);
            ServeBenchmark.Result many = bench.run(clients, requests);
            report(out, many);
            if (!json.enabled()) {
                out.printf("aggregate speed-up with %d clients: %.2fx (batch %d, %s decoder, %d threads)%n", clients,
                        many.tokensPerSecond() / one.tokensPerSecond(), server.batchCapacity(),
                        server.cached() ? "KV-cache" : "uncached", threads.threads());
            }
        }
        return TroupeCli.EXIT_OK;
    }

    private void report(PrintWriter out, ServeBenchmark.Result r) {
        if (json.enabled()) {
            Json.printLine(out, r);
        } else {
            out.printf("%2d clients: %,6d tokens in %6.2f s = %8.1f tokens/s  TTFT p50 %7.1f ms p99 %7.1f ms  "
                            + "inter-token p50 %6.2f ms p99 %6.2f ms%n", r.clients(), r.tokens(), r.seconds(), r.tokensPerSecond(),
                    r.ttftP50Ms(), r.ttftP99Ms(), r.interTokenP50Ms(), r.interTokenP99Ms());
        }
        out.flush();
    }
}

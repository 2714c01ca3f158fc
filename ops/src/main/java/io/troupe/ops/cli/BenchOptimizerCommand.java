package io.troupe.ops.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import ai.onnxruntime.OrtException;
import io.troupe.worker.bench.BenchConfig;
import io.troupe.worker.bench.OptimizerBenchmark;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe bench optimizer}: AdamW in Java over flat arrays vs as an ONNX graph. */
@Command(name = "optimizer",
        description = "Time one AdamW update with gradient clipping, in Java and as an ONNX graph in ORT.",
        mixinStandardHelpOptions = true)
final class BenchOptimizerCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--config", defaultValue = "small", paramLabel = "NAME", description = "small or big (default: ${DEFAULT-VALUE}).")
    private String config;

    @Mixin
    private ThreadsOption threads;

    @Option(names = "--json", description = "Print {config, params, threads, java_ms, onnx_ms}.")
    private boolean json;

    record Report(@JsonProperty("config") String config, @JsonProperty("params") long params,
                  @JsonProperty("threads") int threads, @JsonProperty("java_ms") double javaMs,
                  @JsonProperty("onnx_ms") double onnxMs) {
    }

    @Override
    public Integer call() throws OrtException {
        BenchConfig bench;
        try {
            bench = BenchConfig.parse(config);
        } catch (IllegalArgumentException e) {
            throw UserError.usage(e.getMessage());
        }
        OptimizerBenchmark.Result r = OptimizerBenchmark.run(bench, threads.threads(), 5, 21);
        Report report = new Report(r.config(), r.parameters(), r.threads(), Math.round(r.javaMillis() * 1000) / 1000.0,
                Math.round(r.onnxMillis() * 1000) / 1000.0);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Json.printLine(out, report);
        } else {
            out.printf("%s (%,d params): AdamW+clip in Java %.3f ms, as an ONNX graph %.3f ms (%d thread(s))%n",
                    report.config(), report.params(), report.javaMs(), report.onnxMs(), report.threads());
            out.flush();
        }
        return TroupeCli.EXIT_OK;
    }
}

package io.troupe.ops.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.GemmPeak;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe bench gemm}: the float32 MatMul rate ONNX Runtime reaches here (see {@link GemmPeak}). */
@Command(name = "gemm",
        description = {
            "Measure float32 MatMul GFLOP/s in ONNX Runtime on the CPU.",
            "Multiplies [" + GemmPeak.M + "x" + GemmPeak.K + "] x [" + GemmPeak.K + "x" + GemmPeak.N + "] and reports"
                + " the median of timed runs."
        },
        mixinStandardHelpOptions = true)
final class BenchGemmCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Mixin
    private ThreadsOption threads;

    @Option(names = "--warmups", paramLabel = "N", defaultValue = "" + GemmPeak.DEFAULT_WARMUPS,
            description = "Untimed runs first (default: ${DEFAULT-VALUE}).")
    private int warmups;

    @Option(names = "--runs", paramLabel = "N", defaultValue = "" + GemmPeak.DEFAULT_RUNS,
            description = "Timed runs; the median is reported (default: ${DEFAULT-VALUE}).")
    private int runs;

    @Option(names = "--json", description = "Print one JSON object: {\"threads\", \"gemm_peak_gflops\"}.")
    private boolean json;

    /** What {@code --json} prints. */
    record Report(@JsonProperty("threads") int threads, @JsonProperty("gemm_peak_gflops") double gemmPeakGflops) {}

    @Override
    public Integer call() throws EngineException {
        if (warmups < 0) {
            throw new ParameterException(spec.commandLine(), "--warmups must be at least 0, got " + warmups);
        }
        if (runs < 1) {
            throw new ParameterException(spec.commandLine(), "--runs must be at least 1, got " + runs);
        }
        double gflops = GemmPeak.measure(threads.threads(), warmups, runs);
        Report report = new Report(threads.threads(), Math.round(gflops * 10) / 10.0);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Json.printLine(out, report);
        } else {
            out.printf("MatMul [%dx%d] x [%dx%d] float32, %d thread(s): %.1f GFLOP/s%n",
                    GemmPeak.M, GemmPeak.K, GemmPeak.K, GemmPeak.N, report.threads(), report.gemmPeakGflops());
            out.flush();
        }
        return TroupeCli.EXIT_OK;
    }
}

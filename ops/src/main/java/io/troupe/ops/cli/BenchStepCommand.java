package io.troupe.ops.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.troupe.model.gpt.ActivationCheckpointing;
import io.troupe.model.gpt.Precision;
import io.troupe.worker.bench.BenchConfig;
import io.troupe.worker.bench.PeakRss;
import io.troupe.worker.engine.EngineOptions;
import io.troupe.worker.bench.ProfileSummary;
import io.troupe.worker.bench.StepBenchmark;
import io.troupe.worker.engine.EngineException;
import io.troupe.worker.engine.GemmPeak;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code troupe bench step}: times one GPT training step (loss and all gradients) in ORT. */
@Command(name = "step",
        description = {"Time one training step (forward, loss and all gradients) of a GPT after warm-up.",
            "Compares its FLOP rate with float32 MatMul peak measured in the same process."},
        mixinStandardHelpOptions = true)
final class BenchStepCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--config", defaultValue = "small", paramLabel = "NAME",
            description = "small (L4 H4 C128 T64 B12), big (L6 H6 C384 T256 B12) or gpt2 (L12 H12 C768 T1024 "
                    + "V50304 B2) (default: ${DEFAULT-VALUE}).")
    private String config;

    @Option(names = "--batch", paramLabel = "B", description = "Rows per step instead of the config's.")
    private Integer batch;

    @Option(names = "--activation-checkpointing", defaultValue = "none", paramLabel = "WHAT",
            description = "none or attention: recompute the attention weights in the backward pass (default: ${DEFAULT-VALUE}).")
    private String checkpointing;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "P",
            description = "fp32 or bf16-storage: the step graph of that training precision (default: ${DEFAULT-VALUE}).")
    private String precision;

    @Option(names = "--no-arena", description = "Turn ONNX Runtime's CPU memory arena off.")
    private boolean noArena;

    @Option(names = "--no-memory-pattern", description = "Turn ONNX Runtime's memory pattern off.")
    private boolean noMemoryPattern;

    @Mixin
    private ThreadsOption threads;

    @Option(names = "--lanes", paramLabel = "N",
            description = "Sessions the batch is split over (default: the thread count, as training does); "
                    + "1 runs one session with all threads intra-op.")
    private Integer lanes;

    @Option(names = "--warmups", defaultValue = "5", paramLabel = "N", description = "Untimed steps (default: ${DEFAULT-VALUE}).")
    private int warmups;

    @Option(names = "--runs", paramLabel = "N", description = "Timed steps; the median is reported (default: 50 small, 7 big).")
    private Integer runs;

    @Option(names = "--profile", paramLabel = "PREFIX",
            description = "Record the timed steps with ORT's profiler to PREFIX_<date>.json and print time per op type.")
    private Path profile;

    @Option(names = "--arch", paramLabel = "gpt|bert", defaultValue = "gpt",
            description = {"gpt (default): the GPT step of --config. bert: the whole MLM training step of an encoder",
                "(masking, forward, loss, gradients, clipping, AdamW) of --preset on --data's windows."})
    private String arch;

    @Option(names = "--data", paramLabel = "DATASET",
            description = "With --arch bert: a dataset from troupe prepare --tokenizer wordpiece (its tokenizer and tokens).")
    private Path data;

    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "bert-small",
            description = "With --arch bert: the encoder's settings preset (default: ${DEFAULT-VALUE}).")
    private String preset;

    @Option(names = "--json", description = "Print one JSON object: {config, threads, lanes, batch, "
            + "activation_checkpointing, precision, arena, memory_pattern, ms_per_step, tokens_per_s, step_gflops, gemm_peak_gflops, "
            + "efficiency, peak_rss_mib}.")
    private boolean json;

    record Report(@JsonProperty("config") String config, @JsonProperty("threads") int threads,
                  @JsonProperty("lanes") int lanes, @JsonProperty("batch") int batch,
                  @JsonProperty("activation_checkpointing") String checkpointing,
                  @JsonProperty("precision") String precision,
                  @JsonProperty("arena") boolean arena, @JsonProperty("memory_pattern") boolean memoryPattern,
                  @JsonProperty("ms_per_step") double msPerStep, @JsonProperty("tokens_per_s") double tokensPerS,
                  @JsonProperty("step_gflops") double stepGflops, @JsonProperty("gemm_peak_gflops") double gemmPeakGflops,
                  @JsonProperty("efficiency") double efficiency, @JsonProperty("peak_rss_mib") double peakRssMib) {
    }

    @Override
    public Integer call() throws EngineException, IOException, io.troupe.data.DataException {
        if ("bert".equals(arch)) {
            return encoderStep();
        }
        if (!"gpt".equals(arch)) {
            throw UserError.usage("--arch must be gpt or bert, got '" + arch + "'");
        }
        BenchConfig bench;
        try {
            bench = BenchConfig.parse(config);
        } catch (IllegalArgumentException e) {
            throw UserError.usage(e.getMessage());
        }
        int timed = runs != null ? runs : bench == BenchConfig.SMALL ? 50 : bench == BenchConfig.BIG ? 7 : 3;
        if (timed < 1 || warmups < 0) {
            throw UserError.usage("--runs must be >= 1 and --warmups >= 0");
        }
        int laneCount = lanes != null ? lanes : threads.threads();
        if (laneCount < 1) {
            throw UserError.usage("--lanes must be >= 1, got " + laneCount);
        }
        if (batch != null && batch < 1) {
            throw UserError.usage("--batch must be >= 1, got " + batch);
        }
        ActivationCheckpointing recompute;
        try {
            recompute = ActivationCheckpointing.parse(checkpointing);
        } catch (IllegalArgumentException e) {
            throw UserError.usage("--activation-checkpointing: " + e.getMessage());
        }
        Precision stepPrecision;
        try {
            stepPrecision = Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw UserError.usage("--precision: " + e.getMessage());
        }
        if (stepPrecision == Precision.FP16) {
            throw UserError.usage("bench step --precision takes fp32 or bf16-storage; time fp16 with"
                    + " bench/precision-compare.sh");
        }
        EngineOptions.OrtMemory memory = new EngineOptions.OrtMemory(!noArena, !noMemoryPattern);
        int rows = batch != null ? batch : bench.batch();
        StepBenchmark.Result r = StepBenchmark.run(bench, threads.threads(), laneCount, warmups, timed, profile,
                new StepBenchmark.Variant(rows, recompute, memory, stepPrecision));
        // Read before the MatMul peak below, which allocates little but is not the step.
        double peakRss = PeakRss.mebibytes();
        double peak = GemmPeak.measure(threads.threads());
        Report report = new Report(r.config(), r.threads(), r.lanes(), rows, recompute.label(), stepPrecision.label(),
                memory.arena(),
                memory.memoryPattern(), round(r.msPerStep(), 2), round(r.tokensPerSecond(), 0),
                round(r.stepGflops(), 1), round(peak, 1), round(r.stepGflops() / peak, 3), round(peakRss, 0));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Json.printLine(out, report);
        } else {
            out.printf("%s, B%d, %d thread(s) in %d lane(s): %.2f ms/step, %,.0f tokens/s, %.1f GFLOP/s = %.0f%% of MatMul "
                            + "peak %.1f; peak RSS %.0f MiB (activation checkpointing %s, arena %s, memory pattern %s)%n",
                    report.config(), rows, report.threads(), report.lanes(), report.msPerStep(), report.tokensPerS(),
                    report.stepGflops(), 100 * report.efficiency(), report.gemmPeakGflops(), report.peakRssMib(),
                    report.checkpointing(), memory.arena() ? "on" : "off", memory.memoryPattern() ? "on" : "off");
        }
        if (r.profile() != null) {
            PrintWriter sink = json ? spec.commandLine().getErr() : out;
            sink.println("profile: " + r.profile());
            sink.print(ProfileSummary.read(r.profile()).render(15));
            sink.flush();
        }
        out.flush();
        return TroupeCli.EXIT_OK;
    }

    /** {@code --arch bert}: the MLM step of {@code --preset} on {@code --data}, as train runs it. */
    private Integer encoderStep() throws EngineException, io.troupe.data.DataException {
        if (data == null) {
            throw UserError.usage("--arch bert needs --data DATASET (from troupe prepare --tokenizer wordpiece)");
        }
        io.troupe.worker.train.TrainSettings settings = UserError.onCommandLine(
                () -> io.troupe.worker.train.TrainSettings.load(preset, java.util.Map.of("arch", "bert")));
        io.troupe.data.source.DataSource source = io.troupe.data.source.DataSource.open(data);
        int timed = runs != null ? runs : 10;
        if (timed < 1 || warmups < 0) {
            throw UserError.usage("--runs must be >= 1 and --warmups >= 0");
        }
        io.troupe.worker.bench.MlmStepBenchmark.Result r;
        try {
            r = io.troupe.worker.bench.MlmStepBenchmark.run(settings, source.tokenizer(),
                    source.split(settings.blockSize()), threads.threads(), warmups, timed);
        } catch (IllegalArgumentException e) {
            throw UserError.inputData("--data " + data + ": " + e.getMessage(), e);
        }
        PrintWriter out = spec.commandLine().getOut();
        String shape = String.format("bert L%d H%d C%d T%d B%d V%d", settings.nLayer(), settings.nHead(),
                settings.nEmbd(), settings.blockSize(), settings.batchSize(), source.tokenizer().vocabSize());
        if (json) {
            Json.printLine(out, java.util.Map.of("config", shape, "threads", threads.threads(),
                    "ms_per_step", round(r.ms(), 2), "tokens_per_s", round(r.tokensPerSecond(), 0),
                    "params", r.parameters()));
        } else {
            out.printf("%s, %d thread(s): %.2f ms/step (median of %d), %,.0f tokens/s, %,d parameters%n", shape,
                    threads.threads(), r.ms(), timed, r.tokensPerSecond(), r.parameters());
        }
        out.flush();
        return TroupeCli.EXIT_OK;
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}

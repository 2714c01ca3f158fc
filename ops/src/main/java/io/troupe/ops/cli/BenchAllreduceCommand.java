package io.troupe.ops.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.troupe.worker.allreduce.AllReduceBenchmark;
import io.troupe.worker.allreduce.RingException;
import io.troupe.worker.allreduce.RingSettings;
import io.troupe.worker.allreduce.WireFormat;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code troupe bench allreduce}: the ring all-reduce's bandwidth over loopback TCP (see {@link AllReduceBenchmark}). */
@Command(name = "allreduce",
        description = {
            "Time a ring all-reduce (mean) of an fp32 buffer among N workers in this JVM over loopback TCP.",
            "Reports the median of timed runs after warm-ups: algbw = buffer bytes / time; busbw = algbw x 2(N-1)/N"
                + " (what each link carries, comparable with MPI and NCCL). Bytes count as fp32 whatever the wire"
                + " format."
        },
        mixinStandardHelpOptions = true)
final class BenchAllreduceCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "2", description = "Ring members, at least 2 (default: ${DEFAULT-VALUE}).")
    private int workers;

    @Option(names = "--mib", paramLabel = "S", defaultValue = "64", description = "Buffer size in MiB of fp32, 1..1024 (default: ${DEFAULT-VALUE}).")
    private int mib;

    @Option(names = "--wire", paramLabel = "FORMAT", defaultValue = "fp32",
            description = "fp32 (exact) or bf16 (half the bytes, sums stay fp32) (default: ${DEFAULT-VALUE}).")
    private String wire;

    @Option(names = "--chunk-kib", paramLabel = "KIB", defaultValue = "" + RingSettings.DEFAULT_CHUNK_BYTES / 1024,
            description = "Payload per frame in KiB (default: ${DEFAULT-VALUE}).")
    private int chunkKib;

    @Option(names = "--warmups", paramLabel = "N", defaultValue = "2", description = "Untimed runs first, at least (default: ${DEFAULT-VALUE}).")
    private int warmups;

    @Option(names = "--warmup-seconds", paramLabel = "S", defaultValue = "" + AllReduceBenchmark.DEFAULT_WARMUP_SECONDS,
            description = "...and untimed runs until this long has passed: the JIT needs a few seconds (default: ${DEFAULT-VALUE}).")
    private double warmupSeconds;

    @Option(names = "--runs", paramLabel = "N", defaultValue = "10", description = "Timed runs; the median is reported (default: ${DEFAULT-VALUE}).")
    private int runs;

    @Option(names = "--tls", paramLabel = "DIR",
            description = "Run the ring over mutual TLS with the worker certificate of 'troupe secret init DIR' (default: plain TCP).")
    private java.nio.file.Path tls;

    @Option(names = "--json", description = "Print one JSON object: {\"workers\", \"mib\", \"ms\", \"algbw_gbps\", \"busbw_gbps\"}.")
    private boolean json;

    /** What {@code --json} prints. */
    record Report(@JsonProperty("workers") int workers, @JsonProperty("mib") int mib, @JsonProperty("ms") double ms,
                  @JsonProperty("algbw_gbps") double algbwGbps, @JsonProperty("busbw_gbps") double busbwGbps) {}

    @Override
    public Integer call() throws InterruptedException {
        RingSettings settings;
        try {
            settings = RingSettings.defaults().withWire(WireFormat.parse(wire)).withChunkBytes(chunkKib * 1024);
            if (workers < 2 || mib < 1 || mib > 1024 || warmups < 0 || warmupSeconds < 0 || runs < 1) {
                throw new IllegalArgumentException(
                        "need --workers >= 2, --mib in 1..1024, --warmups >= 0, --warmup-seconds >= 0 and --runs >= 1");
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        AllReduceBenchmark.Result result;
        try {
            result = AllReduceBenchmark.run(workers, mib, settings, warmups,
                    Duration.ofMillis(Math.round(warmupSeconds * 1000)), runs,
                    java.util.Optional.ofNullable(tls).map(dir -> io.troupe.worker.tls.ClusterTls.load(dir,
                            io.troupe.worker.tls.ClusterTls.Role.WORKER)));
        } catch (RingException e) {
            throw UserError.cluster("the all-reduce benchmark failed: " + e.getMessage());
        }
        Report report = new Report(result.workers(), result.mib(), round(result.millis(), 2),
                round(result.algbwGbps(), 3), round(result.busbwGbps(), 3));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Json.printLine(out, report);
        } else {
            out.printf("all-reduce of %d MiB among %d workers, %s on the wire%s: %.2f ms, algbw %.3f GB/s, busbw %.3f GB/s%n",
                    report.mib(), report.workers(), settings.wire().name().toLowerCase(java.util.Locale.ROOT),
                    tls != null ? " over TLS" : "", report.ms(),
                    report.algbwGbps(), report.busbwGbps());
            out.flush();
        }
        return TroupeCli.EXIT_OK;
    }

    private static double round(double value, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }
}

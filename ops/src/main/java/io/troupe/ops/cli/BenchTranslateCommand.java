package io.troupe.ops.cli;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.troupe.ops.translate.GreedyTranslator;
import io.troupe.ops.translate.Seq2SeqDecoder;
import io.troupe.worker.seq2seq.Seq2SeqModelDir;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code troupe bench translate}: per-token time of KV-cached greedy decoding against the uncached
 * full-prefix decoder on one seq2seq model, both decoding exactly {@code --tokens} tokens of the
 * same source (EOS does not stop them), alternating cached and uncached runs.
 */
@Command(name = "translate", description = {"Time KV-cached against uncached greedy seq2seq decoding, per target token.",
            "Both decode exactly --tokens tokens of --text; runs alternate. Wall times are medians.",
            "Process CPU is the total over the timed runs per token (its clock ticks every 10 ms).",
            "The calling thread's CPU (all of ORT's work at --threads 1) is a median."},
        mixinStandardHelpOptions = true)
final class BenchTranslateCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A model directory from `troupe train-seq2seq`.")
    private Path model;

    @Option(names = "--text", defaultValue = "I think it is going to rain tomorrow, so take your umbrella.",
            paramLabel = "TEXT", description = "The source sentence (default: ${DEFAULT-VALUE}).")
    private String text;

    @Option(names = "--tokens", defaultValue = "40", paramLabel = "N", description = "Target tokens per decode (default: ${DEFAULT-VALUE}).")
    private int tokens;

    @Option(names = "--repeat", defaultValue = "5", paramLabel = "N", description = "Timed decodes of each kind (default: ${DEFAULT-VALUE}).")
    private int repeat;

    @Option(names = "--json", description = "Print one JSON object: {model, threads, tokens, cached_ms_per_token, uncached_ms_per_token, speedup,"
            + " cached_cpu_ms_per_token, uncached_cpu_ms_per_token, cpu_speedup, cached_thread_cpu_ms_per_token,"
            + " uncached_thread_cpu_ms_per_token, thread_cpu_speedup, same_tokens}.")
    private boolean json;

    @Mixin
    private ThreadsOption threads;

    record Report(@JsonProperty("model") String model, @JsonProperty("threads") int threads,
                  @JsonProperty("tokens") int tokens, @JsonProperty("cached_ms_per_token") double cachedMsPerToken,
                  @JsonProperty("uncached_ms_per_token") double uncachedMsPerToken,
                  @JsonProperty("speedup") double speedup,
                  @JsonProperty("cached_cpu_ms_per_token") double cachedCpuMsPerToken,
                  @JsonProperty("uncached_cpu_ms_per_token") double uncachedCpuMsPerToken,
                  @JsonProperty("cpu_speedup") double cpuSpeedup,
                  @JsonProperty("cached_thread_cpu_ms_per_token") double cachedThreadCpuMsPerToken,
                  @JsonProperty("uncached_thread_cpu_ms_per_token") double uncachedThreadCpuMsPerToken,
                  @JsonProperty("thread_cpu_speedup") double threadCpuSpeedup,
                  @JsonProperty("same_tokens") boolean sameTokens) {
    }

    @Override
    public Integer call() throws Exception {
        if (tokens < 1 || repeat < 1) {
            throw UserError.usage("--tokens and --repeat must be >= 1");
        }
        Seq2SeqModelDir dir = DecodingOptions.loadModel(model);
        if (tokens > dir.config().maxTarget() - 1) {
            throw UserError.usage("--tokens " + tokens + " exceeds the model's " + (dir.config().maxTarget() - 1)
                    + " target positions; lower --tokens");
        }
        double[] cachedMs = new double[repeat];
        double[] uncachedMs = new double[repeat];
        // Process CPU time as well as wall time: on a loaded machine the wall time is mostly waiting
        // for a core, which hides the work each decoder does.
        double[] cachedCpu = new double[repeat];
        double[] uncachedCpu = new double[repeat];
        // The calling thread's CPU, to the nanosecond: with one intra-op thread ORT runs every
        // kernel on it, and it leaves out the JIT compiler and GC threads that process CPU counts.
        double[] cachedThreadCpu = new double[repeat];
        double[] uncachedThreadCpu = new double[repeat];
        boolean same = true;
        try (Seq2SeqDecoder cached = new Seq2SeqDecoder(dir, threads.threads());
             GreedyTranslator uncached = new GreedyTranslator(dir, threads.threads())) {
            int[] src = cached.sourceIds(text);
            if (src.length == 0) {
                throw UserError.usage("--text has no tokens");
            }
            for (int i = 0; i < WARM_UP_RUNS; i++) {   // first runs allocate and plan, and the JIT compiles
                cached.greedyFixedLength(src, tokens);
                uncached.translateIds(src, tokens, false);
            }
            for (int i = 0; i < repeat; i++) {
                long c0 = cpuNanos();
                long h0 = threadCpuNanos();
                long t0 = System.nanoTime();
                int[] a = cached.greedyFixedLength(src, tokens);
                long t1 = System.nanoTime();
                long h1 = threadCpuNanos();
                long c1 = cpuNanos();
                int[] b = uncached.translateIds(src, tokens, false);
                long t2 = System.nanoTime();
                long h2 = threadCpuNanos();
                long c2 = cpuNanos();
                cachedThreadCpu[i] = (h1 - h0) / 1e6 / a.length;
                uncachedThreadCpu[i] = (h2 - h1) / 1e6 / b.length;
                cachedMs[i] = (t1 - t0) / 1e6 / a.length;
                uncachedMs[i] = (t2 - t1) / 1e6 / b.length;
                cachedCpu[i] = (c1 - c0) / 1e6 / a.length;
                uncachedCpu[i] = (c2 - c1) / 1e6 / b.length;
                same &= Arrays.equals(a, b);
            }
        }
        double c = median(cachedMs);
        double u = median(uncachedMs);
        // The process CPU clock advances in 10 ms ticks, a quarter of a 40-token decode's CPU:
        // the mean over all runs resolves it, where the median of single runs only rounds.
        double cc = mean(cachedCpu);
        double uc = mean(uncachedCpu);
        double ct = median(cachedThreadCpu);
        double ut = median(uncachedThreadCpu);
        Report report = new Report(model.toString(), threads.threads(), tokens, round(c), round(u), round(u / c),
                round(cc), round(uc), round(uc / cc), round(ct), round(ut), round(ut / ct), same);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Json.printLine(out, report);
        } else {
            out.printf("%s, %d thread(s), %d target tokens: cached %.2f ms/token, uncached %.2f ms/token: %.1fx;"
                    + " process CPU cached %.2f ms/token, uncached %.2f ms/token: %.1fx;"
                    + " calling thread's CPU cached %.2f ms/token, uncached %.2f ms/token: %.1fx (same tokens: %s)%n", model,
                    threads.threads(), tokens, c, u, u / c, cc, uc, uc / cc, ct, ut, ut / ct, same);
            out.flush();
        }
        return TroupeCli.EXIT_OK;
    }

    /** Untimed decodes of each kind before the timed ones. */
    static final int WARM_UP_RUNS = 3;

    private static long threadCpuNanos() {
        return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double mean(double[] x) {
        return Arrays.stream(x).average().orElse(Double.NaN);
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
